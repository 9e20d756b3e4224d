/**
 * Blame by BEP 52 block hashes: after a v2 piece fails with blocks from several peers, its block hashes
 * are fetched (proven up to the pieces root) and the sender of the bad block is banned at once, as
 * libtorrent does. The fetcher's choice of peers, BadPieces' verdicts, and two swarms over loopback.
 */
import t, { type Test } from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { BadPieces } from '../../src/swarm/bad-pieces.js'
import { BlockHashFetcher } from '../../src/swarm/block-hash-fetcher.js'
import { HashesMismatchError } from '../../src/swarm/errors.js'
import { Swarm, type PeerInfo } from '../../src/swarm/swarm.js'
import { openFileStore } from '../../src/storage/file-store.js'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { fileTreeShape, pieceBlocksRequest, type HashRequest } from '../../src/torrent/merkle-proof.js'
import { connect } from '../helpers/link-pair.js'
import { randomFile, tempDir } from '../helpers/session-pair.js'

const PIECE = 65536

function sha256 (data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest()
}

async function v2Torrent (t: Test, pieces: number): Promise<{ dir: string, metainfo: ReturnType<typeof parseTorrent> }> {
  const dir = await tempDir(t)
  await randomFile(join(dir, 'seed'), 'file.bin', pieces * PIECE - 1000)
  const metainfo = parseTorrent((await createTorrent(join(dir, 'seed', 'file.bin'), { version: 'v2', pieceLength: PIECE })).bytes)
  return { dir, metainfo }
}

t.test('BadPieces: block hashes convict the sender of the differing block in a mixed failure, and judge the next one at once', async t => {
  const bp = new BadPieces<string>(s => s)
  const good = randomBytes(3 * 16384 + 100) // the file's last piece: four blocks, the last short
  const leaves = { leaves: [0, 1, 2, 3].map(b => sha256(good.subarray(b * 16384, (b + 1) * 16384))), bytes: good.length }
  const bad = Buffer.from(good)
  bad[2 * 16384 + 7]! ^= 1 // block 2, from 'b'
  t.same(bp.failure(5, bad, ['a', 'a', 'b', 'c']).banned, [], 'mixed: nobody yet')
  t.same(bp.blockHashes(5, leaves), ['b'], 'the block hashes name b')
  t.notOk(bp.isBanned('a') || bp.isBanned('c'))
  const worse = Buffer.from(good)
  worse[3 * 16384 + 99]! ^= 1 // the short last block, from 'd'
  t.match(bp.failure(5, worse, ['a', 'c', 'a', 'd']), { banned: ['d'], byBlockHashes: true }, 'a later mixed failure of the piece is judged by the known hashes')
  t.same(bp.success(5, good), [], 'nobody new once the piece verifies')
})

t.test('BlockHashFetcher: asks non-contributors first, moves on after a reject or a stall, bans nobody for it, refuses lies', async t => {
  const { metainfo } = await v2Torrent(t, 4)
  const file = metainfo.files[0]!
  const shape = fileTreeShape(file.length, PIECE)
  const request = pieceBlocksRequest(Buffer.from(file.piecesRoot!), shape, 1)!
  const sent: Array<[string, HashRequest]> = []
  const got: Array<[number, Buffer[]]> = []
  const clock = { now: 0 }
  const fetcher = new BlockHashFetcher<string>(() => ['a', 'b', 'c', 'd'], (s, r) => sent.push([s, r]), (i, l) => got.push([i, l]), () => clock.now)
  fetcher.want(1, { request, shape, blocks: 4 }, ['a', 'b'])
  fetcher.want(1, { request, shape, blocks: 4 }, ['a', 'b'])
  t.same(sent.map(([s]) => s), ['c'], 'one request, to a peer that did not send the failed copy')
  t.notOk(fetcher.hashes('d', request, Buffer.alloc(32)), 'an answer from a peer we did not ask is unsolicited')
  t.ok(fetcher.expects('c'))
  t.ok(fetcher.reject('c', request))
  t.same(sent.map(([s]) => s), ['c', 'd'], 'rejected: the next peer')
  clock.now += 30_000
  fetcher.tick(20_000)
  t.same(sent.map(([s]) => s), ['c', 'd', 'a'], 'd stalled: a contributor, now that no one else is left')
  const liar = Buffer.alloc((request.length + shape.rootLayer - 2) * 32)
  t.throws(() => fetcher.hashes('a', request, liar), HashesMismatchError, 'hashes that do not lead to the root')
  t.same(sent.length, 3, 'three peers tried: the piece is left to the next good copy')
  t.same(got, [])
})

t.test('a v2 piece that failed with blocks from two seeds: the block hashes name the bad one at once; the honest one is never banned', async t => {
  const { dir, metainfo } = await v2Torrent(t, 24)
  const goodStore = await openFileStore(metainfo, join(dir, 'seed'))
  t.equal(await goodStore.verifyExisting(), 24)
  // The bad seed holds piece 0 only, and flips a bit in every block it reads from it, for peers and for
  // its own hash answers alike (whose hashes then do not match the torrent's: it rejects those).
  const bytes = await readFile(join(dir, 'seed', 'file.bin'))
  for (let p = 1; p < 24; p++) bytes[p * PIECE]! ^= 1
  await mkdir(join(dir, 'bad'))
  await writeFile(join(dir, 'bad', 'file.bin'), bytes)
  const badStore = await openFileStore(metainfo, join(dir, 'bad'))
  t.equal(await badStore.verifyExisting(), 1)
  const read = badStore.readBlock.bind(badStore)
  // Slower than the honest seed, so that piece 0 takes blocks from both.
  badStore.readBlock = async (i, o, l) => {
    await new Promise(resolve => setTimeout(resolve, 5))
    const b = Buffer.from(await read(i, o, l))
    b[0]! ^= 1
    return b
  }
  const leechStore = await openFileStore(metainfo, join(dir, 'leech'))
  const good = new Swarm({ metainfo, store: goodStore })
  const bad = new Swarm({ metainfo, store: badStore })
  // One request at a time per peer: piece 0's blocks are spread over both seeds.
  const leecher = new Swarm({ metainfo, store: leechStore }, { pipelineDepth: 1 })
  t.teardown(async () => {
    await Promise.all([good.destroy(), bad.destroy(), leecher.destroy()])
    await Promise.all([goodStore.close(), badStore.close(), leechStore.close()])
  })
  const banned: Array<[PeerInfo, Error]> = []
  const failures: Array<[number, number]> = []
  leecher.on('peer-banned', (p, err) => banned.push([p, err]))
  leecher.on('bad-piece', (i, peers) => failures.push([i, peers.length]))
  const [[badLink], [goodLink]] = await Promise.all([
    connect(leecher, bad, metainfo.wireInfoHash),
    connect(leecher, good, metainfo.wireInfoHash)
  ])
  await leecher.whenComplete()
  t.ok(failures.length > 0 && failures.every(([i, n]) => i === 0 && n === 2), 'piece 0 failed, with blocks from both seeds')
  t.equal(banned.length, 1, 'one ban')
  t.equal(banned[0]![0].port, badLink.remotePort, 'the bad seed')
  t.notOk(banned.some(([p]) => p.port === goodLink.remotePort), 'the honest seed never is')
  t.match(banned[0]![1], { name: 'BadPeerError', message: /whose SHA-256 is not its BEP 52 block hash/ }, 'banned by the block hashes, before any good copy')
  t.equal(good.stats().hashRequests.fromData, 1, 'the honest seed served the block hashes, once, from its data')
  t.ok(bad.stats().hashRequests.fromData === 0, 'the bad seed served none (its data does not match the hashes)')
  t.comment(`hash requests: honest ${JSON.stringify(good.stats().hashRequests)}, bad ${JSON.stringify(bad.stats().hashRequests)}`)
  t.equal(leecher.stats().piecesDone, 24)
})
