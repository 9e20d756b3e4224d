/**
 * The swarm side of an update: a blocked swarm, stalling peers and lying peers each end in the HTTPS
 * fallback within the bound, and never in unverified bytes.
 */
import t, { type Test } from 'tap'
import { createServer, type Socket } from 'node:net'
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { fixture, FAST_SESSION, type Fixture } from '../helpers/release-repo.js'
import { encodePeerList } from '../../src/updates/seeds.js'
import { loadPublisherKey, repositoryPaths } from '../../src/updates/release-repository.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { session } from '../helpers/session-pair.js'

const IDLE_MS = 1500

async function log (f: Fixture): Promise<Array<Record<string, unknown>>> {
  return (await readFile(join(f.client, 'update.log'), 'utf8')).trim().split('\n').map(l => JSON.parse(l))
}

/** A TCP port that accepts and then says nothing, ever. */
async function blackhole (t: Test): Promise<number> {
  const sockets: Socket[] = []
  const server = createServer(s => { sockets.push(s); s.on('error', () => {}) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  return (server.address() as AddressInfo).port
}

/** A free port nothing listens on (a blocked swarm: connections refused). */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

for (const [name, peer] of [['blocked (connections refused)', closedPort], ['stalling (accepts, never answers)', blackhole]] as const) {
  t.test(`a ${name} swarm: the HTTPS fallback within the bound`, async t => {
    const f = await fixture(t)
    const data = await f.release('1.0.0')
    const port = await peer(t)
    const m = await f.mirror({ override: p => p === '/seeds.json' ? encodePeerList([{ host: '127.0.0.1', port }]) : undefined })
    t.match(await f.update(m.url, { swarmIdleMs: IDLE_MS }), { status: 'installed', version: '1.0.0', via: 'https' })
    // The swarm phase, as the update log timed it: ended by the bound (not sooner, and not much later:
    // the slack is for session start and close on a loaded machine; without the bound it never ends).
    const at = (event: string): number => Date.parse(String((entries.find(e => e.event === event)!).time))
    const entries = await log(f)
    const ms = at('swarm-failed') - at('swarm')
    t.ok(ms >= IDLE_MS && ms < IDLE_MS + 10_000, `the swarm was given up after ${ms} ms (bound ${IDLE_MS} ms)`)
    t.same(await readFile(join(f.client, 'current', 'app.bin')), data)
    const events = (await log(f)).map(e => e.event).filter(e => e !== 'peer-error')
    t.match(events, ['trust-root', 'refresh', 'metadata', 'release', 'swarm', 'swarm-failed', 'fallback', 'verified', 'installed'])
    t.match((await log(f)).find(e => e.event === 'swarm-failed'), { name: 'SwarmDownloadError', code: 'ERR_UPDATE_SWARM' })
  })
}

t.test('a peer that has the release but is not the publisher is refused; the fallback installs', async t => {
  const f = await fixture(t)
  const data = await f.release('1.0.0')
  const torrent = parseTorrent(await readFile(join(repositoryPaths(f.repo).targets, '1.0.0', 'app.bin.torrent')))
  const insider = await session(t, FAST_SESSION)
  await insider.addTorrent(torrent, join(repositoryPaths(f.repo).targets, '1.0.0'))
  const m = await f.mirror({ override: p => p === '/seeds.json' ? encodePeerList([{ host: '127.0.0.1', port: insider.port }]) : undefined })
  t.match(await f.update(m.url, { swarmIdleMs: IDLE_MS }), { status: 'installed', via: 'https' })
  t.same(await readFile(join(f.client, 'current', 'app.bin')), data)
  t.ok((await log(f)).some(e => e.event === 'peer-error' && e.name === 'PublisherRequiredError'), 'the insider was refused for not proving the publisher key')
})

t.test('a publisher seed serving corrupt pieces is caught by the piece hashes; the fallback installs the signed bytes', async t => {
  const f = await fixture(t)
  const data = await f.release('1.0.0', 200_000)
  const releaseDir = join(repositoryPaths(f.repo).targets, '1.0.0')
  const torrent = parseTorrent(await readFile(join(releaseDir, 'app.bin.torrent')))
  const liarDir = join(f.root, 'liar')
  await mkdir(liarDir)
  await copyFile(join(releaseDir, 'app.bin'), join(liarDir, 'app.bin'))
  // A stolen publisher key: the seed proves it is the publisher, then lies about the data.
  const liar = await session(t, FAST_SESSION)
  await liar.addTorrent(torrent, liarDir, { publisherPrivateKey: await loadPublisherKey(f.repo) })
  await writeFile(join(liarDir, 'app.bin'), randomBytes(200_000))
  const m = await f.mirror({ override: p => p === '/seeds.json' ? encodePeerList([{ host: '127.0.0.1', port: liar.port }]) : undefined })
  t.match(await f.update(m.url, { swarmIdleMs: IDLE_MS }), { status: 'installed', via: 'https' })
  t.same(await readFile(join(f.client, 'current', 'app.bin')), data)
  t.match((await log(f)).find(e => e.event === 'swarm-failed'), { code: 'ERR_UPDATE_SWARM', message: /piece\(s\) failed their hash check/ })
})
