/**
 * One link per peer (issue 12 item 7): a peer named by --peer, a tracker and PEX, or reachable under two
 * addresses, is connected once. Real sessions over loopback TLS, real files.
 */
import t from 'tap'
import { join } from 'node:path'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { completed, fileSha256, randomFile, session, tempDir } from '../helpers/session-pair.js'
import type { PeerLink } from '../../src/wire/peer-link.js'

async function until (cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

t.test('the same endpoint from --peer, a tracker and PEX is dialed once', async t => {
  const dir = await tempDir(t)
  const sum = await randomFile(join(dir, 'seed'), 'one.bin', 600_000)
  const metainfo = parseTorrent((await createTorrent(join(dir, 'seed', 'one.bin'), { version: 'v1', pieceLength: 32 * 1024 })).bytes)
  const seeder = await session(t, { trackers: false })
  const leecher = await session(t, { trackers: false })
  await seeder.addTorrent(metainfo, join(dir, 'seed'))
  const handle = await leecher.addTorrent(metainfo, join(dir, 'leech'))
  const links: PeerLink[] = []
  leecher.on('link', l => links.push(l))

  // All four at once: addPeers starts its dials and returns at once.
  const both = Promise.all([leecher.connect(handle, '127.0.0.1', seeder.port), leecher.connect(handle, '127.0.0.1', seeder.port)])
  leecher.addPeers(handle, [{ host: '127.0.0.1', port: seeder.port, source: 'tracker' }])
  leecher.addPeers(handle, [{ host: '::ffff:127.0.0.1', port: seeder.port, source: 'pex' }])
  const [a, b] = await both
  t.ok(a !== undefined && a === b, 'both callers share one link')
  await completed(handle.swarm)
  t.equal(links.length, 1, 'one connection made')
  t.equal(await fileSha256(join(dir, 'leech', 'one.bin')), sum)
})

t.test('one peer under two addresses: the second link is closed as a duplicate (same peer id)', async t => {
  const dir = await tempDir(t)
  const sum = await randomFile(join(dir, 'seed'), 'two.bin', 2_000_000)
  const metainfo = parseTorrent((await createTorrent(join(dir, 'seed', 'two.bin'), { version: 'v1', pieceLength: 32 * 1024 })).bytes)
  const seeder = await session(t, { host: '0.0.0.0', trackers: false })
  const leecher = await session(t, { trackers: false })
  const seeded = await seeder.addTorrent(metainfo, join(dir, 'seed'))
  const handle = await leecher.addTorrent(metainfo, join(dir, 'leech'))
  const closes: Array<Error | undefined> = []
  handle.swarm.on('peer-closed', (_p, err) => closes.push(err))

  const [one, two] = await Promise.all([
    leecher.connect(handle, '127.0.0.1', seeder.port),
    leecher.connect(handle, '127.0.0.2', seeder.port)
  ])
  t.ok(one !== undefined && two !== undefined && one !== two, 'two links were made')
  await until(() => closes.length > 0, 'a duplicate to close')
  t.equal(closes[0]?.name, 'DuplicateLinkError')
  t.equal((closes[0] as { code?: string }).code, 'ERR_DUPLICATE_LINK')
  await completed(handle.swarm)
  t.equal(await fileSha256(join(dir, 'leech', 'two.bin')), sum)
  t.ok(seeded.swarm.stats().uploaded < 2_000_000 * 1.2, `the seeder uploaded the file about once (${seeded.swarm.stats().uploaded} bytes)`)
})
