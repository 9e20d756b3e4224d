/**
 * The secure tracker's bounds against a hostile user or client (issue 18): unexpired certificates per
 * user and torrent, and how long a connection may sit in the TLS handshake or idle. Real HTTPS on
 * loopback.
 */
import t from 'tap'
import net from 'node:net'
import tls from 'node:tls'
import { createPeerKeyAndCsr } from '../../src/pki/certificate-profile.js'
import { CSR_PARAM, readBttlsFields } from '../../src/tracker/announce-keys.js'
import { DEFAULT_MAX_CERTIFICATES_PER_USER, DEFAULT_TRACKER_HANDSHAKE_TIMEOUT_MS, DEFAULT_TRACKER_IDLE_TIMEOUT_MS } from '../../src/tracker/server/server.js'
import { TrackerError } from '../../src/tracker/errors.js'
import { BttlsError } from '../../src/errors.js'
import { announceTo, trackerFixture } from '../helpers/tracker.js'

t.test('one user holds at most maxCertificatesPerUser unexpired certificates per torrent; revocation lists stay bounded', async t => {
  const f = await trackerFixture(t, { maxCertificatesPerUser: 3, lifetimeSeconds: 3600 })
  const token = f.db.addUser('mallory')
  const { csrDer } = await createPeerKeyAndCsr('m')
  const csr: [string, string] = [CSR_PARAM, csrDer.toString('base64url')]
  for (let i = 0; i < 3; i++) {
    const r = await announceTo(f, { passkey: token, params: [csr] })
    t.ok(readBttlsFields(r.dict).certificateDer, `certificate ${i + 1} issued`)
  }
  const err = await announceTo(f, { passkey: token, params: [csr] }).then(() => undefined, (e: Error) => e)
  t.type(err, TrackerError)
  t.type(err, BttlsError)
  t.equal((err as TrackerError).code, 'ERR_TRACKER_CANNOT_ISSUE')
  t.match(err?.message, /holds 3 unexpired certificates/)
  t.equal(f.db.issuances('mallory').length, 3, 'nothing issued past the bound')
  const other = f.db.addUser('alice')
  t.ok(readBttlsFields((await announceTo(f, { passkey: other, params: [csr] })).dict).certificateDer, 'another user is not affected')
  const plain = await announceTo(f, { passkey: token })
  t.ok(plain.interval > 0, 'an announce without a CSR still works for the user at the bound')
  f.db.revokeUser('mallory')
  t.equal(f.db.revokedSerials(f.metainfo.wireInfoHash.toString('hex')).length, 3, 'the revocation list grows by at most the bound per user')
  t.ok(DEFAULT_MAX_CERTIFICATES_PER_USER >= 2, 'the default leaves room for a renewal overlapping its certificate')
})

t.test('a connection that never finishes its TLS handshake, or idles after it, is closed', async t => {
  const f = await trackerFixture(t, { handshakeTimeoutMs: 300, idleTimeoutMs: 400 })
  const port = f.server.port
  const started = Date.now()
  const raw = net.connect(port, '127.0.0.1')
  raw.on('error', () => {})
  await new Promise<void>(resolve => raw.once('close', () => resolve()))
  const halfOpen = Date.now() - started
  t.ok(halfOpen >= 250 && halfOpen < 5000, `silent TCP closed by the handshake bound (${halfOpen} ms)`)

  const idleStart = Date.now()
  const idle = tls.connect({ port, host: '127.0.0.1', ca: f.ca.certPem, servername: 'localhost' })
  idle.on('error', () => {})
  await new Promise<void>(resolve => idle.once('close', () => resolve()))
  const idleFor = Date.now() - idleStart
  t.ok(idleFor >= 350 && idleFor < 5000, `an idle TLS connection closed by the idle bound (${idleFor} ms)`)
  t.ok(DEFAULT_TRACKER_HANDSHAKE_TIMEOUT_MS <= 10_000 && DEFAULT_TRACKER_IDLE_TIMEOUT_MS <= 60_000)
})
