/**
 * bench/wire-image probes: the answer classes (alerts, HelloRetryRequest, status lines, closers,
 * timing buckets, verdicts) on hand-made observations, then a few probes for real through the relay
 * against an in-process node:https server and a raw TCP server that resets, over loopback sockets.
 * Also the run plan: the size draw is fixed by its seed, and every level is measured.
 */
import { once } from 'node:events'
import https from 'node:https'
import net from 'node:net'
import t from 'tap'
import { createPeerKeyAndCsr, createSwarmCa, issuePeerCertificate } from '../../src/pki/certificate-profile.js'
import { answerClass, classifyProbe, timingBucket, verdict } from '../../bench/wire-image/probe-answers.js'
import { ProbeRelay, type RelayObservation } from '../../bench/wire-image/probe-relay.js'
import { PROBES, sendProbe, type ClientView } from '../../bench/wire-image/probes.js'
import { bttlsVariant, logUniformSizes, MAX_SIZE, MIN_SIZE } from '../../bench/wire-image/plan.js'
import { tlsRecord } from '../helpers/pcap-writer.js'

const client = (o: Partial<ClientView> = {}): ClientView => ({ data: Buffer.alloc(0), referenceAt: 1000, reference: 'send', ...o })
const observed = (bytes: Buffer, o: Partial<RelayObservation> = {}): RelayObservation => ({ bytes, totalBytes: bytes.length, ...o })

t.test('answer classes: alerts by name, HRR, HTTP status, closer and timing bucket', async t => {
  const alert = Buffer.from([21, 3, 3, 0, 2, 2, 70])
  const a = classifyProbe(observed(alert, { fin: { how: 'FIN', at: 1004 } }), client())
  t.equal(a.handshake, 'alert 70 protocol_version')
  t.equal(a.closer, 'FIN')
  t.equal(a.bucket, '<100 ms')
  t.equal(a.closeMs, 4)
  t.equal(answerClass(a), 'alert 70 protocol_version · — · FIN · <100 ms')
  const http = classifyProbe(observed(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'), { fin: { how: 'FIN', at: 1001 }, rst: { how: 'RST', at: 1002 } }), client())
  t.equal(http.handshake, 'HTTP/1.1 400')
  t.equal(http.closer, 'FIN, then RST')
  const silent = classifyProbe(observed(Buffer.alloc(0)), client())
  t.equal(silent.handshake, 'nothing')
  t.equal(silent.closer, 'open at cap')
  t.equal(silent.bucket, '—')
  const junk = classifyProbe(observed(Buffer.from('\x8f\x11random', 'latin1')), client())
  t.equal(junk.handshake, '8 bytes (not TLS)')
  const inside = classifyProbe(observed(Buffer.concat([tlsRecord(23, 100), tlsRecord(23, 19)]), { fin: { how: 'FIN', at: 61_000 } }),
    client({ tls: { protocol: 'TLSv1.3', alpn: 'http/1.1', cipher: 'TLS_AES_256_GCM_SHA384' }, data: Buffer.from('HTTP/1.1 200 OK\r\n'), referenceAt: 1000, reference: 'handshake' }))
  t.equal(inside.inside, 'HTTP/1.1 200')
  t.ok(inside.encryptedAlertAtClose, 'a last 19-byte record: an encrypted alert')
  t.equal(inside.bucket, '≥10 s')
  t.equal(inside.negotiated, 'TLSv1.3 ALPN http/1.1')
  t.same([50, 500, 5000, 50_000, undefined].map(timingBucket), ['<100 ms', '<1 s', '<10 s', '≥10 s', '—'])
  t.equal(verdict(a, a), 'same class as node https')
  t.equal(verdict(a, http), 'differs: answer alert 70 protocol_version vs HTTP/1.1 400; closer FIN vs FIN, then RST')
})

t.test('probes for real: node:https answers, a resetting server, all through the relay and bounded by the cap', async t => {
  // A leaf with digitalSignature (a CA certificate would be refused for TLS 1.2's ECDHE-ECDSA).
  const { keyPem, csrDer } = await createPeerKeyAndCsr('example.com')
  const { certPem } = await issuePeerCertificate({ ca: await createSwarmCa('test CA'), csrDer, torrent: { name: 'example.com' }, lifetimeSeconds: 3600 })
  const server = https.createServer({ key: keyPem, cert: certPem }, (_req, res) => { res.writeHead(200); res.end('ok') })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const resetter = net.createServer(s => s.once('data', () => s.resetAndDestroy()))
  resetter.listen(0, '127.0.0.1')
  await once(resetter, 'listening')
  t.teardown(() => { server.closeAllConnections(); server.close(); resetter.close() })
  const port = (s: net.Server): number => (s.address() as net.AddressInfo).port
  const probe = async (id: string, target: net.Server, capMs = 600): Promise<ReturnType<typeof classifyProbe>> => {
    const relay = await ProbeRelay.start({ host: '127.0.0.1', port: port(target) })
    try {
      const view = await sendProbe(PROBES.find(p => p.id === id)!, relay, { infohashHex: 'aa'.repeat(20) }, capMs)
      return classifyProbe(relay.observation(), view)
    } finally { relay.close() }
  }
  const get = await probe('g', server)
  t.equal(get.handshake, 'ServerHello TLS 1.3')
  t.equal(get.inside, 'HTTP/1.1 200')
  t.equal(get.closer, 'open at cap', 'node https keeps the connection alive past a 0.6 s cap')
  t.equal(get.reference, 'send')
  const hrr = await probe('j4', server)
  t.equal(hrr.handshake, 'HelloRetryRequest', 'only P-384 offered, no key share: node asks again')
  const tls12 = await probe('j3', server)
  t.equal(tls12.handshake, 'ServerHello TLS 1.2')
  const garbage = await probe('k1', server)
  t.equal(garbage.inside, 'HTTP/1.1 400')
  t.equal(garbage.closer, 'FIN')
  const reset = await probe('c16', resetter)
  t.equal(reset.closer, 'RST')
  t.equal(reset.handshake, 'nothing')
  const started = performance.now()
  const silence = await probe('e', server, 300)
  t.equal(silence.closer, 'open at cap')
  t.ok(performance.now() - started < 3000, 'a probe ends at its cap')
})

t.test('the plan: sizes drawn log-uniformly and reproducibly; every level measured', async t => {
  const sizes = logUniformSizes(24, 20261201)
  t.same(sizes, logUniformSizes(24, 20261201), 'the same seed, the same sizes')
  t.notSame(sizes, logUniformSizes(24, 1))
  t.ok(sizes.every(s => s >= MIN_SIZE && s <= MAX_SIZE))
  t.ok(sizes.filter(s => s < 200 * 1024).length >= 6 && sizes.filter(s => s >= 200 * 1024).length >= 6, 'small and large files alike')
  const variants = Array.from({ length: 24 }, (_, i) => bttlsVariant(i))
  t.same(new Set(variants.map(v => v.level)), new Set(['basic', 'strict', 'full-strict']))
  t.equal(new Set(variants.map(v => v.pieceLength)).size, 4, 'default, 32, 64 and 256 KiB pieces')
})
