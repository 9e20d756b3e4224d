/**
 * Passkey theft by tracker impersonation (issue 18, item 5): every member holds a peer certificate
 * with SAN DNS:<torrent name> and serverAuth, so if the secure tracker's host matched the torrent's
 * name a member could pose as the tracker and collect passkeys. The rule is enforced where a torrent
 * is made, where a tracker serves it and before a client sends its passkey; and the two certificate
 * profiles never swap: a certificate that allows clientAuth is refused as the tracker's, one that
 * does not is refused as a peer's. Real HTTPS on loopback for the impersonation itself.
 */
import t from 'tap'
import { createServer } from 'node:https'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import {
  assertTrackerNameDistinct, checkTrackerIdentity, createPeerKeyAndCsr, createSwarmCa, issuePeerCertificate, trackerNameConflicts, verifyPeerCertificate
} from '../../src/pki/certificate-profile.js'
import { BttlsError, TrackerNameConflictError } from '../../src/errors.js'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { TrackerDb } from '../../src/tracker/server/db.js'
import { TrackerServer } from '../../src/tracker/server/server.js'
import { TrackerConfigError } from '../../src/tracker/errors.js'
import { CertificateManager } from '../../src/tracker/client/certificate-manager.js'
import { issueServerCertificate } from '../../src/pki/server-certificate.js'
import { X509Certificate } from 'node:crypto'
import { tempDir } from '../helpers/session-pair.js'

const ca = await createSwarmCa('impersonation test CA')

t.test('trackerNameConflicts: equal names, case, a trailing dot, wildcards and "*" conflict; IP hosts and other names do not', async t => {
  t.ok(trackerNameConflicts('localhost', 'localhost'))
  t.ok(trackerNameConflicts('LocalHost', 'localhost'), 'host names compare without case')
  t.ok(trackerNameConflicts('localhost.', 'localhost'), 'a trailing dot names the same host')
  t.ok(trackerNameConflicts('tracker.example.com', '*.example.com'), 'a wildcard torrent name matches the host')
  t.ok(trackerNameConflicts('tracker.example.com', '*'), '"*" matches every host')
  t.notOk(trackerNameConflicts('tracker.example.com', 'example.com'))
  t.notOk(trackerNameConflicts('a.tracker.example.com', '*.example.com'), 'a wildcard covers one label only')
  t.notOk(trackerNameConflicts('127.0.0.1', '127.0.0.1'), 'peer certificates name no IP address')
  t.notOk(trackerNameConflicts('[::1]', '::1'))
  t.notOk(trackerNameConflicts('localhost', 'payload.bin'))
})

t.test('create: a Full Strict torrent whose tracker host matches its name is refused with a typed error', async t => {
  const dir = await tempDir(t)
  const file = join(dir, 'localhost')
  await writeFile(file, randomBytes(40_000))
  const err = await createTorrent(file, { version: 'v1', sslCert: ca.certPem, trackers: ['https://localhost:4433/announce'] }).then(() => undefined, (e: Error) => e)
  t.type(err, TrackerNameConflictError)
  t.type(err, BttlsError)
  t.equal(err?.name, 'TrackerNameConflictError')
  t.equal((err as TrackerNameConflictError).code, 'ERR_TRACKER_NAME_CONFLICT')
  t.match(err?.message, /"localhost".*passkeys/)
  await t.resolves(createTorrent(file, { version: 'v1', trackers: ['https://localhost:4433/announce'] }), 'a Basic torrent may name any tracker')
  await t.resolves(createTorrent(file, { version: 'v1', sslCert: ca.certPem, trackers: ['https://127.0.0.1:4433/announce'] }), 'another host is fine')
})

t.test('tracker: a torrent named like one of the tracker\'s host names is not served', async t => {
  const dir = await tempDir(t)
  const file = join(dir, 'localhost')
  await writeFile(file, randomBytes(40_000))
  const torrent = parseTorrent((await createTorrent(file, { version: 'v1', sslCert: ca.certPem })).bytes)
  const db = TrackerDb.open(join(dir, 'tracker.db'))
  t.teardown(() => db.close())
  const err = await TrackerServer.start({ db, ca, torrents: [torrent] }).then(s => { void s.close(); return undefined }, (e: Error) => e)
  t.type(err, TrackerConfigError)
  t.match(err?.message, /matches this tracker's host name "localhost"/)
})

t.test('client: no announce (so no passkey) to a tracker whose host matches the torrent\'s name', async t => {
  t.throws(() => new CertificateManager({
    trackerUrl: 'https://localhost:1/announce', passkey: 'a'.repeat(64), torrent: { name: 'localhost', infoHashV1: randomBytes(20) },
    caCertPem: ca.certPem, peerId: randomBytes(20), port: 6881
  }), TrackerNameConflictError)
  t.doesNotThrow(() => assertTrackerNameDistinct('https://tracker.example.org/announce', 'payload.bin'))
})

t.test('a member posing as the tracker with a peer certificate that names the tracker\'s host gets no passkey: it allows clientAuth', async t => {
  // The name rule keeps a torrent from being named like its own tracker; a peer certificate of another
  // torrent of the same CA that is named like the tracker's host (made by other software, or before
  // the rule) still passes the host-name check, and only the extKeyUsage check refuses it.
  const { keyPem, csrDer } = await createPeerKeyAndCsr('mallory')
  const other = await issuePeerCertificate({ ca, csrDer, torrent: { name: 'localhost', infoHashV1: randomBytes(20) }, lifetimeSeconds: 3600 })
  const passkeys: string[] = []
  const server = createServer({ cert: other.certPem, key: keyPem }, (req, res) => {
    passkeys.push(new URL(req.url ?? '/', 'https://x').searchParams.get('passkey') ?? '')
    res.end('d8:intervali60e5:peers0:e')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const manager = new CertificateManager({
    trackerUrl: `https://localhost:${(server.address() as AddressInfo).port}/announce`, passkey: 'b'.repeat(64),
    torrent: { name: 'payload.bin', infoHashV1: randomBytes(20) }, caCertPem: ca.certPem, peerId: randomBytes(20), port: 6881,
    announceOptions: { timeoutMs: 5000 }
  })
  t.teardown(() => manager.stop())
  const err = await manager.start().then(() => undefined, (e: Error) => e)
  t.ok(err, 'the announce fails')
  t.match(String(err?.message) + String((err?.cause as Error | undefined)?.message), /peer certificate/, 'because the certificate is a peer\'s')
  t.same(passkeys, [], 'the impostor never saw a request, so no passkey')
})

t.test('a tracker certificate (serverAuth only) is refused as a peer certificate', async t => {
  const tracker = await issueServerCertificate({ ca, names: ['tracker.example'] })
  const der = new X509Certificate(tracker.certPem).raw
  t.throws(() => verifyPeerCertificate({ certDer: der, caCertPem: ca.certPem, torrent: { name: 'tracker.example', infoHashV1: randomBytes(20) } }),
    { name: 'UntrustedCertificateError', message: /clientAuth/ })
  const trackerCert = new X509Certificate(tracker.certPem)
  t.equal(checkTrackerIdentity('tracker.example', { subject: { CN: 'tracker.example' }, subjectaltname: trackerCert.subjectAltName, ext_key_usage: trackerCert.keyUsage } as never), undefined,
    'while the tracker profile passes as the tracker')
})
