/**
 * The attacks of issue 17, each over real sockets on loopback: an update server or mirror the
 * attacker controls (with the publisher's own HTTPS certificate unless the test says otherwise), and
 * a client that must refuse, say why with a typed error, and leave DIR/current as it was.
 */
import t, { type Test } from 'tap'
import { readFile, readlink } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { fixture, type Fixture } from '../helpers/release-repo.js'
import { currentTimestampKeys, forgeTimestamp, forgeWithOnlineKeys, olderTargetsAsCurrent, otherCaCertificate, recordRepository } from '../../src/demo/update-mirror.js'
import {
  DownloadTooLongError, InconsistentMetadataError, MetadataSignatureError, PinMismatchError, RollbackAttackError, TargetMismatchError, UpdatesWithheldError
} from '../../src/updates/errors.js'
import { BttlsError } from '../../src/errors.js'
import { loadRepository, refreshTimestamp, rotateKeys } from '../../src/updates/release-repository.js'
import { BadVersionError, ExpiredMetadataError } from 'tuf-js/dist/error.js'
import { LengthOrHashMismatchError, UnsignedMetadataError } from '@tufjs/models/dist/error.js'

/** What DIR/current holds: the version it points to and the file's bytes (undefined: nothing installed). */
async function current (f: Fixture): Promise<{ version: string, bytes: Buffer } | undefined> {
  const target = await readlink(join(f.client, 'current')).catch(() => undefined)
  if (target === undefined) return undefined
  return { version: target.split('/').pop()!, bytes: await readFile(join(f.client, 'current', 'app.bin')) }
}

/**
 * The update is refused with our `type` and `code`; `cause` is the class of the tuf-js (or @tufjs/models)
 * error it was mapped from (by class: the tests assert no tuf-js wording), or our own `message`.
 */
async function refused (t: Test, p: Promise<unknown>, type: new (message: string) => BttlsError, code: string, why?: RegExp | (abstract new (...args: never[]) => Error)): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof type, `refused with ${type.name}: ${String(err)}`)
  t.ok(err instanceof BttlsError)
  t.equal((err as BttlsError).code, code)
  t.equal((err as BttlsError).name, type.name)
  if (why instanceof RegExp) t.match((err as Error).message, why)
  else if (why !== undefined) t.ok((err as Error).cause instanceof why, `mapped from tuf's ${why.name}: ${String((err as Error).cause)}`)
}

/** The last update-log entry (the client logs every refusal). */
async function lastLog (f: Fixture): Promise<Record<string, unknown>> {
  const lines = (await readFile(join(f.client, 'update.log'), 'utf8')).trim().split('\n')
  return JSON.parse(lines.at(-1)!) as Record<string, unknown>
}

t.test('rollback: metadata older than what the client trusts is refused, the installed release stays', async t => {
  const f = await fixture(t)
  await f.release('1.0.0')
  const old = await recordRepository(f.repo, join(f.root, 'recorded'))
  const v2 = await f.release('2.0.0')
  const server = await f.serve()
  t.match(await f.update(server.url, { swarm: false }), { status: 'installed', version: '2.0.0', via: 'https' })
  // The attacker replays the whole repository as it was before 2.0.0 (genuine, unexpired, older).
  const attacker = await f.mirror({ dir: old })
  await refused(t, f.update(attacker.url, { swarm: false }), RollbackAttackError, 'ERR_UPDATE_ROLLBACK', BadVersionError)
  t.same(await current(f), { version: '2.0.0', bytes: v2 })
  t.match(await lastLog(f), { event: 'error', code: 'ERR_UPDATE_ROLLBACK' })
})

t.test('freeze: metadata past its expiry is reported as updates being withheld; nothing installed', async t => {
  const f = await fixture(t)
  await f.release('1.0.0')
  // A timestamp the publisher really signed two days ago (valid one day), replayed today.
  await refreshTimestamp(f.repo, { now: new Date(Date.now() - 2 * 86_400_000), force: true })
  const attacker = await f.mirror()
  await refused(t, f.update(attacker.url, { swarm: false }), UpdatesWithheldError, 'ERR_UPDATES_WITHHELD', ExpiredMetadataError)
  t.equal(await current(f), undefined)
  // Once the server signs a fresh timestamp, the same client updates.
  await refreshTimestamp(f.repo, { force: true })
  t.match(await f.update(attacker.url, { swarm: false }), { status: 'installed', version: '1.0.0' })
})

t.test('freeze with a stolen timestamp key: fresh timestamps naming an expired snapshot are reported as withheld', async t => {
  const f = await fixture(t)
  await f.release('1.0.0')
  // The snapshot the publisher signed 8 days ago (valid 7), kept alive by timestamps the thief signs.
  await refreshTimestamp(f.repo, { now: new Date(Date.now() - 8 * 86_400_000), force: true })
  const forged = await forgeTimestamp(f.repo, await currentTimestampKeys(f.repo))
  const attacker = await f.mirror({ override: p => p === '/metadata/timestamp.json' ? forged : undefined })
  // tuf-js wraps this step's failure in a RuntimeError of text; the class is what decides.
  await refused(t, f.update(attacker.url, { swarm: false }), UpdatesWithheldError, 'ERR_UPDATES_WITHHELD', ExpiredMetadataError)
  t.equal(await current(f), undefined)
  t.match(await lastLog(f), { event: 'error', code: 'ERR_UPDATES_WITHHELD' })
})

t.test('arbitrary package: a mirror serving other bytes of the signed length is refused', async t => {
  const f = await fixture(t)
  await f.release('1.0.0', 50_000)
  const attacker = await f.mirror({ override: p => p.startsWith('/targets/') ? randomBytes(50_000) : undefined })
  await refused(t, f.update(attacker.url, { swarm: false }), TargetMismatchError, 'ERR_UPDATE_TARGET_MISMATCH', /SHA-256/)
  t.equal(await current(f), undefined)
  t.same((await readFile(join(f.client, 'update.log'), 'utf8')).includes('"fallback-failed"'), true)
})

t.test('endless data: a target or metadata longer than its bound is cut off and refused', async t => {
  const f = await fixture(t)
  await f.release('1.0.0', 50_000)
  // First (the client has no snapshot yet): the snapshot step, whose failures tuf-js wraps into a
  // RuntimeError of text; still our fetcher's own error.
  const snapshotPath = `/metadata/${(await loadRepository(f.repo)).snapshot.signed.version}.snapshot.json`
  const snapshot = await f.mirror({ override: p => p === snapshotPath ? 'endless' : undefined })
  await refused(t, f.update(snapshot.url, { swarm: false }), DownloadTooLongError, 'ERR_UPDATE_TOO_LONG', /more than the \d+ bytes expected/)
  t.equal(await current(f), undefined)
  const target = await f.mirror({ override: p => p.startsWith('/targets/') ? 'endless' : undefined })
  await refused(t, f.update(target.url, { swarm: false }), DownloadTooLongError, 'ERR_UPDATE_TOO_LONG', /more than the 50000 bytes/)
  t.equal(await current(f), undefined)
  const timestamp = await f.mirror({ override: p => p === '/metadata/timestamp.json' ? 'endless' : undefined })
  await refused(t, f.update(timestamp.url, { swarm: false }), DownloadTooLongError, 'ERR_UPDATE_TOO_LONG')
  t.equal(await current(f), undefined)
})

t.test('mix-and-match: targets of another time under the name the snapshot expects are refused', async t => {
  const f = await fixture(t)
  await f.release('1.0.0')
  await f.release('2.0.0')
  const files = await olderTargetsAsCurrent(f.repo)
  const attacker = await f.mirror({ override: p => files.get(p) })
  await refused(t, f.update(attacker.url, { swarm: false }), InconsistentMetadataError, 'ERR_UPDATE_INCONSISTENT_METADATA', LengthOrHashMismatchError)
  t.equal(await current(f), undefined)
})

t.test('stolen online keys: timestamp and snapshot keys cannot sign a release', async t => {
  const f = await fixture(t)
  await f.release('1.0.0')
  const files = await forgeWithOnlineKeys(f.repo, randomBytes(1000))
  const attacker = await f.mirror({ override: p => files.get(p) })
  await refused(t, f.update(attacker.url, { swarm: false }), MetadataSignatureError, 'ERR_UPDATE_SIGNATURE', UnsignedMetadataError)
  t.equal(await current(f), undefined)
})

t.test('rotation: after the root and the timestamp keys rotate, metadata signed by the old keys is refused', async t => {
  const f = await fixture(t)
  await f.release('1.0.0')
  const server = await f.serve()
  t.match(await f.update(server.url, { swarm: false }), { status: 'installed', version: '1.0.0' })
  const oldTimestampKeys = await currentTimestampKeys(f.repo)
  await rotateKeys({ repo: f.repo, offlineKeys: f.offline, role: 'timestamp' })
  await rotateKeys({ repo: f.repo, offlineKeys: f.offline, role: 'root' })
  const v2 = await f.release('1.1.0')
  // The client follows the chain 1 -> 2 -> 3 and installs the release signed under the new keys.
  t.match(await f.update(server.url, { swarm: false }), { status: 'installed', version: '1.1.0' })
  t.equal(JSON.parse(await readFile(join(f.client, 'metadata', 'root.json'), 'utf8')).signed.version, 3)
  // The thief of the old timestamp key signs a newer timestamp: refused.
  const forged = await forgeTimestamp(f.repo, oldTimestampKeys)
  const attacker = await f.mirror({ override: p => p === '/metadata/timestamp.json' ? forged : undefined })
  await refused(t, f.update(attacker.url, { swarm: false }), MetadataSignatureError, 'ERR_UPDATE_SIGNATURE', UnsignedMetadataError)
  t.same(await current(f), { version: '1.1.0', bytes: v2 })
  // A new client that trusts only root 1 still reaches root 3 through the chain.
  const fresh = await f.update(server.url, { swarm: false, dir: join(f.root, 'client2') })
  t.match(fresh, { status: 'installed', version: '1.1.0' })
})

t.test('man in the middle with a certificate from another CA the client trusts: the pin refuses it', async t => {
  const f = await fixture(t)
  await f.release('1.0.0')
  const other = await otherCaCertificate()
  const mitm = await f.mirror({ cert: other.cert, key: other.key })
  const trustsBoth = { ca: [f.caPem, other.caPem] }
  await refused(t, f.update(mitm.url, { swarm: false, ...trustsBoth }), PinMismatchError, 'ERR_UPDATE_PIN', /no key of the server's certificate chain matches/)
  t.equal(mitm.requests.length, 0, 'not one request was sent to the man in the middle')
  t.equal(await current(f), undefined)
  // The same certificate passes the CA check: the pin alone made the difference.
  const server = await f.serve()
  t.match(await f.update(server.url, { swarm: false, ...trustsBoth }), { status: 'installed' })
})
