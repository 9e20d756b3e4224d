/**
 * Trackers and PEX name the same peers at every announce. A session must not dial a peer it already has
 * a link with because that peer dialed it (the link would close as a duplicate), nor, once complete, a
 * seed it already let go of (both seeds: the link would close at once). The swarm-at-scale bench saw
 * both as link churn: 7,183 link ends for a 992-end mesh. Real sessions over loopback, real files.
 */
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { completed, randomFile, session, tempDir } from '../helpers/session-pair.js'
import type { Session } from '../../src/session/session.js'
import type { PeerLink } from '../../src/wire/peer-link.js'

/** Long enough for a dial and its handshakes on a loaded machine; a dial that was not made never shows. */
const QUIET_MS = 3000

function linksOf (s: Session): PeerLink[] {
  const links: PeerLink[] = []
  s.on('link', l => links.push(l))
  return links
}

async function fixture (t: Test, name: string): Promise<{ dir: string, metainfo: ReturnType<typeof parseTorrent> }> {
  const dir = await tempDir(t)
  await randomFile(join(dir, 'seed'), name, 300_000)
  return { dir, metainfo: parseTorrent((await createTorrent(join(dir, 'seed', name), { version: 'v1', pieceLength: 32 * 1024 })).bytes) }
}

t.test('a peer that dialed us is not dialed back when a tracker names it', async t => {
  const { dir, metainfo } = await fixture(t, 'back.bin')
  // Seed links stay up: the link that exists is what makes the dial pointless.
  const seeder = await session(t, { host: '127.0.0.2', trackers: false, pex: false, swarm: { chokeIntervalMs: 200, closeSeedLinks: false } })
  const leecher = await session(t, { host: '127.0.0.3', trackers: false, pex: false, swarm: { chokeIntervalMs: 200, closeSeedLinks: false } })
  const seeded = await seeder.addTorrent(metainfo, join(dir, 'seed'))
  const handle = await leecher.addTorrent(metainfo, join(dir, 'leech'))
  const seederLinks = linksOf(seeder)
  t.ok(await leecher.connect(handle, '127.0.0.2', seeder.port), 'the leecher dialed the seeder')
  await completed(handle.swarm)

  seeder.addPeers(seeded, [{ host: '127.0.0.3', port: leecher.port, source: 'tracker' }])
  await new Promise(resolve => setTimeout(resolve, QUIET_MS))
  t.same(seederLinks.map(l => l.direction), ['inbound'], 'the seeder kept the one link the leecher made and dialed none')
  t.equal(seeded.swarm.stats().peers, 1)
})

t.test('a complete swarm does not dial again the seeds it let go of', async t => {
  const { dir, metainfo } = await fixture(t, 'seeds.bin')
  const seeder = await session(t, { host: '127.0.0.4', trackers: false, pex: false })
  const leecher = await session(t, { host: '127.0.0.5', trackers: false, pex: false })
  const seeded = await seeder.addTorrent(metainfo, join(dir, 'seed'))
  const handle = await leecher.addTorrent(metainfo, join(dir, 'leech'))
  const closed = new Promise(resolve => handle.swarm.once('peer-closed', resolve))
  const leecherLinks = linksOf(leecher)
  const seederLinks = linksOf(seeder)
  t.ok(await leecher.connect(handle, '127.0.0.4', seeder.port))
  await completed(handle.swarm)
  await closed
  t.equal(handle.swarm.stats().peers, 0, 'both seeds: the link was dropped')

  leecher.addPeers(handle, [{ host: '127.0.0.4', port: seeder.port, source: 'tracker' }])
  seeder.addPeers(seeded, [{ host: '127.0.0.5', port: leecher.port, source: 'tracker' }])
  await new Promise(resolve => setTimeout(resolve, QUIET_MS))
  t.equal(leecherLinks.length, 1, 'the new seed did not dial the seeder again')
  t.equal(seederLinks.length, 1, 'the seeder did not dial the new seed (it knows its port from the extended handshake)')
})
