/**
 * Every other way an update or a publication fails: each a typed error, a log line, and nothing
 * installed. Also the update by hand (a local copy of the repository and a file obtained elsewhere).
 */
import t, { type Test } from 'tap'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { readFile, readlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { TargetFile } from '@tufjs/models'
import { fixture } from '../helpers/release-repo.js'
import { BttlsError } from '../../src/errors.js'
import {
  MalformedMetadataError, MissingTrustedRootError, NoPreviousReleaseError, NoReleaseError, ReleaseRepositoryError, RepositoryUnreachableError, RollbackAttackError, TargetMismatchError, UpdateDownloadError
} from '../../src/updates/errors.js'
import { addRelease, initRepository, refreshTimestamp, loadRepository } from '../../src/updates/release-repository.js'
import { rollback, update } from '../../src/updates/updater.js'
import { releaseTarget, compareVersions } from '../../src/updates/release-target.js'
import { parsePin, spkiPin } from '../../src/updates/spki-pin.js'
import { encodePeerList, parsePeerList } from '../../src/updates/seeds.js'
import { issueServerCertificate } from '../../src/pki/server-certificate.js'
import { tempDir } from '../helpers/session-pair.js'

async function refused (t: Test, p: Promise<unknown>, type: new (message: string) => BttlsError, message?: RegExp): Promise<Error> {
  const err = await p.then(() => undefined, (e: unknown) => e as Error)
  t.ok(err instanceof type && err instanceof BttlsError, `${type.name}: ${String(err)}`)
  t.equal(err?.name, type.name)
  t.equal((err as BttlsError).code, new type('').code)
  if (message !== undefined) t.match(err?.message, message)
  return err!
}

async function closedPort (): Promise<number> {
  const s = createServer()
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>(resolve => s.close(() => resolve()))
  return port
}

t.test('the client needs a trusted root, and a root that is TUF root metadata', async t => {
  const f = await fixture(t)
  await refused(t, update({ dir: f.client, repository: 'https://127.0.0.1:1' }), MissingTrustedRootError, /trusts no root yet/)
  await refused(t, f.update('https://127.0.0.1:1', { trustedRoot: Buffer.from('{"signed":') }), MalformedMetadataError, /not TUF root metadata/)
  const log = (await readFile(join(f.client, 'update.log'), 'utf8')).trim().split('\n').map(l => JSON.parse(l) as { event: string, code: string })
  t.match(log, [{ event: 'error', code: 'ERR_UPDATE_NO_ROOT' }, { event: 'error', code: 'ERR_UPDATE_MALFORMED_METADATA' }])
})

t.test('an unreachable, missing, stalling or plain-http repository is RepositoryUnreachableError', async t => {
  const f = await fixture(t)
  await f.release('1.0.0')
  await refused(t, f.update(`https://127.0.0.1:${await closedPort()}`), RepositoryUnreachableError, /ECONNREFUSED/)
  const missing = await f.mirror({ override: p => p === '/metadata/timestamp.json' ? 'not-found' : undefined })
  await refused(t, f.update(missing.url), RepositoryUnreachableError, /HTTP 404/)
  const stalling = await f.mirror({ override: p => p === '/metadata/timestamp.json' ? 'stall' : undefined })
  await refused(t, f.update(stalling.url, { fetchTimeoutMs: 300 }), RepositoryUnreachableError, /no answer within 300 ms/)
  await refused(t, f.update('http://127.0.0.1:1'), RepositoryUnreachableError, /only https: and local repositories/)
  t.equal(await readlink(join(f.client, 'current')).catch(() => undefined), undefined)
})

t.test('hostname verification stays on: the publisher\'s own CA, the pinned key, the wrong name is refused', async t => {
  const f = await fixture(t)
  await f.release('1.0.0')
  const ca = { certPem: f.caPem, keyPem: await readFile(join(f.offline, 'https-ca.key'), 'utf8') }
  const wrongName = await issueServerCertificate({ ca, names: ['updates.example.org'] })
  const m = await f.mirror({ cert: wrongName.certPem, key: wrongName.keyPem })
  await refused(t, f.update(m.url), RepositoryUnreachableError, /IP: 127\.0\.0\.1 is not in the cert's list|does not match/)
  t.equal(m.requests.length, 0)
})

t.test('a repository without releases: NoReleaseError; a release older than the installed one: RollbackAttackError', async t => {
  const f = await fixture(t)
  const server = await f.serve()
  await refused(t, f.update(server.url, { swarm: false }), NoReleaseError, /list no release/)
  await f.release('1.0.0')
  t.match(await f.update(server.url, { swarm: false }), { status: 'installed', version: '1.0.0' })
  // The client's record says 3.0.0 is installed (say, by hand): the signed 1.0.0 is not a way forward.
  const state = JSON.parse(await readFile(join(f.client, 'state.json'), 'utf8')) as Record<string, unknown>
  await writeFile(join(f.client, 'state.json'), JSON.stringify({ ...state, installed: '3.0.0' }))
  await refused(t, f.update(server.url, { swarm: false }), RollbackAttackError, /1\.0\.0, older than the installed 3\.0\.0/)
})

t.test('swarm and fallback both failing: UpdateDownloadError naming both', async t => {
  const f = await fixture(t)
  await f.release('1.0.0')
  const port = await closedPort()
  const m = await f.mirror({ override: p => p === '/seeds.json' ? encodePeerList([{ host: '127.0.0.1', port }]) : p.startsWith('/targets/') ? 'not-found' : undefined })
  const err = await refused(t, f.update(m.url, { swarmIdleMs: 500 }), UpdateDownloadError, /swarm: SwarmDownloadError: .*; https: RepositoryUnreachableError: .*HTTP 404/)
  t.ok(err.cause instanceof RepositoryUnreachableError)
  t.equal(await readlink(join(f.client, 'current')).catch(() => undefined), undefined)
})

t.test('update by hand: a local copy of the repository and a file obtained elsewhere, verified like any other', async t => {
  const f = await fixture(t)
  const data = await f.release('1.0.0')
  await writeFile(join(f.root, 'usb.bin'), data)
  t.match(await f.update(f.repo, { file: join(f.root, 'usb.bin') }), { status: 'installed', version: '1.0.0', via: 'file' })
  t.same(await readFile(join(f.client, 'current', 'app.bin')), data)
  await f.release('1.1.0', 1000)
  await writeFile(join(f.root, 'other.bin'), randomBytes(1000))
  await refused(t, f.update(f.repo, { file: join(f.root, 'other.bin') }), TargetMismatchError, /SHA-256/)
  await writeFile(join(f.root, 'short.bin'), randomBytes(999))
  await refused(t, f.update(f.repo, { file: join(f.root, 'short.bin') }), TargetMismatchError, /999 bytes; the signed release 1\.1\.0 is 1000/)
  t.same(await readFile(join(f.client, 'current', 'app.bin')), data, 'the refused files left current as it was')
  // A local repository without the file: the swarm is not tried (no seeds list), the "fallback" reads the copy.
  t.match(await f.update(f.repo), { status: 'installed', version: '1.1.0', via: 'https' })
})

t.test('rollback needs a previous release', async t => {
  const dir = await tempDir(t)
  await refused(t, rollback({ dir }), NoPreviousReleaseError, /keeps no previous release/)
})

t.test('the publisher: versions only go forward, the offline keys stay out of the repository, settings are checked', async t => {
  const f = await fixture(t)
  await f.release('1.2.0')
  await writeFile(join(f.root, 'x.bin'), 'x')
  const add = (version: string, extra = {}): Promise<unknown> => addRelease({ repo: f.repo, offlineKeys: f.offline, file: join(f.root, 'x.bin'), version, ...extra })
  await refused(t, add('1.2.0'), ReleaseRepositoryError, /not newer than the published 1\.2\.0/)
  await refused(t, add('1.1.9'), ReleaseRepositoryError, /not newer/)
  await refused(t, add('1.3.0-beta'), ReleaseRepositoryError, /not dot-separated numbers/)
  await refused(t, add('1.3.0', { file: join(f.root, 'missing.bin') }), ReleaseRepositoryError, /not a non-empty file/)
  await refused(t, add('1.3.0', { offlineKeys: join(f.repo, 'keys', 'offline') }), ReleaseRepositoryError, /must not be inside the repository/)
  await refused(t, initRepository({ repo: f.repo, offlineKeys: join(f.root, 'o2') }), ReleaseRepositoryError, /already holds a repository/)
  const dir = await tempDir(t)
  await refused(t, initRepository({ repo: join(dir, 'r'), offlineKeys: join(dir, 'o'), keys: { root: 2 }, thresholds: { root: 3 } }), ReleaseRepositoryError, /root: a threshold of 1 to 2 keys, not 3/)
  await refused(t, initRepository({ repo: join(dir, 'r2'), offlineKeys: join(dir, 'o2'), keys: { targets: 0 } }), ReleaseRepositoryError, /targets: 1 to 16 keys, not 0/)
})

t.test('the server re-signs the timestamp only when half its period is gone', async t => {
  const f = await fixture(t)
  const before = (await loadRepository(f.repo)).timestamp.signed.version
  t.equal(await refreshTimestamp(f.repo), false)
  t.equal(await refreshTimestamp(f.repo, { now: new Date(Date.now() + 13 * 3600_000) }), true)
  const after = await loadRepository(f.repo)
  t.equal(after.timestamp.signed.version, before + 1)
  t.equal(after.snapshot.signed.version, before + 1, 'a new snapshot with it')
  t.equal(after.targets.signed.version, 1, 'targets untouched: they need the offline key')
})

const IH = 'a'.repeat(40)
const PK = 'b'.repeat(64)
/** A v2 magnet whose 20-byte wire infohash is IH. */
const publisherMagnet = (pk: string, xt = `urn:btmh:1220${IH}${'e'.repeat(24)}`): string => `magnet:?xt=${xt}&x.bttls=strict-publisher&x.bttls.pk=${pk}`

t.test('release descriptions, versions, pins and seed lists are parsed strictly', async t => {
  const target = (path: string, custom: unknown, hashes: Record<string, string> = { sha256: 'a'.repeat(64) }): TargetFile =>
    new TargetFile({ path, length: 1, hashes, unrecognizedFields: { custom: custom as never } })
  t.match(releaseTarget(target('1.0/app', { bttls: { version: '1.0' } })), { version: '1.0', fileName: 'app' })
  t.same(releaseTarget(target('1.0/app', { bttls: { version: '1.0', infohash: IH, publisherKey: PK, magnet: publisherMagnet(PK) } })).publisherKey, Buffer.from(PK, 'hex'))
  for (const [path, custom, hashes, why] of [
    ['app', { bttls: { version: '1' } }, undefined, /not <version>\/<file name>/],
    ['1.0/../x', { bttls: { version: '1.0' } }, undefined, /not <version>\/<file name>|file name/],
    ['1.0/app', { bttls: { version: '1.1' } }, undefined, /differs from the path/],
    ['1.0/app', { bttls: { version: '1.0' } }, { sha512: 'b'.repeat(128) }, /no SHA-256/],
    ['1.0/app', { bttls: { version: '1.0', magnet: 'magnet:?xt=urn:btih:' + 'a'.repeat(40) } }, undefined, /not at the Strict publisher level/],
    ['1.0/app', { bttls: { version: '1.0', magnet: 'http://x' } }, undefined, /custom\.bttls\.magnet/],
    // The seed key: named, 64 hex digits, the magnet's own, and the magnet the signed infohash's.
    ['1.0/app', { bttls: { version: '1.0', infohash: IH, magnet: publisherMagnet(PK) } }, undefined, /publisherKey is not 64 hex digits/],
    ['1.0/app', { bttls: { version: '1.0', infohash: IH, publisherKey: PK.toUpperCase(), magnet: publisherMagnet(PK) } }, undefined, /publisherKey is not 64 hex digits/],
    ['1.0/app', { bttls: { version: '1.0', infohash: IH, publisherKey: 'c'.repeat(64), magnet: publisherMagnet(PK) } }, undefined, /x\.bttls\.pk is not custom\.bttls\.publisherKey/],
    ['1.0/app', { bttls: { version: '1.0', infohash: 'd'.repeat(40), publisherKey: PK, magnet: publisherMagnet(PK) } }, undefined, /infohash is not the magnet's/],
    // No SHA-1: a v1 (or hybrid) release torrent is refused.
    ['1.0/app', { bttls: { version: '1.0', infohash: IH, publisherKey: PK, magnet: publisherMagnet(PK, `urn:btih:${IH}`) } }, undefined, /not v2 only/]
  ] as const) {
    t.throws(() => releaseTarget(target(path, custom, hashes)), { name: 'MalformedMetadataError', code: 'ERR_UPDATE_MALFORMED_METADATA', message: why })
  }
  t.ok(compareVersions('1.10', '1.9') > 0)
  t.equal(compareVersions('1.0', '1'), 0)
  const f = await fixture(t)
  const pin = spkiPin(f.caPem)
  t.same(parsePin(pin), parsePin(`sha256//${pin}`))
  t.same(parsePin(parsePin(pin)!.toString('hex')), parsePin(pin))
  t.equal(parsePin('abc'), undefined)
  t.same(parsePeerList(encodePeerList([{ host: '::1', port: 6881 }, { host: '127.0.0.1', port: 1 }])), [{ host: '::1', port: 6881 }, { host: '127.0.0.1', port: 1 }])
  t.same(parsePeerList(Buffer.from('{"peers":["a b:1","h:0","h:70000",5,"ok:2"]}')), [{ host: 'ok', port: 2 }])
  t.throws(() => parsePeerList(Buffer.from('[')), { name: 'MalformedMetadataError' })
  t.throws(() => parsePeerList(Buffer.from('{}')), { name: 'MalformedMetadataError' })
})
