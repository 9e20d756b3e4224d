/**
 * BEP 52 hash requests piece by piece: the proofs (torrent/merkle-proof.ts), the message codec and its
 * bounds on the guarded wire, the requester's choice of peers, and a seeding swarm answering good and
 * bad requests over a loopback connection. Whole downloads are in swarm-hash-requests.test.ts.
 */
import t from 'tap'
import { once } from 'node:events'
import { createHash, randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { HASH_SIZE, rootFromPieceLayer } from '../../src/torrent/merkle.js'
import {
  MAX_HASH_REQUEST_LENGTH, answerHashRequest, fileTreeShape, pieceBlocksRequest, pieceLayerRequests, pieceTree, uncleCount, unservableReason,
  verifyHashes, type HashRequest
} from '../../src/torrent/merkle-proof.js'
import {
  HASH_REJECT_ID, HASH_REQUEST_ID, HASH_REQUEST_MESSAGE_LENGTH, HASHES_ID, MAX_HASHES_PER_MESSAGE, decodeHashMessage,
  encodeHashMessage
} from '../../src/wire/hash-messages.js'
import { createGuardedWire } from '../../src/wire/guarded-wire.js'
import { HashRequester } from '../../src/swarm/hash-requester.js'
import { HashesMismatchError } from '../../src/swarm/errors.js'
import { Swarm } from '../../src/swarm/swarm.js'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { openFileStore } from '../../src/storage/file-store.js'
import type { TorrentFile } from '../../src/torrent/metainfo.js'
import { linkPair } from '../helpers/link-pair.js'
import { randomFile, tempDir } from '../helpers/session-pair.js'

const PIECE = 64 * 1024

function layerOf (pieces: number): Buffer {
  return Buffer.concat(Array.from({ length: pieces }, (_, i) => createHash('sha256').update(`piece ${i}`).digest()))
}

/** A file of `pieces` pieces (the last one short) with a made-up piece layer, and its real root. */
function fileWith (pieces: number): { layer: Buffer, root: Buffer, length: number } {
  const layer = layerOf(pieces)
  const hashes = Array.from({ length: pieces }, (_, i) => layer.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE))
  return { layer, root: rootFromPieceLayer(hashes, PIECE), length: (pieces - 1) * PIECE + 1000 }
}

t.test('the requests for a layer, answered from the layer, verify against the root and give the layer back', async t => {
  for (const pieces of [2, 3, 5, 512, 513, 600, 1100]) {
    const { layer, root, length } = fileWith(pieces)
    const shape = fileTreeShape(length, PIECE)
    const tree = pieceTree(layer, shape)
    t.ok(tree[tree.length - 1]![0]!.equals(root), `${pieces} pieces: the tree's top is the root`)
    const requests = pieceLayerRequests(root, shape)
    t.equal(requests.length, Math.ceil(pieces / MAX_HASH_REQUEST_LENGTH))
    const parts: Buffer[] = []
    for (const req of requests) {
      t.equal(unservableReason(req, shape), undefined, 'our own requests are servable')
      t.ok(req.length >= 2 && (req.length & (req.length - 1)) === 0, 'a power of two, at least 2')
      t.equal(req.index % req.length, 0, 'aligned')
      const answer = answerHashRequest(req, tree)
      t.equal(answer.length, (req.length + uncleCount(req)) * HASH_SIZE)
      const got = verifyHashes(req, answer, shape)
      t.ok(got !== undefined, `${pieces} pieces, run ${req.index}+${req.length}: verifies`)
      parts.push(got!)
      // Any flipped bit, in a hash or an uncle, breaks the proof.
      for (const at of [0, answer.length - 1, Math.floor(answer.length / 2)]) {
        const bad = Buffer.from(answer)
        bad[at]! ^= 0x40
        t.equal(verifyHashes(req, bad, shape), undefined, `bit flipped at ${at}`)
      }
      t.equal(verifyHashes(req, answer.subarray(HASH_SIZE), shape), undefined, 'a hash short')
      t.equal(verifyHashes(req, Buffer.concat([answer, Buffer.alloc(HASH_SIZE)]), shape), undefined, 'a hash too many')
    }
    t.ok(Buffer.concat(parts).subarray(0, pieces * HASH_SIZE).equals(layer), `${pieces} pieces: the layer comes back`)
  }
  // libtorrent's request for the last hash of a 513-piece layer: length 1, with the node's own sibling as first uncle.
  const odd = fileWith(513)
  const oddShape = fileTreeShape(odd.length, PIECE)
  const one: HashRequest = { piecesRoot: odd.root, baseLayer: oddShape.pieceLayer, index: 512, length: 1, proofLayers: oddShape.height - 1 }
  t.equal(unservableReason(one, oddShape), undefined)
  t.ok(verifyHashes(one, answerHashRequest(one, pieceTree(odd.layer, oddShape)), oddShape)?.equals(odd.layer.subarray(512 * HASH_SIZE)))
  // 600 pieces: the first run needs one uncle (the second run's subtree root).
  const shape = fileTreeShape(fileWith(600).length, PIECE)
  const [first, second] = pieceLayerRequests(Buffer.alloc(32), shape)
  t.same([first!.length, uncleCount(first!), second!.index, second!.length, uncleCount(second!)], [512, 1, 512, 128, 3])
})

t.test('requests we do not serve: the reason says why', async t => {
  const shape = fileTreeShape(fileWith(600).length, PIECE) // piece layer 2, 1024 slots, height 10
  const ok: HashRequest = { piecesRoot: Buffer.alloc(32), baseLayer: 2, index: 0, length: 512, proofLayers: 9 }
  t.equal(unservableReason(ok, shape), undefined)
  t.equal(unservableReason({ ...ok, index: 599, length: 1 }, shape), undefined, 'a length of one for the last hash (libtorrent asks so)')
  const cases: Array<[string, Partial<HashRequest>, RegExp]> = [
    ['a base layer above the piece layer', { baseLayer: 3 }, /above the piece layer 2/],
    ['more blocks hashed than one request may cost', { baseLayer: 1, length: 512, proofLayers: 10 }, /1024 blocks hashed, more than the 512/],
    ['a length of one, not at the end of the layer', { length: 1 }, /only for the last hash/],
    ['a length of zero', { length: 0 }, /power of two/],
    ['a length that is not a power of two', { length: 3 }, /power of two/],
    ['more than 512 hashes', { length: 1024 }, /power of two in 1\.\.512/],
    ['an index not a multiple of the length', { index: 256 + 128, length: 256 }, /not a multiple/],
    ['past the end of the layer', { index: 1024, length: 2 }, /past the end/],
    ['an index near 2^32', { index: 0xfffffffe, length: 2 }, /past the end/],
    ['proof layers past the root', { proofLayers: 10 }, /past the root/]
  ]
  for (const [name, change, reason] of cases) t.match(unservableReason({ ...ok, ...change }, shape), reason, name)
  t.match(unservableReason(ok, fileTreeShape(PIECE, PIECE)), /no piece layer/, 'a one-piece file')
  t.equal(unservableReason({ ...ok, baseLayer: 0, proofLayers: 11 }, shape), undefined, 'the leaf layer: 512 blocks, proven to the root')
  t.equal(unservableReason({ ...ok, baseLayer: 0, index: 2396, length: 1, proofLayers: 11 }, shape), undefined, 'the last block alone')
})

t.test('hash messages: codec, and the exact lengths the guarded wire enforces', async t => {
  const req: HashRequest = { piecesRoot: randomBytes(32), baseLayer: 2, index: 512, length: 128, proofLayers: 9 }
  const hashes = randomBytes(130 * HASH_SIZE)
  const encoded = encodeHashMessage(HASHES_ID, req, hashes)
  t.equal(encoded.readUInt32BE(0), HASH_REQUEST_MESSAGE_LENGTH + hashes.length)
  const decoded = decodeHashMessage(encoded.subarray(4))
  t.same(decoded, { id: HASHES_ID, request: req, hashes })
  t.same(decodeHashMessage(encodeHashMessage(HASH_REJECT_ID, req).subarray(4)), { id: HASH_REJECT_ID, request: req })

  const handshake = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(8), Buffer.alloc(20, 1), Buffer.alloc(20, 2)])
  async function feed (message: Buffer): Promise<string[]> {
    const seen: string[] = []
    const wire = createGuardedWire('tcpIncoming', 0, err => seen.push(`${err.name}: ${err.message}`))
    wire.on('unknownmessage', (m: Uint8Array) => seen.push(`message ${m[0]!} of ${m.length}`))
    wire.write(handshake)
    // Its owner sends ours: the peer's messages are parsed only then (guarded-wire.ts).
    wire.handshake(Buffer.alloc(20, 1), Buffer.alloc(20, 3))
    const prefix = Buffer.alloc(4)
    prefix.writeUInt32BE(message.length)
    wire.write(Buffer.concat([prefix, message]))
    await new Promise(resolve => setImmediate(resolve))
    wire.destroy()
    return seen
  }
  const request = encodeHashMessage(HASH_REQUEST_ID, req).subarray(4)
  t.same(await feed(request), [`message 21 of ${HASH_REQUEST_MESSAGE_LENGTH}`], 'a request passes')
  t.same(await feed(encoded.subarray(4)), [`message 22 of ${encoded.length - 4}`], 'hashes pass')
  const max = encodeHashMessage(HASHES_ID, req, Buffer.alloc(MAX_HASHES_PER_MESSAGE * HASH_SIZE)).subarray(4)
  t.same(await feed(max), [`message 22 of ${max.length}`], `${MAX_HASHES_PER_MESSAGE} hashes pass`)
  const bad: Array<[string, Buffer]> = [
    ['a request a byte short', request.subarray(0, -1)],
    ['a request a byte long', Buffer.concat([request, Buffer.alloc(1)])],
    ['a reject a byte short', encodeHashMessage(HASH_REJECT_ID, req).subarray(4, -1)],
    ['hashes shorter than the header', encoded.subarray(4, 4 + 40)],
    ['hashes with a partial hash', encoded.subarray(4, -1)],
    ['one hash over the maximum', encodeHashMessage(HASHES_ID, req, Buffer.alloc((MAX_HASHES_PER_MESSAGE + 1) * HASH_SIZE)).subarray(4)]
  ]
  for (const [name, message] of bad) {
    const seen = await feed(message)
    t.equal(seen.length, 1, name)
    t.match(seen[0], /^MalformedMessageError: /, name)
  }
})

function requesterFixture (): { requester: HashRequester<string>, sent: Array<[string, HashRequest]>, done: Array<Map<string, Buffer>>, clock: { now: number }, layer: Buffer, root: Buffer, shape: ReturnType<typeof fileTreeShape> } {
  const { layer, root, length } = fileWith(5)
  const files: TorrentFile[] = [{ path: ['f'], length, offset: 0, pad: false, piecesRoot: root }]
  const sent: Array<[string, HashRequest]> = []
  const done: Array<Map<string, Buffer>> = []
  const clock = { now: 1000 }
  const requester = new HashRequester<string>(files, PIECE, (s, r) => sent.push([s, r]), l => done.push(l), () => clock.now)
  return { requester, sent, done, clock, layer, root, shape: fileTreeShape(length, PIECE) }
}

t.test('requester: a reject or a stall hands the run to another peer; a late answer is dropped', async t => {
  const f = requesterFixture()
  const answer = (req: HashRequest): Buffer => answerHashRequest(req, pieceTree(f.layer, f.shape))
  f.requester.offer('a')
  f.requester.offer('b')
  t.same(f.sent.map(([s]) => s), ['a'], 'one run, asked of one peer')
  t.ok(f.requester.reject('a', f.sent[0]![1]))
  t.same(f.sent.map(([s]) => s), ['a', 'b'], 'rejected: the next peer is asked')
  f.clock.now += 30_000
  f.requester.tick(20_000)
  t.same(f.sent.map(([s]) => s), ['a', 'b', 'a'], 'b stalled; a may be asked again after its retry delay')
  t.ok(f.requester.hashes('b', f.sent[1]![1], answer(f.sent[1]![1])), 'b answers late: dropped, not an error')
  t.equal(f.done.length, 0)
  t.ok(f.requester.hashes('a', f.sent[2]![1], answer(f.sent[2]![1])))
  t.equal(f.done.length, 1)
  t.ok(f.done[0]!.get(f.root.toString('hex'))!.equals(f.layer), 'the verified layer, padding cut off')
  t.ok(f.requester.done)
})

t.test('requester: answers nobody asked for are reported; a peer with wrong hashes is never asked again', async t => {
  const f = requesterFixture()
  const req = pieceLayerRequests(f.root, f.shape)[0]!
  t.notOk(f.requester.hashes('x', req, answerHashRequest(req, pieceTree(f.layer, f.shape))), 'unsolicited hashes')
  t.notOk(f.requester.reject('x', req), 'unsolicited reject')
  f.requester.offer('liar')
  const wrong = answerHashRequest(req, pieceTree(layerOf(5), f.shape))
  wrong[0]! ^= 1
  t.throws(() => f.requester.hashes('liar', req, wrong), HashesMismatchError)
  f.requester.offer('liar')
  t.same(f.sent.map(([s]) => s), ['liar'], 'not asked again, even when offered again')
  f.requester.offer('honest')
  t.same(f.sent.map(([s]) => s), ['liar', 'honest'])
})

t.test('a seeding swarm answers hash requests over the wire, rejects what it does not serve, and closes on unsolicited hashes', async t => {
  const dir = await tempDir(t)
  await randomFile(join(dir, 'set'), 'big.bin', 5 * PIECE + 100)
  await randomFile(join(dir, 'set'), 'small.bin', 1000)
  const metainfo = parseTorrent((await createTorrent(join(dir, 'set'), { version: 'v2', pieceLength: PIECE })).bytes)
  const store = await openFileStore(metainfo, dir)
  await store.verifyExisting()
  const seeder = new Swarm({ metainfo, store })
  t.teardown(async () => { await seeder.destroy(); await store.close() })
  const big = metainfo.files.find(f => f.path.at(-1) === 'big.bin')!
  const small = metainfo.files.find(f => f.path.at(-1) === 'small.bin')!
  const shape = fileTreeShape(big.length, PIECE)

  const [raw, theirs] = await linkPair(metainfo.wireInfoHash)
  seeder.addLink(theirs)
  raw.wire.handshake(metainfo.wireInfoHash, randomBytes(20), { dht: false, fast: true, extended: true })
  await raw.remoteHandshake
  const answers: Uint8Array[] = []
  raw.wire.on('unknownmessage', (m: Uint8Array) => answers.push(m))
  const ask = async (request: HashRequest): Promise<ReturnType<typeof decodeHashMessage>> => {
    const before = answers.length;
    (raw.wire as unknown as { _push: (b: Buffer) => void })._push(encodeHashMessage(HASH_REQUEST_ID, request))
    while (answers.length === before) await new Promise(resolve => setTimeout(resolve, 5))
    return decodeHashMessage(answers[before]!)
  }

  const good = pieceLayerRequests(Buffer.from(big.piecesRoot!), shape)[0]!
  const got = await ask(good)
  t.equal(got.id, HASHES_ID)
  t.same(got.request, good, 'the answer repeats the request')
  t.ok(got.id === HASHES_ID && verifyHashes(good, got.hashes, shape)?.subarray(0, 6 * HASH_SIZE).equals(metainfo.pieceLayers!.get(Buffer.from(big.piecesRoot!).toString('hex'))!))

  // The leaf layer, from the seeder's data: the block hashes of piece 5 (the last, 100 bytes), proven to the root.
  const leaf = pieceBlocksRequest(Buffer.from(big.piecesRoot!), shape, 5)!
  const leaves = await ask(leaf)
  t.equal(leaves.id, HASHES_ID, 'a leaf-layer request is answered')
  const proven = leaves.id === HASHES_ID ? verifyHashes(leaf, leaves.hashes, shape) : undefined
  t.ok(proven?.subarray(0, HASH_SIZE).equals(createHash('sha256').update((await readFile(join(dir, 'set', 'big.bin'))).subarray(5 * PIECE)).digest()),
    'its first hash is the SHA-256 of the file\'s short last block, and the proof leads to the pieces root')
  t.ok(proven?.subarray(HASH_SIZE).equals(Buffer.alloc(3 * HASH_SIZE)), 'then zero leaves past the end of the file')

  const rejected: Array<[string, HashRequest]> = [
    ['a base layer above the piece layer', { ...good, baseLayer: 3 }],
    ['a misaligned leaf request', { ...leaf, index: leaf.index + 2 }],
    ['a leaf request of more than 512 hashes', { ...leaf, index: 0, length: 1024 }],
    ['a length over 512', { ...good, length: 1024 }],
    ['an index past the layer', { ...good, index: 8, length: 8 }],
    ['too many proof layers', { ...good, proofLayers: 3 }],
    ['an unknown root', { ...good, piecesRoot: randomBytes(32) }],
    ['a file of one piece', { ...good, piecesRoot: Buffer.from(small.piecesRoot!) }]
  ]
  for (const [name, request] of rejected) {
    const answer = await ask(request)
    t.equal(answer.id, HASH_REJECT_ID, name)
    t.same(answer.request, request, `${name}: the reject repeats the request`)
  }
  t.equal(seeder.stats().peers, 1, 'rejects keep the link open')
  t.same(seeder.stats().hashRequests, { served: 2, rejected: rejected.length, fromData: 1 }, 'counted in the swarm\'s stats')

  const closed = once(seeder, 'peer-closed') as Promise<[unknown, Error]>
  ;(raw.wire as unknown as { _push: (b: Buffer) => void })._push(encodeHashMessage(HASHES_ID, good, Buffer.alloc(8 * HASH_SIZE)))
  const [, err] = await closed
  t.equal(err.name, 'MalformedMessageError', 'hashes we never asked for close the link')
})

t.test('over the wire, a peer that lacks a piece rejects a request for its block hashes and serves the pieces it has', async t => {
  const dir = await tempDir(t)
  await randomFile(join(dir, 'set'), 'big.bin', 5 * PIECE + 100)
  const metainfo = parseTorrent((await createTorrent(join(dir, 'set'), { version: 'v2', pieceLength: PIECE })).bytes)
  // Piece 1 of this copy does not verify, so the store holds every piece but that one.
  const bytes = await readFile(join(dir, 'set', 'big.bin'))
  bytes[PIECE]! ^= 1
  await writeFile(join(dir, 'set', 'big.bin'), bytes)
  const store = await openFileStore(metainfo, dir)
  t.equal(await store.verifyExisting(), 5)
  const peer = new Swarm({ metainfo, store })
  t.teardown(async () => { await peer.destroy(); await store.close() })
  const big = metainfo.files[0]!
  const shape = fileTreeShape(big.length, PIECE)
  const [raw, theirs] = await linkPair(metainfo.wireInfoHash)
  peer.addLink(theirs)
  raw.wire.handshake(metainfo.wireInfoHash, randomBytes(20), { dht: false, fast: true, extended: true })
  await raw.remoteHandshake
  const answers: Array<ReturnType<typeof decodeHashMessage>> = []
  raw.wire.on('unknownmessage', (m: Uint8Array) => answers.push(decodeHashMessage(m)))
  const push = (raw.wire as unknown as { _push: (b: Buffer) => void })._push.bind(raw.wire)
  const lacking = pieceBlocksRequest(Buffer.from(big.piecesRoot!), shape, 1)!
  const held = pieceBlocksRequest(Buffer.from(big.piecesRoot!), shape, 2)!
  push(encodeHashMessage(HASH_REQUEST_ID, lacking))
  push(encodeHashMessage(HASH_REQUEST_ID, held))
  while (answers.length < 2) await new Promise(resolve => setTimeout(resolve, 5))
  const [refused, served] = [answers.find(a => a.request.index === lacking.index)!, answers.find(a => a.request.index === held.index)!]
  t.equal(refused.id, HASH_REJECT_ID, 'piece 1, which it lacks: hash reject')
  t.equal(served.id, HASHES_ID, 'piece 2: hashes')
  t.ok(served.id === HASHES_ID && verifyHashes(held, served.hashes, shape)?.equals(
    Buffer.concat([0, 1, 2, 3].map(b => createHash('sha256').update(bytes.subarray(2 * PIECE + b * 16384, 2 * PIECE + (b + 1) * 16384)).digest()))))
  t.same(peer.stats().hashRequests, { served: 1, rejected: 1, fromData: 1 })
})
