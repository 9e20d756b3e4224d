/**
 * Full Strict level (issue 6): certificates issued for the torrent by the swarm CA it carries, exchanged
 * inside the tunnel and bound to the exporter. Every rejection case from the issue, on both sides.
 */
import type { PeerLink } from '../../src/wire/peer-link.js'
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { createPeerKeyAndCsr, createSwarmCa, issuePeerCertificate, type PemPair, type TorrentBinding } from '../../src/pki/certificate-profile.js'
import { staticCertificateSource, type CertificateSource } from '../../src/levels/full-strict/certificate-source.js'
import type { Metainfo } from '../../src/torrent/metainfo.js'
import type { Session } from '../../src/session/session.js'
import type { Refusal } from '../../src/wire/listener.js'
import { completed, fileSha256, randomFile, session, tempDir } from '../helpers/session-pair.js'

async function peerCredential (ca: PemPair, torrent: TorrentBinding, options: { lifetimeSeconds?: number, now?: Date, name?: string } = {}) {
  const { keyPem, csrDer } = await createPeerKeyAndCsr(options.name ?? 'peer')
  const issued = await issuePeerCertificate({ ca, csrDer, torrent, lifetimeSeconds: options.lifetimeSeconds ?? 3600, now: options.now })
  return { certPem: issued.certPem, keyPem, serial: issued.serial }
}

async function fixture (t: Test) {
  const dir = await tempDir(t)
  const ca = await createSwarmCa('swarm CA')
  const sum = await randomFile(join(dir, 'seed'), 'fs.bin', 300_000)
  const { bytes } = await createTorrent(join(dir, 'seed', 'fs.bin'), { version: 'hybrid', pieceLength: 32 * 1024, sslCert: ca.certPem })
  const metainfo = parseTorrent(bytes)
  return { dir, ca, sum, metainfo, binding: metainfo as TorrentBinding }
}

async function seeder (t: Test, metainfo: Metainfo, dir: string, certificates: CertificateSource, libtorrentCompat = false): Promise<Session> {
  const s = await session(t, { policy: 'prefer-tls', libtorrentCompat })
  await s.addTorrent(metainfo, join(dir, 'seed'), { certificates })
  return s
}

const nextRefusal = (s: Session) => new Promise<Refusal>(resolve => s.once('refused', resolve))

t.test('two certificate holders transfer at level full-strict; the torrent is TLS-only', async t => {
  const { dir, ca, sum, metainfo, binding } = await fixture(t)
  t.ok(metainfo.sslCert, 'the CA is in info["ssl-cert"]')
  const seed = await seeder(t, metainfo, dir, staticCertificateSource(await peerCredential(ca, binding, { name: 'seed' })))
  const leecher = await session(t)
  const h = await leecher.addTorrent(metainfo, join(dir, 'out'), { certificates: staticCertificateSource(await peerCredential(ca, binding, { name: 'leech' })) })
  const link = await leecher.connect(h, '127.0.0.1', seed.port)
  t.equal(link?.tls?.level, 'full-strict')
  await completed(h.swarm)
  t.equal(await fileSha256(join(dir, 'out', 'fs.bin')), sum)
})

const cases: Array<[string, (f: Awaited<ReturnType<typeof fixture>>) => Promise<CertificateSource>, string]> = [
  ['no certificate', async () => staticCertificateSource(undefined), 'CertificateRequiredError'],
  ['expired', async f => staticCertificateSource(await peerCredential(f.ca, f.binding, { lifetimeSeconds: 60, now: new Date(Date.now() - 3600_000) })), 'CertificateExpiredError'],
  ['not yet valid', async f => staticCertificateSource(await peerCredential(f.ca, f.binding, { now: new Date(Date.now() + 3600_000) })), 'CertificateNotYetValidError'],
  ['issued for another torrent', async f => staticCertificateSource(await peerCredential(f.ca, { name: 'other', infoHashV1: randomBytes(20) })), 'WrongTorrentCertificateError'],
  ['issued by another CA', async f => staticCertificateSource(await peerCredential(await createSwarmCa('rogue'), f.binding)), 'UntrustedCertificateError']
]

for (const [label, make, expected] of cases) {
  t.test(`a leecher whose certificate is ${label} is refused by the seeder with ${expected}, and never sees the seeder's certificate`, async t => {
    const f = await fixture(t)
    const seed = await seeder(t, f.metainfo, f.dir, staticCertificateSource(await peerCredential(f.ca, f.binding)))
    const leecher = await session(t)
    const failures: string[] = []
    leecher.on('dial-failed', d => failures.push(d.error.attempts.map(a => a.error.name).join()))
    const h = await leecher.addTorrent(f.metainfo, join(f.dir, 'out'), { certificates: await make(f) })
    const refused = nextRefusal(seed)
    t.equal(await leecher.connect(h, '127.0.0.1', seed.port), undefined)
    if (expected === 'CertificateRequiredError') {
      t.same(failures, ['CertificateRequiredError'], 'without a certificate the leecher does not even finish its AuthHello')
      seed.removeAllListeners('refused')
    } else {
      t.equal((await refused).error.name, expected)
      t.same(failures, ['DecoyAnswerError'], 'the leecher gets the decoy web site\'s answer, never an AuthReply')
    }
  })
}

t.test('revoked: a certificate whose serial the authority revoked is refused', async t => {
  const f = await fixture(t)
  const bad = await peerCredential(f.ca, f.binding, { name: 'revoked-user' })
  const seed = await seeder(t, f.metainfo, f.dir, staticCertificateSource(await peerCredential(f.ca, f.binding), new Set([bad.serial])))
  const leecher = await session(t)
  const h = await leecher.addTorrent(f.metainfo, join(f.dir, 'out'), { certificates: staticCertificateSource(bad) })
  const refused = nextRefusal(seed)
  t.equal(await leecher.connect(h, '127.0.0.1', seed.port), undefined)
  t.equal((await refused).error.name, 'CertificateRevokedError')
})

t.test('the leecher checks the seeder too: a seeder with a revoked certificate is refused by the leecher', async t => {
  const f = await fixture(t)
  const seedCred = await peerCredential(f.ca, f.binding, { name: 'seed' })
  const seed = await seeder(t, f.metainfo, f.dir, staticCertificateSource(seedCred))
  const leecher = await session(t)
  const errors: string[] = []
  leecher.on('dial-failed', d => errors.push(d.error.attempts[0]!.error.name))
  const h = await leecher.addTorrent(f.metainfo, join(f.dir, 'out'), { certificates: staticCertificateSource(await peerCredential(f.ca, f.binding), new Set([seedCred.serial])) })
  t.equal(await leecher.connect(h, '127.0.0.1', seed.port), undefined)
  t.same(errors, ['CertificateRevokedError'])
})

t.test('libtorrent profile is off unless enabled: an SNI naming the infohash gets the web certificate, never the swarm\'s', async t => {
  const f = await fixture(t)
  const seed = await seeder(t, f.metainfo, f.dir, staticCertificateSource(await peerCredential(f.ca, f.binding, { name: 'seed' })))
  const leecher = await session(t)
  const h = await leecher.addTorrent(f.metainfo, join(f.dir, 'out'), { certificates: staticCertificateSource(await peerCredential(f.ca, f.binding)) })
  const refused = nextRefusal(seed)
  t.equal(await leecher.connect(h, '127.0.0.1', seed.port, undefined, { libtorrentProfile: 'libtorrent' }), undefined)
  // Any SNI completes the handshake as on a web server, with the ordinary certificate: the libtorrent
  // client finds it is not from the swarm CA and gives up inside the TLS handshake.
  const r = await refused
  t.equal(r.error.name, 'TlsHandshakeError', 'the prober learns nothing and gets no swarm certificate')
})

t.test('libtorrent SSL-torrent profile on the same port: SNI = infohash, mutual certificates, plain BT inside', async t => {
  const f = await fixture(t)
  const seed = await seeder(t, f.metainfo, f.dir, staticCertificateSource(await peerCredential(f.ca, f.binding, { name: 'seed' })), true)
  const leecher = await session(t)
  const h = await leecher.addTorrent(f.metainfo, join(f.dir, 'out'), { certificates: staticCertificateSource(await peerCredential(f.ca, f.binding, { name: 'leech' })) })
  const inbound = new Promise<PeerLink>(resolve => seed.once('link', resolve))
  const link = await leecher.connect(h, '127.0.0.1', seed.port, undefined, { libtorrentProfile: 'libtorrent' })
  t.equal(link?.tls?.profile, 'libtorrent')
  t.equal((await inbound).tls?.profile, 'libtorrent', 'the responder chose the profile from the SNI')
  t.same(link!.infoHash, f.metainfo.infoHashV1, 'libtorrent\'s BT handshake carries the v1 infohash')
  await completed(h.swarm)
  t.equal(await fileSha256(join(f.dir, 'out', 'fs.bin')), f.sum)
})

t.test('libtorrent profile: a peer certificate for another torrent name is refused', async t => {
  const f = await fixture(t)
  const seed = await seeder(t, f.metainfo, f.dir, staticCertificateSource(await peerCredential(f.ca, f.binding)), true)
  const leecher = await session(t)
  const h = await leecher.addTorrent(f.metainfo, join(f.dir, 'out'), { certificates: staticCertificateSource(await peerCredential(f.ca, { name: 'other.bin', infoHashV1: randomBytes(20) })) })
  const refused = nextRefusal(seed)
  // In TLS 1.3 the client's handshake ends before the server has judged the client certificate, so the
  // initiator may hold a link for a moment: the responder closes it before any BitTorrent byte.
  const link = await leecher.connect(h, '127.0.0.1', seed.port, undefined, { libtorrentProfile: 'libtorrent' })
  t.equal((await refused).error.name, 'WrongTorrentCertificateError')
  if (link) await t.rejects(link.remoteHandshake, 'no BitTorrent handshake ever comes from the responder')
  t.equal(h.swarm.stats().piecesDone, 0)
})

t.test('a valid certificate whose signature covers another connection is refused with CertificateProofError', async t => {
  const f = await fixture(t)
  const seed = await seeder(t, f.metainfo, f.dir, staticCertificateSource(await peerCredential(f.ca, f.binding, { name: 'seed' })))
  const { fullStrictLevel } = await import('../../src/levels/full-strict/full-strict.js')
  const { secureOutbound } = await import('../../src/handshake/secure-outbound.js')
  const net = await import('node:net')
  const honest = fullStrictLevel([f.metainfo.infoHashV2!, f.metainfo.infoHashV1!], { ...f.binding, caCertPem: f.ca.certPem },
    staticCertificateSource(await peerCredential(f.ca, f.binding, { name: 'replayer' })))
  // The certificate is genuine; the signature is over another exporter (as if relayed from elsewhere).
  const replaying = { ...honest, authPayload: (role: 'initiator' | 'responder', header: Uint8Array) => honest.authPayload(role, header, randomBytes(32)) }
  const refused = nextRefusal(seed)
  const raw = net.connect(seed.port, '127.0.0.1')
  await new Promise(resolve => raw.once('connect', resolve))
  const err = await secureOutbound(raw, replaying).then(() => null, (e: Error) => e)
  t.equal((await refused).error.name, 'CertificateProofError', 'responder: the signature does not cover this exporter')
  t.equal(err?.name, 'DecoyAnswerError', 'initiator: a web answer, never an AuthReply')
})
