/**
 * BEP 52 hash requests between real sessions (loopback, TLS): a v2-only magnet of a multi-file torrent
 * whose files span many pieces fetches the piece layers from its peers, checks them against each file's
 * pieces root, and completes; a peer serving wrong hashes is banned and another one is asked.
 */
import t, { type Test } from 'tap'
import { once } from 'node:events'
import { join } from 'node:path'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { magnetUri, parseMagnet } from '../../src/torrent/magnet.js'
import type { ParsedTorrent } from '../../src/torrent/parsed-torrent.js'
import { HashesMismatchError } from '../../src/swarm/errors.js'
import type { PeerInfo } from '../../src/swarm/swarm.js'
import { completed, fileSha256, randomFile, session, tempDir } from '../helpers/session-pair.js'

const FILES: Array<[string, number]> = [['a.bin', 300_000], ['b.bin', 100_000], ['c.bin', 10_000], ['d.bin', 16_384 * 3]]

async function multiFileTorrent (t: Test, version: 'v2' | 'hybrid'): Promise<{ dir: string, metainfo: ParsedTorrent, sums: Map<string, string> }> {
  const dir = await tempDir(t)
  const sums = new Map<string, string>()
  for (const [name, size] of FILES) sums.set(name, await randomFile(join(dir, 'seed', 'set'), name, size))
  const metainfo = parseTorrent((await createTorrent(join(dir, 'seed', 'set'), { version, pieceLength: 16 * 1024 })).bytes)
  return { dir, metainfo, sums }
}

async function sameFiles (t: Test, dir: string, sums: Map<string, string>): Promise<void> {
  for (const [name, sum] of sums) t.equal(await fileSha256(join(dir, 'leech', 'set', name)), sum, `${name} arrived intact`)
}

for (const version of ['v2', 'hybrid'] as const) {
  t.test(`a ${version} magnet of a multi-file torrent with files of many pieces completes over TLS`, async t => {
    const { dir, metainfo, sums } = await multiFileTorrent(t, version)
    const seeder = await session(t, { trackers: false })
    const leecher = await session(t, { trackers: false })
    await seeder.addTorrent(metainfo, join(dir, 'seed'))
    const handle = leecher.addMagnet(parseMagnet(magnetUri(metainfo)), join(dir, 'leech'))
    const link = await leecher.connect(handle, '127.0.0.1', seeder.port)
    t.equal(link?.transport, 'tls')
    await completed(handle.swarm)
    await sameFiles(t, dir, sums)
    const layers = (handle.swarm.metainfo as ParsedTorrent).pieceLayers
    if (version === 'v2') {
      t.same([...layers!.keys()].sort(), [...metainfo.pieceLayers!.keys()].sort(), 'every file larger than a piece got its layer')
      for (const [root, layer] of metainfo.pieceLayers!) t.ok(layers!.get(root)!.equals(layer), 'the fetched layer is the torrent\'s')
    }
  })
}

t.test('a peer answering with wrong hashes is banned (HashesMismatchError); the layers come from an honest peer', async t => {
  const { dir, metainfo, sums } = await multiFileTorrent(t, 'v2')
  // The liar holds the same info dict, but piece layers with one bit flipped in every hash list.
  const lies = new Map([...metainfo.pieceLayers!].map(([root, layer]) => {
    const bad = Buffer.from(layer)
    bad[0]! ^= 1
    return [root, bad]
  }))
  const liar = await session(t, { trackers: false })
  const honest = await session(t, { trackers: false })
  const leecher = await session(t, { trackers: false })
  const liarTorrent: ParsedTorrent = { ...metainfo, pieceLayers: lies }
  await liar.addTorrent(liarTorrent, join(dir, 'seed'))
  await honest.addTorrent(metainfo, join(dir, 'seed'))
  const handle = leecher.addMagnet(parseMagnet(magnetUri(metainfo)), join(dir, 'leech'))
  const banned = once(handle.swarm, 'peer-banned') as Promise<[PeerInfo, Error]>
  await leecher.connect(handle, '127.0.0.1', liar.port)
  const [who, err] = await banned
  t.equal(who.port, liar.port, 'the liar is banned')
  t.ok(err instanceof HashesMismatchError)
  t.equal(err.name, 'HashesMismatchError')
  t.equal((err as HashesMismatchError).code, 'ERR_HASHES_MISMATCH')
  t.notOk(handle.swarm.complete)
  t.ok(handle.swarm.isBanned('127.0.0.1', liar.port), 'never dialed again')
  await leecher.connect(handle, '127.0.0.1', honest.port)
  await completed(handle.swarm)
  await sameFiles(t, dir, sums)
})
