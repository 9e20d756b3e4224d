/**
 * The library never leaves its caller waiting (issue 12 items 3 and 4): `whenComplete()` resolves at
 * once on complete data (the README example run a second time), and settles for a v2-only magnet whose
 * files span several pieces (which once failed for want of piece layers). Real sessions, files.
 */
import t from 'tap'
import { join } from 'node:path'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { magnetUri, parseMagnet } from '../../src/torrent/magnet.js'
import { randomFile, session, tempDir } from '../helpers/session-pair.js'

t.test('README example on complete data: whenComplete resolves at once, although complete fired before', async t => {
  const dir = await tempDir(t)
  await randomFile(join(dir, 'seed'), 'done.bin', 300_000)
  const metainfo = parseTorrent((await createTorrent(join(dir, 'seed', 'done.bin'), { version: 'v1', pieceLength: 32 * 1024 })).bytes)
  const s = await session(t, { trackers: false })
  const torrent = await s.addTorrent(metainfo, join(dir, 'seed'))
  t.ok(torrent.swarm.complete)
  const started = Date.now()
  await torrent.swarm.whenComplete()
  t.ok(Date.now() - started < 1000, 'resolved at once')
})

t.test('a v2-only magnet of a file larger than one piece: whenComplete resolves once the layers and the data arrived', async t => {
  const dir = await tempDir(t)
  await randomFile(join(dir, 'seed'), 'v2.bin', 200_000)
  const metainfo = parseTorrent((await createTorrent(join(dir, 'seed', 'v2.bin'), { version: 'v2', pieceLength: 16 * 1024 })).bytes)
  const seeder = await session(t, { trackers: false })
  const leecher = await session(t, { trackers: false })
  await seeder.addTorrent(metainfo, join(dir, 'seed'))
  const handle = leecher.addMagnet(parseMagnet(magnetUri(metainfo)), join(dir, 'leech'))
  const done = handle.swarm.whenComplete().then(() => 'complete', (err: Error) => err)
  await leecher.connect(handle, '127.0.0.1', seeder.port)
  let timer: NodeJS.Timeout | undefined
  const got = await Promise.race([done, new Promise<string>(resolve => { timer = setTimeout(() => resolve('still waiting after 20 s'), 20_000) })])
  clearTimeout(timer)
  t.equal(got, 'complete')
  t.equal(handle.swarm.failed, undefined)
})
