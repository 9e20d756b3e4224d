/**
 * The library never leaves its caller waiting (issue 12 items 3 and 4): `whenComplete()` resolves at
 * once on complete data (the README example run a second time), and rejects with a typed reason when
 * the download cannot finish (a v2-only magnet whose files span several pieces). Real sessions, files.
 */
import t from 'tap'
import { join } from 'node:path'
import { createTorrent } from '../src/torrent/create-torrent.js'
import { parseTorrent } from '../src/torrent/parse-torrent.js'
import { magnetUri, parseMagnet } from '../src/torrent/magnet.js'
import { PieceLayersUnavailableError } from '../src/storage/errors.js'
import { randomFile, session, tempDir } from './helpers/session-pair.js'

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

t.test('a v2-only magnet of a file larger than one piece fails at once with PieceLayersUnavailableError', async t => {
  const dir = await tempDir(t)
  await randomFile(join(dir, 'seed'), 'v2.bin', 200_000)
  const metainfo = parseTorrent((await createTorrent(join(dir, 'seed', 'v2.bin'), { version: 'v2', pieceLength: 16 * 1024 })).bytes)
  const seeder = await session(t, { trackers: false })
  const leecher = await session(t, { trackers: false })
  await seeder.addTorrent(metainfo, join(dir, 'seed'))
  const handle = leecher.addMagnet(parseMagnet(magnetUri(metainfo)), join(dir, 'leech'))
  const failed = handle.swarm.whenComplete().then(() => undefined, (err: Error) => err)
  await leecher.connect(handle, '127.0.0.1', seeder.port)
  const err = await Promise.race([failed, new Promise<string>(resolve => setTimeout(() => resolve('still waiting after 10 s'), 10_000))])
  t.ok(err instanceof PieceLayersUnavailableError, `typed failure: ${String(err)}`)
  t.equal((err as PieceLayersUnavailableError).name, 'PieceLayersUnavailableError')
  t.equal((err as PieceLayersUnavailableError).code, 'ERR_PIECE_LAYERS_UNAVAILABLE')
  t.equal(handle.swarm.failed, err, 'the swarm says why it stopped')
})
