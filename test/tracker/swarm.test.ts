/**
 * The secure tracker with real Full Strict sessions (issue 6): three peers get their certificates from
 * the tracker; a revoked peer can no longer join (no certificate, no peer list, refused by every peer
 * that learned the revoked serial); a renewal leaves established links running and new links use the
 * new certificate.
 */
import t, { type Test } from 'tap'
import { once } from 'node:events'
import { copyFile, open } from 'node:fs/promises'
import { join } from 'node:path'
import { CertificateManager, type IssuedCredential } from '../../src/tracker/client/certificate-manager.js'
import type { CertificateSource } from '../../src/levels/full-strict/certificate-source.js'
import type { Session, TorrentHandle } from '../../src/session/session.js'
import type { Refusal } from '../../src/wire/listener.js'
import type { PeerLink } from '../../src/wire/peer-link.js'
import { completed, fileSha256, session } from '../helpers/session-pair.js'
import { peerId, trackerFixture, type TrackerFixture } from '../helpers/tracker.js'

interface Peer { session: Session, manager: CertificateManager, handle: TorrentHandle, served: string[] }

/** A session whose Full Strict certificate comes from the tracker; `served` records each serial handed to a handshake. */
async function join_ (t: Test, f: TrackerFixture, user: string, dir: string, options: { closeSeedLinks?: boolean } = {}): Promise<Peer> {
  const passkey = f.db.addUser(user)
  // No PEX: the scenarios here decide who reaches whom (A would otherwise tell B of C).
  const s = await session(t, { pex: false, swarm: { chokeIntervalMs: 200, closeSeedLinks: options.closeSeedLinks ?? true } })
  const manager = new CertificateManager({
    trackerUrl: f.server.announceUrl, passkey, torrent: f.metainfo, caCertPem: f.ca.certPem, peerId: peerId(), port: s.port, maxAnnounceIntervalMs: 500
  })
  t.teardown(() => manager.stop())
  await manager.start()
  const served: string[] = []
  const spy: CertificateSource = {
    current: () => { const c = manager.current(); if (c) served.push((c as IssuedCredential).serial); return c },
    revokedSerials: () => manager.revokedSerials(),
    on: (event, listener) => manager.on(event, listener)
  }
  const handle = await s.addTorrent(f.metainfo, dir, { certificates: spy })
  return { session: s, manager, handle, served }
}

const nextRefusal = (s: Session) => new Promise<Refusal>(resolve => s.once('refused', resolve))

t.test('three peers: a revoked peer can no longer join the swarm', async t => {
  const f = await trackerFixture(t, { intervalSeconds: 1, lifetimeSeconds: 300 })
  const seed = await join_(t, f, 'seed', f.dataDir)
  t.ok(seed.handle.swarm.complete, 'the seed has the data')
  const mallory = await join_(t, f, 'mallory', join(f.dir, 'mallory'))
  const malloryCert = mallory.manager.current()!
  t.same(mallory.manager.peers(), [{ host: '127.0.0.1', port: seed.session.port }], 'before revocation mallory is told of the seed')

  f.db.revokeUser('mallory')
  await once(seed.manager, 'revoked')
  t.ok(seed.manager.revokedSerials().has(malloryCert.serial), 'the seed learned the revoked serial at its next announce')

  // Mallory can get no new certificate and no peer list...
  await t.rejects(mallory.manager.renew(), { name: 'TrackerError', code: 'ERR_TRACKER_REVOKED_USER' })
  // ...and its certificate, still within its validity, is refused by the seed.
  const refused = nextRefusal(seed.session)
  t.equal(await mallory.session.connect(mallory.handle, '127.0.0.1', seed.session.port), undefined, 'mallory cannot connect to the seed')
  t.equal((await refused).error.name, 'CertificateRevokedError')

  // Alice joins: the tracker lists the seed and not mallory; she downloads from the seed.
  const alice = await join_(t, f, 'alice', join(f.dir, 'alice'))
  t.ok(alice.manager.revokedSerials().has(malloryCert.serial), 'alice knows the revoked serial from her first announce')
  t.same(alice.manager.peers(), [{ host: '127.0.0.1', port: seed.session.port }], 'mallory is not in alice\'s peer list')
  for (const p of alice.manager.peers()) {
    const link = await alice.session.connect(alice.handle, p.host, p.port)
    t.equal(link?.tls?.level, 'full-strict', 'alice connects to the seed at level full-strict')
  }
  await completed(alice.handle.swarm)
  t.equal(await fileSha256(join(f.dir, 'alice', f.metainfo.name)), await fileSha256(join(f.dataDir, f.metainfo.name)))

  // Mallory cannot reach alice either way.
  const refusedByAlice = nextRefusal(alice.session)
  t.equal(await mallory.session.connect(mallory.handle, '127.0.0.1', alice.session.port), undefined)
  t.equal((await refusedByAlice).error.name, 'CertificateRevokedError')
  const failures: string[] = []
  alice.session.on('dial-failed', d => failures.push(...d.error.attempts.map(a => a.error.name)))
  t.equal(await alice.session.connect(alice.handle, '127.0.0.1', mallory.session.port), undefined, 'alice refuses mallory as a responder')
  t.ok(failures.includes('CertificateRevokedError'), `alice saw ${failures.join()}`)
  t.equal(mallory.handle.swarm.stats().piecesDone, 0, 'mallory got nothing')
  t.same(f.db.issuances('mallory').length, 1, 'one certificate was ever issued to mallory')
})

t.test('renewal does not interrupt a link; new links use the new certificate', async t => {
  const f = await trackerFixture(t, { lifetimeSeconds: 300 })
  // A holds half the data (the second half of its copy is zeroed), B holds nothing, C (the full seed)
  // is reached only by A, after the renewals. The rest of the data reaches B from A over the link
  // made before the renewals.
  const aDir = join(f.dir, 'a')
  const { mkdir } = await import('node:fs/promises')
  await mkdir(aDir, { recursive: true })
  const file = join(aDir, f.metainfo.name)
  await copyFile(join(f.dataDir, f.metainfo.name), file)
  const fh = await open(file, 'r+')
  const half = Math.floor(f.metainfo.totalLength / 2)
  await fh.write(Buffer.alloc(f.metainfo.totalLength - half), 0, f.metainfo.totalLength - half, half)
  await fh.close()

  const a = await join_(t, f, 'a', aDir, { closeSeedLinks: false })
  const b = await join_(t, f, 'b', join(f.dir, 'b'), { closeSeedLinks: false })
  const c = await join_(t, f, 'c', f.dataDir)
  const aHas = a.handle.swarm.stats().piecesDone
  t.ok(aHas > 0 && aHas < f.metainfo.pieceCount, `A starts with ${aHas}/${f.metainfo.pieceCount} pieces`)

  const link = await b.session.connect(b.handle, '127.0.0.1', a.session.port)
  t.ok(link, 'B connects to A')
  await new Promise<void>(resolve => { const check = () => b.handle.swarm.stats().piecesDone >= aHas ? resolve() : setTimeout(check, 20); check() })
  const oldA = a.manager.current()!
  const oldB = b.manager.current()!
  let closedEarly = false
  void link!.closed.then(() => { closedEarly = true })

  const [newA, newB] = await Promise.all([a.manager.renew(), b.manager.renew()])
  t.not(newA.serial, oldA.serial)
  t.not(newB.serial, oldB.serial)
  t.equal(closedEarly, false, 'the link made with the old certificates is still open after both renewed')

  const servedBefore = a.served.length
  const aToC: PeerLink | undefined = await a.session.connect(a.handle, '127.0.0.1', c.session.port)
  t.ok(aToC, 'A connects to C after renewing')
  const servedAfter = a.served.slice(servedBefore)
  t.ok(servedAfter.length > 0 && servedAfter.every(s => s === newA.serial), 'the new link presented A\'s new certificate')

  await completed(a.handle.swarm)
  await completed(b.handle.swarm)
  t.equal(await fileSha256(join(f.dir, 'b', f.metainfo.name)), await fileSha256(join(f.dataDir, f.metainfo.name)), 'B got everything')
  t.equal(b.handle.swarm.stats().transports.tls.peers, 1, 'over its one link to A, made before the renewal')
  t.equal(closedEarly, false, 'which is still open')
  t.same(f.db.issuances('a').map(i => i.serial), [oldA.serial, newA.serial], 'both issuances logged')
})
