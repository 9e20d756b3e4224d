/**
 * The certificate manager: first issuance, renewal at 2/3 of the lifetime with a new key and serial and
 * no moment without a valid certificate, the revoked set kept from the latest announce, failures.
 */
import t, { type Test } from 'tap'
import { once } from 'node:events'
import { verifyPeerCertificate } from '../../src/pki/certificate-profile.js'
import { CertificateManager, type IssuedCredential } from '../../src/tracker/client/certificate-manager.js'
import { TrackerError } from '../../src/tracker/errors.js'
import { peerId, trackerFixture, type TrackerFixture } from '../helpers/tracker.js'

function manager (t: Test, f: TrackerFixture, passkey: string, extra: Partial<ConstructorParameters<typeof CertificateManager>[0]> = {}): CertificateManager {
  const m = new CertificateManager({
    trackerUrl: f.server.announceUrl, passkey, torrent: f.metainfo, caCertPem: f.ca.certPem, peerId: peerId(), port: 6881, minRetryMs: 200, ...extra
  })
  t.teardown(() => m.stop())
  return m
}

t.test('renewal: a 6 s certificate is replaced after about 4 s by a new key and serial, with no gap', async t => {
  const f = await trackerFixture(t, { lifetimeSeconds: 6 })
  const m = manager(t, f, f.db.addUser('alice'))
  const seen: IssuedCredential[] = []
  const at: number[] = []
  m.on('certificate', c => { seen.push(c); at.push(Date.now()) })
  const startedAt = Date.now()
  const first = await m.start()
  t.equal(m.current(), first)
  verifyPeerCertificate({ certDer: Buffer.from(first.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64'), caCertPem: f.ca.certPem, torrent: f.metainfo })

  // Poll for 9.5 s: at every instant there is a current certificate that has not expired.
  let gaps = 0
  while (Date.now() - startedAt < 9500) {
    const c = m.current()
    if (c === undefined || c.notAfter.getTime() <= Date.now()) gaps++
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  t.equal(gaps, 0, 'never without a valid certificate')
  t.ok(seen.length >= 3, `renewed at least twice in 9.5 s (${seen.length} certificates)`)
  const serials = new Set(seen.map(c => c.serial))
  const keys = new Set(seen.map(c => c.keyPem))
  t.equal(serials.size, seen.length, 'a new serial each time')
  t.equal(keys.size, seen.length, 'a new key each time')
  for (let i = 1; i < seen.length; i++) {
    const after = at[i]! - at[i - 1]!
    t.ok(after > 3000 && after < 5500, `renewal ${i} came ${after} ms after the previous issuance (2/3 of 6 s)`)
    t.ok(seen[i - 1]!.notAfter.getTime() - at[i]! > 1000, `renewal ${i} came while the previous certificate had over 1 s left`)
  }
  const log = f.db.issuances('alice')
  t.same(log.map(l => l.serial), seen.map(c => c.serial), 'each renewal is in the issuance log')
})

t.test('the revoked set follows the latest announce and emits "revoked"', async t => {
  const f = await trackerFixture(t, { intervalSeconds: 1 })
  const mallory = manager(t, f, f.db.addUser('mallory'))
  const alice = manager(t, f, f.db.addUser('alice'), { maxAnnounceIntervalMs: 1000 })
  const bad = await mallory.start()
  await alice.start()
  t.same([...alice.revokedSerials()], [])
  f.db.revokeUser('mallory')
  const [set] = await once(alice, 'revoked') as [ReadonlySet<string>]
  t.same([...set], [bad.serial], 'the revoked serial arrives with the next periodic announce')
  t.equal(alice.revokedSerials(), set)
  t.ok(alice.peers().every(p => p.port === 6881))
  // The revoked peer's next renewal fails for good.
  const err = await mallory.renew().catch((e: unknown) => e)
  t.match(err, { name: 'TrackerError', code: 'ERR_TRACKER_REVOKED_USER' })
})

t.test('start() rejects with the tracker\'s code; nothing is current', async t => {
  const f = await trackerFixture(t)
  const m = manager(t, f, 'a'.repeat(64))
  await t.rejects(m.start(), { name: 'TrackerError', code: 'ERR_TRACKER_UNKNOWN_TOKEN' })
  t.equal(m.current(), undefined)
})

t.test('a tracker that is down: start() rejects as unreachable; a renewal failure keeps the current certificate and retries', async t => {
  const f = await trackerFixture(t, { lifetimeSeconds: 30 })
  const m = manager(t, f, f.db.addUser('alice'))
  const first = await m.start()
  const url = f.server.announceUrl
  await f.server.close()
  const errors: Error[] = []
  m.on('error', e => errors.push(e))
  await t.rejects(m.renew(), TrackerError)
  t.equal(m.current(), first, 'the current certificate stays until its end')
  t.match(errors[0], { code: 'ERR_TRACKER_UNREACHABLE' })
  const m2 = new CertificateManager({ trackerUrl: url, passkey: 'x', torrent: f.metainfo, caCertPem: f.ca.certPem, peerId: peerId(), port: 1 })
  await t.rejects(m2.start(), { code: 'ERR_TRACKER_UNREACHABLE' })
  await m2.stop()
})
