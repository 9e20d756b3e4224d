/**
 * Secure tracker (issue 6): issuance from a CSR, the issuance log, revocation and its publication,
 * peer lists limited to authenticated users, and every announce rejection, over real HTTPS on loopback.
 */
import { CERT_CLOCK_SKEW_S } from '../../src/protocol/constants.js'
import 'reflect-metadata'
import t, { type Test } from 'tap'
import { X509Certificate, generateKeyPairSync, webcrypto } from 'node:crypto'
import { request } from 'node:https'
import * as x509 from '@peculiar/x509'
import { createPeerKeyAndCsr, verifyPeerCertificate, createSwarmCa } from '../../src/pki/certificate-profile.js'
import { CertificateRevokedError } from '../../src/errors.js'
import { readBttlsFields, CSR_PARAM, MAX_CSR_BYTES } from '../../src/tracker/announce-keys.js'
import { type TrackerError } from '../../src/tracker/errors.js'
import { TrackerServer } from '../../src/tracker/server/server.js'
import { TrackerConfigError } from '../../src/tracker/errors.js'
import { MAX_PEER_CERT_LIFETIME_S } from '../../src/protocol/constants.js'
import { announceTo, fullStrictTorrent, peerId, trackerFixture } from '../helpers/tracker.js'

const csrParam = (der: Buffer): [string, string] => [CSR_PARAM, der.toString('base64url')]

async function rejected (t: Test, p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await t.rejects(p, { name: 'TrackerError', code, message })
}

t.test('a CSR with a valid passkey gets a certificate the profile accepts for this torrent, and a log row', async t => {
  const f = await trackerFixture(t, { lifetimeSeconds: 120 })
  const token = f.db.addUser('alice')
  const { csrDer } = await createPeerKeyAndCsr('whatever-the-peer-claims')
  const before = Math.floor(Date.now() / 1000)
  const r = await announceTo(f, { passkey: token, event: 'started', params: [csrParam(csrDer)] })
  const fields = readBttlsFields(r.dict)
  t.ok(fields.certificateDer, 'a certificate in the response')
  t.same(fields.revokedSerials, [], 'bttls revoked present and empty')
  const v = verifyPeerCertificate({ certDer: fields.certificateDer!, caCertPem: f.ca.certPem, torrent: f.metainfo })
  t.match(v.subject, /CN=alice/, 'the subject names the authenticated user, not the CSR\'s claim')
  const cert = new X509Certificate(fields.certificateDer!)
  t.equal(fields.certificateExpires, Math.floor(Date.parse(cert.validTo) / 1000), 'expires = notAfter')
  t.ok(fields.certificateExpires! - before >= 119 && fields.certificateExpires! - before <= 121, 'lifetime as configured')
  t.ok(v.notAfter.getTime() > Date.now())
  // The libtorrent binding (SAN DNS = name) holds too.
  verifyPeerCertificate({ certDer: fields.certificateDer!, caCertPem: f.ca.certPem, torrent: f.metainfo, binding: 'libtorrent' })

  const log = f.db.issuances()
  t.equal(log.length, 1)
  t.match(log[0], { user: 'alice', infoHash: f.metainfo.wireInfoHash.toString('hex'), serial: v.serial, notAfter: fields.certificateExpires, peerAddress: '127.0.0.1:6881' })
  t.ok(log[0]!.issuedAt >= before)
})

t.test('an announce without a CSR gets peers and the revoked list, no certificate; /announce/<token> works', async t => {
  const f = await trackerFixture(t)
  const token = f.db.addUser('bob')
  const r = await announceTo(f, { passkey: token, port: 7001 })
  const fields = readBttlsFields(r.dict)
  t.equal(fields.certificateDer, undefined)
  t.ok(r.dict.has('bttls revoked'), 'bttls revoked is always there')
  t.equal(r.interval, 600)
  const r2 = await announceTo(f, { port: 7002 }, `${f.server.announceUrl}/${token}`)
  t.same(r2.peers, [{ host: '127.0.0.1', port: 7001 }], 'the path passkey authenticates; the first peer is listed')
  t.equal(f.db.issuances().length, 0, 'nothing issued without a CSR')
})

t.test('the v2 form of a hybrid torrent\'s infohash reaches the same swarm', async t => {
  const f = await trackerFixture(t)
  const token = f.db.addUser('carol')
  await announceTo(f, { passkey: token, port: 7101 })
  const r = await announceTo(f, { passkey: token, port: 7102, infoHash: f.metainfo.infoHashV2!.subarray(0, 20) })
  t.same(r.peers, [{ host: '127.0.0.1', port: 7101 }])
})

t.test('revocation: the user can no longer announce or get certificates; its unexpired serials are published; its peers vanish', async t => {
  const f = await trackerFixture(t)
  const mallory = f.db.addUser('mallory')
  const alice = f.db.addUser('alice')
  const aliceId = peerId()
  const { csrDer } = await createPeerKeyAndCsr('m')
  const issued = readBttlsFields((await announceTo(f, { passkey: mallory, port: 7201, params: [csrParam(csrDer)] })).dict)
  const serial = new X509Certificate(issued.certificateDer!).serialNumber.toLowerCase().replace(/^0+(?=.)/, '')
  t.same((await announceTo(f, { passkey: alice, port: 7202, peerId: aliceId })).peers, [{ host: '127.0.0.1', port: 7201 }], 'mallory listed before revocation')

  f.db.revokeUser('mallory')
  const { csrDer: again } = await createPeerKeyAndCsr('m')
  await rejected(t, announceTo(f, { passkey: mallory, params: [csrParam(again)] }), 'ERR_TRACKER_REVOKED_USER', /user "mallory" has been revoked/)
  await rejected(t, announceTo(f, { passkey: mallory }), 'ERR_TRACKER_REVOKED_USER', /revoked/)
  t.equal(f.db.issuances('mallory').length, 1, 'nothing more issued')

  const r = await announceTo(f, { passkey: alice, port: 7202, peerId: aliceId })
  const revoked = readBttlsFields(r.dict).revokedSerials
  t.same(revoked, [serial], 'the revoked serial is published to other peers')
  t.same(r.peers, [], 'the revoked user\'s peer is no longer listed')
  t.same(f.db.revokedSerials(f.metainfo.infoHashV2!.toString('hex')), [serial], 'any form of the infohash finds it')
  t.throws(() => verifyPeerCertificate({ certDer: issued.certificateDer!, caCertPem: f.ca.certPem, torrent: f.metainfo, revokedSerials: new Set(revoked) }), CertificateRevokedError)
  // Verifiers accept a certificate until notAfter + CERT_CLOCK_SKEW_S, so the list keeps it that long.
  t.same(f.db.revokedSerials(f.metainfo.wireInfoHash.toString('hex'), issued.certificateExpires! + CERT_CLOCK_SKEW_S - 1), [serial], 'still listed while a verifier\'s skew allowance could accept it')
  t.same(f.db.revokedSerials(f.metainfo.wireInfoHash.toString('hex'), issued.certificateExpires! + CERT_CLOCK_SKEW_S + 1), [], 'expired serials are no longer listed')
})

t.test('every rejection case has its code and a clear failure reason', async t => {
  const f = await trackerFixture(t)
  const token = f.db.addUser('dave')
  const revokedToken = f.db.addUser('eve')
  f.db.revokeUser('eve')
  const { csrDer } = await createPeerKeyAndCsr('x')

  await rejected(t, announceTo(f, {}), 'ERR_TRACKER_MISSING_PASSKEY', /needs a passkey/)
  await rejected(t, announceTo(f, { passkey: 'f'.repeat(64) }), 'ERR_TRACKER_UNKNOWN_TOKEN', /unknown passkey/)
  await rejected(t, announceTo(f, { passkey: 'not-even-hex' }), 'ERR_TRACKER_UNKNOWN_TOKEN', /unknown passkey/)
  await rejected(t, announceTo(f, { passkey: revokedToken, params: [csrParam(csrDer)] }), 'ERR_TRACKER_REVOKED_USER', /revoked/)
  await rejected(t, announceTo(f, { passkey: token, infoHash: Buffer.alloc(20, 7) }), 'ERR_TRACKER_UNKNOWN_TORRENT', /serves no torrent with infohash 0707/)

  // Malformed CSRs: not base64url, not DER, a bad self-signature.
  await rejected(t, announceTo(f, { passkey: token, params: [[CSR_PARAM, 'not base64!']] }), 'ERR_TRACKER_BAD_CSR', /not base64url/)
  await rejected(t, announceTo(f, { passkey: token, params: [[CSR_PARAM, Buffer.from('hello').toString('base64url')]] }), 'ERR_TRACKER_BAD_CSR', /not a DER PKCS#10/)
  const tampered = Buffer.from(csrDer)
  tampered[tampered.length - 5] = tampered[tampered.length - 5]! ^ 0x01
  await rejected(t, announceTo(f, { passkey: token, params: [csrParam(tampered)] }), 'ERR_TRACKER_BAD_CSR', /self-signature does not verify/)

  // Wrong key types: P-384 and RSA.
  for (const alg of [
    { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' },
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 }
  ]) {
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=x', keys, signingAlgorithm: alg })
    await rejected(t, announceTo(f, { passkey: token, params: [csrParam(Buffer.from(csr.rawData))] }), 'ERR_TRACKER_BAD_KEY', /must be ECDSA P-256, not (secp384r1|rsa)/)
  }

  // Oversized: a CSR over 4 KiB is refused before it is parsed.
  await rejected(t, announceTo(f, { passkey: token, params: [csrParam(Buffer.alloc(MAX_CSR_BYTES + 1, 0x30))] }), 'ERR_TRACKER_OVERSIZED', /larger than 4096 bytes/)
  // And a request line too long for any announce.
  await rejected(t, announceTo(f, { passkey: token, params: [['pad', 'x'.repeat(9000)]] }), 'ERR_TRACKER_OVERSIZED', /longer than 8192/)

  // Malformed announces.
  await rejected(t, announceTo(f, { passkey: token, port: 0 }), 'ERR_TRACKER_BAD_REQUEST', /port must be/)
  await rejected(t, announceTo(f, { passkey: token, params: [['event', 'exploded']] }), 'ERR_TRACKER_BAD_REQUEST', /"event" is given more than once|unknown event/)
  await rejected(t, announceTo(f, { passkey: token, params: [['passkey', 'a'.repeat(64)]] }), 'ERR_TRACKER_BAD_REQUEST', /"passkey" is given more than once/)
  t.equal(f.db.issuances().length, 0, 'nothing was issued')

  // The path token and the query token must agree.
  await rejected(t, announceTo(f, { passkey: token }, `${f.server.announceUrl}/${'a'.repeat(64)}`), 'ERR_TRACKER_BAD_REQUEST', /two different passkeys/)
})

t.test('failures are HTTP 200 with a bencoded failure reason (BEP 3), other paths 404', async t => {
  const f = await trackerFixture(t)
  const get = (path: string) => new Promise<{ status: number, body: string }>((resolve, reject) => {
    request({ host: '127.0.0.1', port: f.server.port, path, ca: f.ca.certPem, agent: false }, res => {
      const chunks: Buffer[] = []
      res.on('data', c => chunks.push(c)).on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('latin1') }))
    }).on('error', reject).end()
  })
  const r = await get('/announce?info_hash=x')
  t.equal(r.status, 200)
  t.match(r.body, /^d18:bttls failure code23:ERR_TRACKER_BAD_REQUEST14:failure reason/)
  t.equal((await get('/scrape')).status, 404)
})

t.test('HTTPS: the tracker\'s certificate verifies against the swarm CA only; a client trusting another CA refuses it', async t => {
  const f = await trackerFixture(t)
  const token = f.db.addUser('frank')
  const other = await createSwarmCa('another CA')
  const attempt = announceTo(f, { passkey: token })
  await t.resolves(attempt, 'verifies against the torrent\'s CA, by IP SAN')
  await t.resolves(announceTo(f, { passkey: token }, f.server.announceUrl.replace('127.0.0.1', 'localhost')), 'and by DNS SAN (SNI localhost)')
  const { announce } = await import('../../src/tracker/client/client.js')
  const refused = announce(f.server.announceUrl, { infoHash: f.metainfo.wireInfoHash, peerId: peerId(), port: 1, passkey: token }, { ca: other.certPem })
  await t.rejects(refused, { name: 'TrackerError', code: 'ERR_TRACKER_UNREACHABLE' })
  const err = await refused.then(() => undefined, (e: unknown) => e as TrackerError)
  t.match(String((err?.cause as { code?: string }).code), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/, 'the TLS verification failed')
  // Without a CA option the system roots do not know the swarm CA either.
  await t.rejects(announce(f.server.announceUrl, { infoHash: f.metainfo.wireInfoHash, peerId: peerId(), port: 1, passkey: token }), { code: 'ERR_TRACKER_UNREACHABLE' })
})

t.test('configuration: lifetime bounds, torrents of another CA, a CA key that does not match', async t => {
  const f = await trackerFixture(t)
  await t.rejects(TrackerServer.start({ db: f.db, ca: f.ca, lifetimeSeconds: MAX_PEER_CERT_LIFETIME_S + 1 }), TrackerConfigError)
  await t.rejects(TrackerServer.start({ db: f.db, ca: f.ca, lifetimeSeconds: 0 }), TrackerConfigError)
  const other = await createSwarmCa('other')
  const { metainfo } = await fullStrictTorrent(f.dir, other)
  t.throws(() => f.server.registerTorrent(metainfo), { name: 'TrackerConfigError', message: /another swarm CA/ })
  t.throws(() => f.server.registerTorrent({ ...metainfo, sslCert: undefined }), { name: 'TrackerConfigError', message: /not a Full Strict torrent/ })
  await t.rejects(TrackerServer.start({ db: f.db, ca: { certPem: f.ca.certPem, keyPem: other.keyPem } }), { name: 'TrackerConfigError', message: /does not belong/ })
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  await t.rejects(TrackerServer.start({ db: f.db, ca: { certPem: f.ca.certPem, keyPem: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string } }), TrackerConfigError)
})

t.test('a lifetime of 7 days is the longest; the CA cannot be outlived', async t => {
  const f = await trackerFixture(t, { lifetimeSeconds: MAX_PEER_CERT_LIFETIME_S })
  const token = f.db.addUser('gina')
  const { csrDer } = await createPeerKeyAndCsr('g')
  const fields = readBttlsFields((await announceTo(f, { passkey: token, params: [csrParam(csrDer)] })).dict)
  t.ok(Math.abs(fields.certificateExpires! - Date.now() / 1000 - MAX_PEER_CERT_LIFETIME_S) < 5)
  verifyPeerCertificate({ certDer: fields.certificateDer!, caCertPem: f.ca.certPem, torrent: f.metainfo })
})

t.test('certificates never outlive the CA; an expired CA issues nothing', async t => {
  const f = await trackerFixture(t)
  const token = f.db.addUser('hal')
  const shortCa = await createSwarmCa('short-lived CA', 30 / 86400)
  const { metainfo } = await fullStrictTorrent(f.dir, shortCa)
  const tracker = await TrackerServer.start({ db: f.db, ca: shortCa, torrents: [metainfo], lifetimeSeconds: 3600 })
  t.teardown(() => tracker.close())
  const { csrDer } = await createPeerKeyAndCsr('h')
  const { announce } = await import('../../src/tracker/client/client.js')
  const r = await announce(tracker.announceUrl, { infoHash: metainfo.wireInfoHash, peerId: peerId(), port: 1, passkey: token, params: [csrParam(csrDer)] }, { ca: shortCa.certPem })
  const expires = readBttlsFields(r.dict).certificateExpires!
  t.ok(expires <= Math.floor(Date.parse(new X509Certificate(shortCa.certPem).validTo) / 1000), 'clamped to the CA\'s end')

  const expiredCa = await createSwarmCa('expired CA', 1 / 86400)
  const { metainfo: m2 } = await fullStrictTorrent(f.dir, expiredCa)
  const t2 = await TrackerServer.start({ db: f.db, ca: expiredCa, torrents: [m2] })
  t.teardown(() => t2.close())
  await new Promise(resolve => setTimeout(resolve, 1500))
  const { csrDer: csr2 } = await createPeerKeyAndCsr('h')
  const req = { infoHash: m2.wireInfoHash, peerId: peerId(), port: 1, passkey: token, params: [csrParam(csr2)] }
  const refused = announce(t2.announceUrl, req, { ca: expiredCa.certPem })
  await t.rejects(refused, { code: 'ERR_TRACKER_UNREACHABLE', message: /certificate has expired/ }, 'a client refuses a tracker whose CA expired')
  // A client that ignored that would still get nothing issued.
  const { encodeQuery } = await import('../../src/codec/query-string.js')
  const { parseResponse } = await import('../../src/tracker/client/client.js')
  const path = `/announce?${encodeQuery([['info_hash', req.infoHash], ['peer_id', req.peerId], ['port', 1], ['passkey', token], req.params[0]!])}`
  const body = await new Promise<Buffer>((resolve, reject) => {
    request({ host: '127.0.0.1', port: t2.port, path, rejectUnauthorized: false, agent: false }, res => {
      const chunks: Buffer[] = []
      res.on('data', c => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks)))
    }).on('error', reject).end()
  })
  t.throws(() => parseResponse(body), { name: 'TrackerError', code: 'ERR_TRACKER_CANNOT_ISSUE', message: /the swarm CA has expired/ })
})
