/**
 * Full Strict from a magnet link (issue 16, BEP: "Full Strict magnet links"): the link names its CA
 * by hash (x.bttls.ca) and its secure tracker (tr); the CA certificate comes from the tracker's TLS
 * handshake, the peer certificate from an announce with the passkey, and the metadata only from peers
 * whose certificates verify against that CA. Real tracker, real sessions, real TLS, on loopback.
 */
import t, { type Test } from 'tap'
import { once } from 'node:events'
import { createServer as createTcpServer, type AddressInfo } from 'node:net'
import { createServer as createTlsServer } from 'node:tls'
import { join } from 'node:path'
import { caFingerprint, createPeerKeyAndCsr, createSwarmCa, issuePeerCertificate, type PemPair, type TorrentBinding } from '../../src/pki/certificate-profile.js'
import { issueServerCertificate } from '../../src/pki/server-certificate.js'
import { CertificateManager } from '../../src/tracker/client/certificate-manager.js'
import { fetchSwarmCa } from '../../src/tracker/client/swarm-ca.js'
import { magnetUri, parseMagnet } from '../../src/torrent/magnet.js'
import { staticCertificateSource, type CertificateSource } from '../../src/levels/full-strict/certificate-source.js'
import { levelFor } from '../../src/session/torrent-level.js'
import { TrackerNameConflictError } from '../../src/errors.js'
import type { MagnetLink } from '../../src/torrent/metainfo.js'
import type { Session, TorrentHandle } from '../../src/session/session.js'
import { completed, fileSha256, session } from '../helpers/session-pair.js'
import { runCli } from '../helpers/cli.js'
import { peerId, trackerFixture, type TrackerFixture } from '../helpers/tracker.js'

/** The magnet link a tracker's site would give a user: the torrent's link with the secure tracker's URL. */
function linkOf (f: TrackerFixture): MagnetLink {
  return parseMagnet(magnetUri({ ...f.metainfo, trackers: [f.server.announceUrl] }))
}

function bindingOf (m: MagnetLink): TorrentBinding {
  return { name: m.name ?? '', infoHashV1: m.infoHashV1, infoHashV2: m.infoHashV2 }
}

/** A seed that got its certificate from the tracker, as any Full Strict peer does. */
async function seed (t: Test, f: TrackerFixture): Promise<{ session: Session, handle: TorrentHandle }> {
  const s = await session(t, { pex: false })
  const manager = new CertificateManager({
    trackerUrl: f.server.announceUrl, passkey: f.db.addUser(`seed-${s.port}`), torrent: f.metainfo, caCertPem: f.ca.certPem, peerId: peerId(), port: s.port
  })
  t.teardown(() => manager.stop())
  await manager.start()
  return { session: s, handle: await s.addTorrent(f.metainfo, f.dataDir, { certificates: manager }) }
}

/** A certificate for the torrent from any CA, as a static source. */
async function certificateFrom (ca: PemPair, torrent: TorrentBinding): Promise<CertificateSource> {
  const { keyPem, csrDer } = await createPeerKeyAndCsr('peer')
  const { certPem } = await issuePeerCertificate({ ca, csrDer, torrent, lifetimeSeconds: 3600 })
  return staticCertificateSource({ certPem, keyPem })
}

t.test('a magnet link of a Full Strict torrent carries x.bttls=full-strict, the CA hash and the secure tracker', async t => {
  const f = await trackerFixture(t)
  const uri = magnetUri({ ...f.metainfo, trackers: [f.server.announceUrl] })
  t.match(uri, `&x.bttls=full-strict&x.bttls.ca=${caFingerprint(f.ca.certPem).toString('hex')}`)
  const link = parseMagnet(uri)
  t.same(link.caFingerprint, caFingerprint(f.ca.certPem))
  t.same(link.trackers, [f.server.announceUrl])
  t.equal(magnetUri(link), uri, 'a parsed link writes back the same')
})

t.test('the tracker presents the swarm CA after its own certificate; fetchSwarmCa takes it by its hash alone', async t => {
  const f = await trackerFixture(t)
  const requests: unknown[] = []
  f.server.on('announce', e => requests.push(e))
  f.server.on('rejected', e => requests.push(e))
  const pem = await fetchSwarmCa(f.server.announceUrl, caFingerprint(f.ca.certPem))
  t.same(caFingerprint(pem), caFingerprint(f.ca.certPem), 'the CA the link names')
  t.same(requests, [], 'no request went to the tracker: nothing, no passkey, is sent before the CA is known')
})

t.test('fetchSwarmCa: a CA the tracker does not present, a hash of a certificate that is no CA, no CA in the chain, bad URLs, silence', async t => {
  const f = await trackerFixture(t)
  const other = await createSwarmCa('another CA')
  await t.rejects(fetchSwarmCa(f.server.announceUrl, caFingerprint(other.certPem)), { name: 'TrackerError', code: 'ERR_TRACKER_NO_SWARM_CA', message: /none with the link's x\.bttls\.ca/ })

  // A server that presents only its own certificate (no CA after it), like a tracker that ignores the rule.
  const own = await issueServerCertificate({ ca: f.ca, names: ['127.0.0.1'] })
  const leafOnly = createTlsServer({ cert: own.certPem, key: own.keyPem })
  await new Promise<void>(resolve => leafOnly.listen(0, '127.0.0.1', resolve))
  t.teardown(() => leafOnly.close())
  const leafOnlyUrl = `https://127.0.0.1:${(leafOnly.address() as AddressInfo).port}/announce`
  await t.rejects(fetchSwarmCa(leafOnlyUrl, caFingerprint(f.ca.certPem)), { name: 'TrackerError', code: 'ERR_TRACKER_NO_SWARM_CA' })
  // The hash of the tracker's own certificate names a certificate it presents, but not a CA.
  await t.rejects(fetchSwarmCa(leafOnlyUrl, caFingerprint(own.certPem)), { name: 'TrackerError', code: 'ERR_TRACKER_NO_SWARM_CA', message: /not a self-signed CA/ })

  await t.rejects(fetchSwarmCa('http://127.0.0.1:1/announce', caFingerprint(f.ca.certPem)), { name: 'TrackerError', code: 'ERR_TRACKER_UNREACHABLE', message: /https/ })
  const closed = createTcpServer()
  await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve))
  const closedPort = (closed.address() as AddressInfo).port
  await new Promise(resolve => closed.close(resolve))
  await t.rejects(fetchSwarmCa(`https://127.0.0.1:${closedPort}/announce`, caFingerprint(f.ca.certPem)), { name: 'TrackerError', code: 'ERR_TRACKER_UNREACHABLE' })
  // A server that answers the ClientHello with garbage and hangs up.
  const garbage = createTcpServer(socket => { socket.end(Buffer.from('HTTP/1.0 400 Bad Request\r\n\r\n')) })
  await new Promise<void>(resolve => garbage.listen(0, '127.0.0.1', resolve))
  t.teardown(() => garbage.close())
  await t.rejects(fetchSwarmCa(`https://127.0.0.1:${(garbage.address() as AddressInfo).port}/announce`, caFingerprint(f.ca.certPem)), { name: 'TrackerError', code: 'ERR_TRACKER_UNREACHABLE' })
  // A server that accepts and never answers: bounded in time.
  const silent = createTcpServer(() => {})
  await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => silent.close())
  const started = Date.now()
  await t.rejects(fetchSwarmCa(`https://127.0.0.1:${(silent.address() as AddressInfo).port}/announce`, caFingerprint(f.ca.certPem), { timeoutMs: 300 }),
    { name: 'TrackerError', code: 'ERR_TRACKER_UNREACHABLE', message: /no TLS handshake within 300 ms/ })
  t.ok(Date.now() - started < 5000, 'gave up after its bound')
})

t.test('a Full Strict level from a link needs the CA the link names', async t => {
  const f = await trackerFixture(t)
  const link = linkOf(f)
  t.throws(() => levelFor(link), { name: 'MissingCredentialError', code: 'ERR_MISSING_CREDENTIAL' })
  const other = await createSwarmCa('another CA')
  t.throws(() => levelFor(link, { swarmCa: other.certPem }), { name: 'UntrustedCertificateError', code: 'ERR_UNTRUSTED_CERTIFICATE' })
  const fromLink = levelFor(link, { swarmCa: f.ca.certPem })
  const fromTorrent = levelFor(f.metainfo)
  t.equal(fromLink.name, 'full-strict')
  t.same(fromLink.swarmKeys.map(k => Buffer.from(k.key)), fromTorrent.swarmKeys.map(k => Buffer.from(k.key)), 'the link gives the swarm keys of the .torrent')
})

t.test('from the link alone: the CA from the tracker, a certificate by passkey, the metadata and the data from the seed', async t => {
  const f = await trackerFixture(t)
  const { session: seedSession } = await seed(t, f)
  const link = linkOf(f)
  const leecher = await session(t, { pex: false })
  const swarmCa = await fetchSwarmCa(link.trackers[0]!, link.caFingerprint!)
  const manager = new CertificateManager({
    trackerUrl: link.trackers[0]!, passkey: f.db.addUser('alice'), torrent: bindingOf(link), caCertPem: swarmCa, peerId: peerId(), port: leecher.port
  })
  t.teardown(() => manager.stop())
  await manager.start()
  t.same(manager.peers(), [{ host: '127.0.0.1', port: seedSession.port }], 'the tracker lists the seed')
  const handle = leecher.addMagnet(link, join(f.dir, 'alice'), { certificates: manager, swarmCa })
  const levels: string[] = []
  leecher.on('link', l => levels.push(String(l.tls?.level)))
  leecher.addPeers(handle, manager.peers().map(p => ({ ...p, source: 'tracker' as const })))
  await completed(handle.swarm)
  t.same(levels, ['full-strict'], 'one link, at level full-strict')
  t.equal(handle.swarm.metainfo?.sslCert, f.metainfo.sslCert, 'the metadata names the CA the link named')
  t.equal(await fileSha256(join(f.dir, 'alice', f.metainfo.name)), await fileSha256(join(f.dataDir, f.metainfo.name)))
})

t.test('the libtorrent profile serves a torrent joined by a Full Strict link only once its metadata has arrived', async t => {
  const f = await trackerFixture(t)
  const { session: seedSession, handle: seedHandle } = await seed(t, f)
  const link = linkOf(f)
  const leecher = await session(t, { pex: false, libtorrentCompat: true })
  const swarmCa = await fetchSwarmCa(link.trackers[0]!, link.caFingerprint!)
  const manager = new CertificateManager({
    trackerUrl: link.trackers[0]!, passkey: f.db.addUser('erin'), torrent: bindingOf(link), caCertPem: swarmCa, peerId: peerId(), port: leecher.port
  })
  t.teardown(() => manager.stop())
  await manager.start()
  const handle = leecher.addMagnet(link, join(f.dir, 'erin'), { certificates: manager, swarmCa })
  t.equal(handle.libtorrentSsl, undefined, 'no libtorrent profile before the metadata (its name rule needs the name)')
  const refused = once(leecher, 'refused')
  t.equal(await seedSession.connect(seedHandle, '127.0.0.1', leecher.port, undefined, { libtorrentProfile: 'libtorrent' }), undefined,
    'a libtorrent-profile connection to the leecher fails')
  // No torrent of the leecher's speaks the profile yet: the ClientHello with SNI finds no responder.
  t.match(((await refused)[0] as { error: Error }).error, { name: 'TlsHandshakeError' }, 'the leecher refused it')

  await leecher.connect(handle, '127.0.0.1', seedSession.port)
  await completed(handle.swarm)
  t.equal(handle.libtorrentSsl?.caCertPem, f.metainfo.sslCert, 'after the metadata: the profile, with the CA of the info dict')
  t.equal(handle.libtorrentSsl?.binding.name, f.metainfo.name)
  const lt = await seedSession.connect(seedHandle, '127.0.0.1', leecher.port, undefined, { libtorrentProfile: 'libtorrent' })
  t.equal(lt?.tls?.profile, 'libtorrent', 'now a libtorrent-profile connection reaches it, both certificates passing the name rule')
  t.equal(lt?.tls?.level, 'full-strict')
})

t.test('metadata only from authorised peers: a peer with the swarm key but a certificate of another CA gets no connection', async t => {
  const f = await trackerFixture(t)
  const link = linkOf(f)
  // The intruder holds the .torrent (so the swarm key) and a certificate for it from a CA of its own.
  const rogueCa = await createSwarmCa('rogue CA')
  const intruder = await session(t, { pex: false })
  const intruderHandle = await intruder.addTorrent(f.metainfo, f.dataDir, { certificates: await certificateFrom(rogueCa, f.metainfo) })
  const leecher = await session(t, { pex: false })
  const handle = leecher.addMagnet(link, join(f.dir, 'bob'), { certificates: await certificateFrom(f.ca, bindingOf(link)), swarmCa: await fetchSwarmCa(link.trackers[0]!, link.caFingerprint!) })
  const failures: string[] = []
  leecher.on('dial-failed', d => failures.push(...d.error.attempts.map(a => a.error.name)))
  t.equal(await leecher.connect(handle, '127.0.0.1', intruder.port), undefined, 'the leecher does not connect to the intruder')
  t.ok(failures.includes('UntrustedCertificateError'), `the intruder's certificate is refused (${failures.join()})`)
  const refused = once(leecher, 'refused')
  t.equal(await intruder.connect(intruderHandle, '127.0.0.1', leecher.port), undefined, 'nor the intruder to the leecher')
  t.equal(((await refused)[0] as { error: Error }).error.name, 'UntrustedCertificateError', 'the leecher, as responder, refused its certificate')
  t.equal(handle.swarm.metainfo, undefined, 'no metadata')

  const { session: seedSession } = await seed(t, f)
  await leecher.connect(handle, '127.0.0.1', seedSession.port)
  await completed(handle.swarm)
  t.pass('the same leecher completes from an authorised seed')
})

t.test('a link naming another CA: peers of that CA may serve the real metadata, which is refused for its ssl-cert', async t => {
  const f = await trackerFixture(t)
  const otherCa = await createSwarmCa('the link\'s CA')
  const link = parseMagnet(magnetUri({ ...f.metainfo, sslCert: otherCa.certPem, trackers: [f.server.announceUrl] }))
  // A swarm of the other CA for the same infohash: its seed holds the real data and serves the real info dict.
  const evil = await session(t, { pex: false })
  await evil.addTorrent({ ...f.metainfo, sslCert: otherCa.certPem }, f.dataDir, { certificates: await certificateFrom(otherCa, f.metainfo) })
  const leecher = await session(t, { pex: false })
  const handle = leecher.addMagnet(link, join(f.dir, 'carol'), { certificates: await certificateFrom(otherCa, bindingOf(link)), swarmCa: otherCa.certPem })
  const rejected = once(handle.swarm, 'metadata-rejected')
  await leecher.connect(handle, '127.0.0.1', evil.port)
  const [, err] = await rejected as [unknown, Error]
  t.equal(err.name, 'MetadataMismatchError')
  t.match(err.message, /x\.bttls\.ca/)
  t.equal(handle.swarm.metainfo, undefined, 'the metadata was not taken')
})

t.test('once the metadata names the torrent, a certificate source that refuses the name stops the download', async t => {
  const f = await trackerFixture(t)
  const { session: seedSession } = await seed(t, f)
  const link = linkOf(f)
  const leecher = await session(t, { pex: false })
  const inner = await certificateFrom(f.ca, bindingOf(link))
  const named: string[] = []
  const certificates: CertificateSource = {
    current: () => inner.current(),
    revokedSerials: () => inner.revokedSerials(),
    on: (event, listener) => inner.on(event, listener),
    torrentNamed: name => { named.push(name); throw new TrackerNameConflictError(`the tracker's host matches "${name}"`) }
  }
  const handle = leecher.addMagnet(link, join(f.dir, 'dave'), { certificates, swarmCa: f.ca.certPem })
  await leecher.connect(handle, '127.0.0.1', seedSession.port)
  await t.rejects(handle.swarm.whenComplete(), { name: 'TrackerNameConflictError', code: 'ERR_TRACKER_NAME_CONFLICT' })
  t.same(named, [f.metainfo.name], 'asked once, with the name from the metadata')
})

t.test('CertificateManager.torrentNamed: a tracker host equal to the name stops all announces, the stopped one included', async t => {
  const f = await trackerFixture(t)
  const url = f.server.announceUrl.replace('127.0.0.1', 'localhost')
  const announces: unknown[] = []
  f.server.on('announce', e => announces.push(e))
  const manager = new CertificateManager({ trackerUrl: url, passkey: f.db.addUser('erin'), torrent: { ...f.metainfo, name: '' }, caCertPem: f.ca.certPem, peerId: peerId(), port: 6881 })
  await manager.start()
  t.equal(announces.length, 1, 'the first announce, before the name was known')
  t.doesNotThrow(() => manager.torrentNamed(f.metainfo.name), 'another name is fine')
  t.throws(() => manager.torrentNamed('LOCALHOST.'), { name: 'TrackerNameConflictError', code: 'ERR_TRACKER_NAME_CONFLICT' })
  await manager.stop()
  t.equal(announces.length, 1, 'no announce after the conflict, not even "stopped"')
})

t.test('bttls get <Full Strict magnet> --passkey: the CA from the tracker, then the download; a link naming another CA fails in one line', async t => {
  const f = await trackerFixture(t)
  await seed(t, f)
  const uri = magnetUri({ ...f.metainfo, trackers: [f.server.announceUrl] })
  const out = join(f.dir, 'cli')
  const got = await runCli(['get', uri, '--passkey', f.db.addUser('frank'), '--out', out, '--json', '--stop-timeout', '30'], { timeoutMs: 90_000 }).result
  t.equal(got.code, 0, got.stderr)
  const events = got.stdout.trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
  const names = events.map(e => e.event)
  t.ok(names.indexOf('swarm-ca') >= 0 && names.indexOf('swarm-ca') < names.indexOf('certificate') && names.indexOf('certificate') < names.indexOf('complete'),
    `the CA, then the certificate, then the data (${names.join()})`)
  t.match(events.find(e => e.event === 'torrent'), { level: 'full-strict', magnet: true })
  t.equal(await fileSha256(join(out, f.metainfo.name)), await fileSha256(join(f.dataDir, f.metainfo.name)))

  const other = await createSwarmCa('another CA')
  const wrong = magnetUri({ ...f.metainfo, sslCert: other.certPem, trackers: [f.server.announceUrl] })
  const failed = await runCli(['get', wrong, '--passkey', f.db.addUser('grace'), '--out', join(f.dir, 'cli2')], { timeoutMs: 60_000 }).result
  t.equal(failed.code, 1)
  // Before anything listens: the CA is fetched with the other credential checks.
  t.match(failed.stderr, /^bttls: TrackerError: tracker https:\/\/127\.0\.0\.1:\d+ presented 2 certificate\(s\), none with the link's x\.bttls\.ca [0-9a-f]{64}\n$/)
})
