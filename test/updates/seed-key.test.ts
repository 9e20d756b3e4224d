/**
 * The seed key (the release torrents' Strict publisher key) is anchored in the signed targets: a
 * client requires the key the verified targets name for each release, refuses a seed that proves any
 * other (a stranger's, or a retired one), follows a rotation only through new signed targets, and
 * refuses a seed key named by anyone without the targets key. Real sockets and TLS on loopback.
 */
import t, { type Test } from 'tap'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPairSync } from 'node:crypto'
import { fixture, FAST_SESSION, type Fixture } from '../helpers/release-repo.js'
import { encodePeerList } from '../../src/updates/seeds.js'
import { listReleases, loadPublisherKey, loadRepository, repositoryPaths, rotateSeedKey } from '../../src/updates/release-repository.js'
import { rawPublisherKey } from '../../src/levels/strict.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { forgeSeedKey, startForeignSeed } from '../../src/demo/update-mirror.js'
import { releaseTarget } from '../../src/updates/release-target.js'
import { MetadataSignatureError } from '../../src/updates/errors.js'
import { UnsignedMetadataError } from '@tufjs/models/dist/error.js'
import { ReleaseServer } from '../../src/updates/release-server.js'

const IDLE_MS = 1500

async function log (dir: string): Promise<Array<Record<string, unknown>>> {
  return (await readFile(join(dir, 'update.log'), 'utf8')).trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
}

/** The seed key each release's signed target names, by version. */
async function signedSeedKeys (f: Fixture): Promise<Record<string, string>> {
  const { targets } = await loadRepository(f.repo)
  return Object.fromEntries(Object.values(targets.signed.targets).map(releaseTarget).map(r => [r.version, r.publisherKey!.toString('hex')]))
}

/** A foreign seed as the only peer the client hears of; the update must end on HTTPS with the seed refused. */
async function refusedSeed (t: Test, f: Fixture, torrentFile: string, key: Parameters<typeof startForeignSeed>[1], dir: string): Promise<void> {
  const seed = await startForeignSeed(torrentFile, key)
  t.teardown(() => seed.close())
  const m = await f.mirror({ override: p => p === '/seeds.json' ? encodePeerList([{ host: '127.0.0.1', port: seed.port }]) : undefined })
  t.match(await f.update(m.url, { swarmIdleMs: IDLE_MS, dir }), { status: 'installed', via: 'https' })
  t.ok(seed.connections > 0, 'the client did dial the foreign seed')
  const entries = await log(dir)
  t.ok(entries.some(e => e.event === 'peer-error' && e.name === 'PublisherProofError'), 'refused: its publisher signature is not by the signed seed key')
  t.notOk(entries.some(e => e.event === 'verified' && e.via === 'swarm'))
}

t.test('every release names its seed key in the signed targets, and the magnet agrees', async t => {
  const f = await fixture(t)
  await f.release('1.0.0')
  const [r] = await listReleases(f.repo)
  const key = rawPublisherKey(await loadPublisherKey(f.repo))
  t.same(r!.publisherKey, key, 'the key the signed target names is the repository\'s seed key')
  const torrent = parseTorrent(await readFile(r!.torrentFile))
  t.same(torrent.strict?.publisherKey, key, 'and the torrent\'s Strict publisher key')
  t.equal(torrent.wireInfoHash.toString('hex'), r!.infohash)
  t.equal(torrent.infoHashV1, undefined, 'v2 only: no SHA-1 infohash or piece hashes on the update path')
})

t.test('a seed proving a publisher key the signed targets do not name is refused; the fallback installs', async t => {
  const f = await fixture(t)
  const data = await f.release('1.0.0')
  const [r] = await listReleases(f.repo)
  await refusedSeed(t, f, r!.torrentFile, generateKeyPairSync('ed25519').privateKey, f.client)
  t.same(await readFile(join(f.client, 'current', 'app.bin')), data)
})

t.test('seed key rotation: the new key only through new signed targets; the retired key is refused', async t => {
  const f = await fixture(t)
  await f.release('1.0.0')
  const server = await f.serve()
  t.match(await f.update(server.url, { swarmIdleMs: 5000 }), { status: 'installed', version: '1.0.0', via: 'swarm' })
  const before = await signedSeedKeys(f)
  const retired = await loadPublisherKey(f.repo)
  const targetsBefore = (await loadRepository(f.repo)).targets.signed.version

  const r = await rotateSeedKey({ repo: f.repo, offlineKeys: f.offline })
  t.equal(r.targetsVersion, targetsBefore + 1, 'new targets, signed with the offline targets key')
  const after = await signedSeedKeys(f)
  t.not(after['1.0.0'], before['1.0.0'], 'release 1.0.0 now names the new seed key')
  t.same(rawPublisherKey(await loadPublisherKey(f.repo)).toString('hex'), after['1.0.0'])
  const [remade] = await listReleases(f.repo)
  t.equal(parseTorrent(await readFile(remade!.torrentFile)).wireInfoHash.toString('hex'), remade!.infohash, 'its torrent was remade for it')
  t.equal((await readdir(repositoryPaths(f.repo).keys)).filter(n => n.startsWith('seed-')).length, 1, 'one seed key in use')
  t.equal((await readdir(join(repositoryPaths(f.repo).keys, 'retired'))).filter(n => n.startsWith('seed-')).length, 1, 'the old one retired')

  // The running server follows the signed targets: old torrents dropped, new ones seeded with the new key.
  await server.rescan()
  const published = (await readFile(repositoryPaths(f.repo).log, 'utf8')).trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
  t.ok(published.some(e => e.event === 'unseeded'), 'the server stopped seeding the torrents made for the retired key')
  const v2 = await f.release('1.1.0')
  await server.rescan()
  t.equal((await signedSeedKeys(f))['1.1.0'], after['1.0.0'], 'a release made after the rotation uses the new key')
  t.match(await f.update(server.url, { swarmIdleMs: 5000 }), { status: 'installed', version: '1.1.0', via: 'swarm' })
  t.same(await readFile(join(f.client, 'current', 'app.bin')), v2)
  const fresh = join(f.root, 'fresh')
  t.match(await f.update(server.url, { swarmIdleMs: 5000, dir: fresh }), { status: 'installed', version: '1.1.0', via: 'swarm' }, 'a new client too')

  // The retired key (stolen, or an old server still running) proves nothing for the new torrent.
  const [newest] = await listReleases(f.repo)
  await refusedSeed(t, f, newest!.torrentFile, retired, join(f.root, 'client-retired'))
})

t.test('a seed key named by a thief of the online keys (not signed by the targets key) is refused', async t => {
  const f = await fixture(t)
  await f.release('1.0.0')
  const files = await forgeSeedKey(f.repo, rawPublisherKey(generateKeyPairSync('ed25519').privateKey))
  const attacker = await f.mirror({ override: p => files.get(p) })
  const err = await f.update(attacker.url, { swarmIdleMs: IDLE_MS }).then(() => undefined, (e: unknown) => e as Error)
  t.ok(err instanceof MetadataSignatureError, String(err))
  t.equal((err as MetadataSignatureError).code, 'ERR_UPDATE_SIGNATURE')
  t.ok(err?.cause instanceof UnsignedMetadataError, 'the targets signature no longer verifies')
  t.notOk((await log(f.client)).some(e => e.event === 'swarm'), 'no swarm was joined on the forged key')
})

t.test('the server seeds only torrents the signed targets name, with the key they name', async t => {
  const f = await fixture(t)
  await f.release('1.0.0')
  const [r] = await listReleases(f.repo)
  // A torrent file that is not the signed one (e.g. mid-rotation): not seeded, said in the log.
  const genuine = await readFile(r!.torrentFile)
  const entries: Array<Record<string, unknown>> = []
  await rotateSeedKey({ repo: f.repo, offlineKeys: f.offline })
  const [after] = await listReleases(f.repo)
  await writeFile(after!.torrentFile, genuine)
  const server = await ReleaseServer.start({ repo: f.repo, session: FAST_SESSION, rescanMs: 60_000, onLog: e => entries.push(e) })
  t.teardown(() => server.close())
  t.match(entries.find(e => e.event === 'not-seeding'), { version: '1.0.0', reason: /is not the signed torrent/ })
  t.notOk(entries.some(e => e.event === 'seeding'))
})
