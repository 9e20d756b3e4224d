/**
 * HashServer on its own (test/wire/hash-messages.test.ts has it in a swarm over a loopback link):
 * answers that hash to the file's pieces root, served from a torrent made by createTorrent from a real
 * file, at the piece layer from the torrent's layers and below it from the data on disk (the 16 KiB
 * block hashes, the short last block, a file of one piece); a reject for each request it cannot serve
 * (pieces we lack, data changed on disk, a peer over its bounds); counters of both.
 */
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { HASHING_RATE, HashServer, MAX_DATA_ANSWERS_PER_PEER, type HashAnswer } from '../../src/swarm/hash-server.js'
import { fileTreeShape, pieceBlocksRequest, pieceLayerRequests, verifyHashes, type HashRequest } from '../../src/torrent/merkle-proof.js'
import { BLOCK_SIZE, HASH_SIZE } from '../../src/torrent/merkle.js'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { metainfoFromInfoDict, parseTorrent } from '../../src/torrent/parse-torrent.js'
import { openFileStore } from '../../src/storage/file-store.js'
import { tempDir } from '../helpers/session-pair.js'

const P = 65536 // four blocks a piece: the piece layer is layer 2, with layer 1 between it and the leaves
const dir = join(await tempDir(t), 'set')
const bigBytes = randomBytes(5 * P + 1) // 6 pieces, 21 blocks, the last one byte long
const oneBytes = randomBytes(P) // exactly one piece: no piece layer, a tree of 4 leaves
await mkdir(dir)
await writeFile(join(dir, 'big'), bigBytes)
await writeFile(join(dir, 'one'), oneBytes)
await writeFile(join(dir, 'small'), randomBytes(100)) // one block: its hash is its root, no layer below it
const m = parseTorrent((await createTorrent(dir, { version: 'v2', pieceLength: P })).bytes)
const fileOf = (name: string): typeof m.files[number] => m.files.find(f => f.path.at(-1) === name)!
const big = fileOf('big')
const shape = fileTreeShape(big.length, P)
const root = Buffer.from(big.piecesRoot!)
const store = await openFileStore(m, dirname(dir))
await store.verifyExisting()
t.teardown(() => store.close())

/** SHA-256 of each 16 KiB block of `data` (the last may be short). */
function blocksOf (data: Buffer): Buffer[] {
  const out: Buffer[] = []
  for (let at = 0; at < data.length; at += BLOCK_SIZE) out.push(createHash('sha256').update(data.subarray(at, at + BLOCK_SIZE)).digest())
  return out
}

function hashesOf (answer: HashAnswer): Buffer {
  if ('reject' in answer) throw new Error(`rejected: ${answer.reject}`)
  return answer.hashes
}

t.test('each request of pieceLayerRequests is answered with hashes that prove up to the root', async t => {
  const server = new HashServer()
  const requests = pieceLayerRequests(root, shape)
  t.ok(requests.length > 0)
  for (const req of requests) {
    const answer = server.answer(m, req)
    t.notOk(answer instanceof Promise, 'the piece layer is answered at once, without the data')
    const layer = verifyHashes(req, hashesOf(await answer), shape)
    t.ok(layer !== undefined, 'verifies against the pieces root')
    t.same(layer!.subarray(0, 6 * 32), m.pieceLayers!.get(root.toString('hex')), 'the piece layer itself')
  }
  t.same(server.stats, { served: requests.length, rejected: 0, fromData: 0 })
  t.same(await server.answer(m, requests[0]!), await server.answer(m, requests[0]!), 'asked again (the tree is built once): the same answer')
})

t.test('a sub-range with its uncles', async t => {
  const server = new HashServer()
  const req = { piecesRoot: root, baseLayer: shape.pieceLayer, index: 2, length: 2, proofLayers: shape.height - 1 }
  const hashes = hashesOf(await server.answer(m, req))
  t.ok(verifyHashes(req, hashes, shape) !== undefined)
  t.equal(hashes.length, (2 + 2) * 32, 'two hashes and two uncles for a tree of height 3')
})

t.test('the leaf layer: each piece\'s block hashes, from the data, proven up to the root; the short last block', async t => {
  const server = new HashServer()
  const blocks = blocksOf(bigBytes)
  t.equal(blocks.length, 21)
  for (let piece = 0; piece < 6; piece++) {
    const req = pieceBlocksRequest(root, shape, piece)!
    t.same([req.baseLayer, req.index, req.length, req.proofLayers], [0, piece * 4, 4, shape.rootLayer - 1], 'what libtorrent asks after a piece fails')
    const answer = server.answer(m, req, store)
    t.ok(answer instanceof Promise, 'answered from the data, later')
    const hashes = hashesOf(await answer)
    const leaves = verifyHashes(req, hashes, shape)
    t.ok(leaves !== undefined, `piece ${piece}: verifies against the pieces root through the proof`)
    const expected = [...blocks.slice(piece * 4, piece * 4 + 4)]
    while (expected.length < 4) expected.push(Buffer.alloc(HASH_SIZE))
    t.ok(leaves!.equals(Buffer.concat(expected)), `piece ${piece}: the SHA-256 of each block, zeros past the file`)
  }
  // The last block alone (a length of one, at the end of the layer's real hashes): SHA-256 of its one byte.
  const last: HashRequest = { piecesRoot: root, baseLayer: 0, index: 20, length: 1, proofLayers: shape.rootLayer - 1 }
  const hashes = hashesOf(await server.answer(m, last, store))
  t.ok(verifyHashes(last, hashes, shape)?.equals(createHash('sha256').update(bigBytes.subarray(20 * BLOCK_SIZE)).digest()), 'the short last block, hashed as it is')
  // Eight leaves at once (two pieces), with fewer proof layers: the uncles start higher.
  const two: HashRequest = { piecesRoot: root, baseLayer: 0, index: 8, length: 8, proofLayers: 3 }
  t.ok(verifyHashes({ ...two, proofLayers: shape.rootLayer - 1 }, hashesOf(await server.answer(m, { ...two, proofLayers: shape.rootLayer - 1 }, store)), shape))
  t.equal(hashesOf(await server.answer(m, two, store)).length, (8 + 1) * HASH_SIZE, 'eight hashes and the one uncle of layer 3')
  t.same(server.stats, { served: 9, rejected: 0, fromData: 9 })
})

t.test('a layer between the leaves and the piece layer', async t => {
  const server = new HashServer()
  for (const req of [
    { piecesRoot: root, baseLayer: 1, index: 4, length: 2, proofLayers: 3 }, // half of piece 2: its sibling half is an uncle
    { piecesRoot: root, baseLayer: 1, index: 0, length: 16, proofLayers: 3 } // the whole layer (padding included)
  ]) {
    const got = verifyHashes(req, hashesOf(await server.answer(m, req, store)), shape)
    t.ok(got !== undefined, `base 1, ${req.index}+${req.length}: verifies against the root`)
  }
})

t.test('a file of exactly one piece (no piece layer): its block hashes verify against its pieces root', async t => {
  const server = new HashServer()
  const one = fileOf('one')
  const oneShape = fileTreeShape(one.length, P)
  t.same([oneShape.height, oneShape.rootLayer], [0, 2])
  const req = pieceBlocksRequest(Buffer.from(one.piecesRoot!), oneShape, 0)!
  t.same([req.index, req.length, req.proofLayers], [0, 4, 1])
  const leaves = verifyHashes(req, hashesOf(await server.answer(m, req, store)), oneShape)
  t.ok(leaves?.equals(Buffer.concat(blocksOf(oneBytes))), 'the four block hashes, proven by the root alone')
  const upper = { ...req, baseLayer: 1, length: 2, proofLayers: 0 }
  t.ok(verifyHashes(upper, hashesOf(await server.answer(m, upper, store)), oneShape), 'layer 1 of its tree')
  t.equal(pieceBlocksRequest(Buffer.from(fileOf('small').piecesRoot!), fileTreeShape(100, P), 0), undefined, 'a one-block file has nothing to ask')
})

t.test('rejects: no metadata or data, an unknown root, a bad request, pieces we lack, data changed on disk', async t => {
  const server = new HashServer()
  const ok = { piecesRoot: root, baseLayer: shape.pieceLayer, index: 0, length: 2, proofLayers: shape.height - 1 }
  const leaf = pieceBlocksRequest(root, shape, 1)!
  const magnet = metainfoFromInfoDict(m.infoBytes, { infoHashV2: m.infoHashV2! })
  const empty = await openFileStore(m, await tempDir(t))
  await empty.verifyExisting()
  t.teardown(() => empty.close())
  const cases: Array<[string, Parameters<HashServer['answer']>, RegExp]> = [
    ['no metadata yet', [undefined, ok], /^no piece layers yet$/],
    ['an unknown root', [m, { ...ok, piecesRoot: randomBytes(32) }], /^no file with this root$/],
    ['the piece layer of a one-piece file', [m, { ...ok, piecesRoot: Buffer.from(fileOf('one').piecesRoot!) }], /no piece layer/],
    ['a one-block file', [m, { ...leaf, index: 0, length: 1, proofLayers: 0, piecesRoot: Buffer.from(fileOf('small').piecesRoot!) }, store], /not below the root/],
    ['a magnet before its layers are fetched', [magnet, ok], /^no piece layer for this root$/],
    ['a base layer above the piece layer', [m, { ...ok, baseLayer: 3 }], /above the piece layer 2/],
    ['a length not a power of two', [m, { ...ok, length: 3 }], /length 3 is not a power of two/],
    ['more than 512 hashes', [m, { ...leaf, length: 1024, index: 0 }, store], /power of two in 1\.\.512/],
    ['a misaligned index', [m, { ...leaf, index: 2 }, store], /not a multiple of length 4/],
    ['past the layer', [m, { ...ok, index: 8 }], /past the end/],
    ['proof layers past the root', [m, { ...leaf, proofLayers: shape.rootLayer }, store], /past the root/],
    ['the leaf layer without storage', [m, leaf], /^no data yet$/],
    ['the leaf layer of pieces we lack', [m, leaf, empty], /^piece 1 is not verified here$/]
  ]
  for (const [what, args, reason] of cases) {
    const answer = await server.answer(...args)
    t.ok('reject' in answer, what)
    if ('reject' in answer) t.match(answer.reject, reason, what)
  }
  t.same(server.stats, { served: 0, rejected: cases.length, fromData: 0 })

  // A verified piece whose bytes changed on disk since: the hashes it gives would be a lie.
  const copyDir = join(await tempDir(t), 'set')
  await cp(dir, copyDir, { recursive: true })
  const copy = await openFileStore(m, dirname(copyDir))
  await copy.verifyExisting()
  t.teardown(() => copy.close())
  const bytes = await readFile(join(copyDir, 'big'))
  bytes[P + 5]! ^= 1
  await writeFile(join(copyDir, 'big'), bytes)
  t.match(await server.answer(m, leaf, copy), { reject: 'our data no longer matches its hashes' }, 'piece 1 changed: rejected')
  t.ok('hashes' in await server.answer(m, pieceBlocksRequest(root, shape, 2)!, copy), 'piece 2 is still served')
})

t.test('a peer\'s bounds: answers from data under way at once, and bytes hashed a second', async t => {
  const clock = { now: 0 }
  const server = new HashServer<object>(() => clock.now)
  const peer = {}
  const other = {}
  const req = pieceBlocksRequest(root, shape, 0)!
  const pending = Array.from({ length: MAX_DATA_ANSWERS_PER_PEER }, () => server.answer(m, req, store, peer))
  t.match(await server.answer(m, req, store, peer), { reject: /already under way/ }, 'one more than the bound: rejected at once')
  t.ok('hashes' in await server.answer(m, req, store, other), 'another peer is not affected')
  for (const p of pending) t.ok('hashes' in await p)
  t.ok('hashes' in await server.answer(m, req, store, peer), 'served again once those are done')
  // Each answer hashes one piece (64 KiB): the burst allows HASHING_RATE.burst of them, then the rate.
  let served = MAX_DATA_ANSWERS_PER_PEER + 1
  while ('hashes' in await server.answer(m, req, store, peer)) served++
  t.equal(served, HASHING_RATE.burst / P, 'the burst, then a reject')
  clock.now += 1000 * P / HASHING_RATE.perSecond
  t.ok('hashes' in await server.answer(m, req, store, peer), 'the rate refills it')
})
