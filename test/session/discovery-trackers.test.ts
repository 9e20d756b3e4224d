/**
 * Tracker side of capability signalling (issue 7): supportbttls / requirebttls in announces and the
 * `bttls_flags` byte string aligned with the compact peer list, on our own tracker, and the client's
 * reading of it (flags index raw entries; absent flags mean "unknown").
 */
import 'reflect-metadata'
import t from 'tap'
import { BencodeDict } from '../../src/codec/bencode.js'
import { BTTLS_FLAGS_KEY, readFlaggedPeers, encodeBttlsFlags } from '../../src/tracker/bttls-flags.js'
import { announceableTrackers, capabilityParams } from '../../src/session/discovery-trackers.js'
import { announceTarget } from '../../src/session/discovery.js'
import { basicLevel } from '../../src/levels/basic.js'
import { strictLevel } from '../../src/levels/strict.js'
import { fullStrictLevel } from '../../src/levels/full-strict/full-strict.js'
import { staticCertificateSource } from '../../src/levels/full-strict/certificate-source.js'
import { createSwarmCa } from '../../src/pki/certificate-profile.js'
import { announceTo, trackerFixture } from '../helpers/tracker.js'

t.test('announce parameters by policy', async t => {
  t.same(capabilityParams('prefer-tls'), [['supportcrypto', 1], ['supportbttls', 1]])
  t.same(capabilityParams('allow-plain'), [['supportcrypto', 1], ['supportbttls', 1]])
  t.same(capabilityParams('require-tls'), [['supportbttls', 1], ['requirebttls', 1]], 'no supportcrypto: require-tls accepts no MSE')
})

t.test('http(s) and udp trackers are announced to, once each', async t => {
  t.same(announceableTrackers(['udp://t.example:6969', 'http://a/announce', 'https://b/announce', 'http://a/announce', 'wss://c', 'not a url']),
    ['udp://t.example:6969', 'http://a/announce', 'https://b/announce'])
})

t.test('each level says what trackers and the DHT are told: Basic the infohash, Strict its rendezvous, Full Strict nothing', async t => {
  const v1 = Buffer.alloc(20, 1)
  const v2 = Buffer.alloc(32, 2)
  const secret = Buffer.alloc(32, 3)
  t.same(announceTarget(basicLevel([v2, v1]), false, 'tracker'), { hash: v1 }, 'Basic hybrid: the v1 infohash, as every client announces it')
  t.same(announceTarget(basicLevel([v2]), false, 'dht'), { hash: v2.subarray(0, 20) }, 'Basic v2-only: the truncated v2 infohash')
  t.same(announceTarget(basicLevel([v1]), true, 'tracker'), { hash: v1 })
  t.match(announceTarget(basicLevel([v1]), true, 'dht'), { withheld: /BEP 27/ })
  const strict = announceTarget(strictLevel([v2, v1], { mode: 'secret' }, { secret }), false, 'dht')
  t.ok('hash' in strict && strict.hash.length === 20 && !strict.hash.equals(v1) && !strict.hash.equals(v2.subarray(0, 20)), 'Strict: 20 bytes that are no infohash')
  t.same(announceTarget(strictLevel([v2, v1], { mode: 'secret' }, { secret }), true, 'tracker'), strict, 'the same hash for trackers')
  t.match(announceTarget(strictLevel([v1], { mode: 'secret' }, { secret }), true, 'dht'), { withheld: /BEP 27/ }, 'a private Strict torrent: no DHT either')
  const ca = await createSwarmCa('swarm CA')
  const full = fullStrictLevel([v1], { name: 'x', infoHashV1: v1, caCertPem: ca.certPem }, staticCertificateSource(undefined))
  t.match(announceTarget(full, false, 'tracker'), { withheld: /secure tracker/ })
  t.match(announceTarget(full, false, 'dht'), { withheld: /never announced to the DHT/ })
})

t.test('flags index the raw compact entries; missing or short flags mean unknown', async t => {
  const peers = Buffer.from([127, 0, 0, 2, 0, 80, 127, 0, 0, 3, 0, 0, 127, 0, 0, 4, 0, 82, 127, 0, 0, 5, 0, 83])
  const d = new BencodeDict([['peers', peers], [BTTLS_FLAGS_KEY, Buffer.from([1, 1, 0])]])
  t.same(readFlaggedPeers(d), [{ host: '127.0.0.2', port: 80, tls: true }, { host: '127.0.0.4', port: 82 }, { host: '127.0.0.5', port: 83 }],
    'the port-0 entry still takes its flag byte; the fourth has none')
  t.same(readFlaggedPeers(new BencodeDict([['peers', peers.subarray(0, 6)]])), [{ host: '127.0.0.2', port: 80 }])
  t.same(encodeBttlsFlags([{ host: '::1', port: 1, bttls: true }, { host: '1.2.3.4', port: 2, bttls: false }, { host: '1.2.3.5', port: 3, bttls: true }]),
    { flags: Buffer.from([0, 1]), flags6: Buffer.from([1]) })
})

t.test('our tracker records supportbttls and returns bttls_flags aligned with peers; requirebttls lists only bttls peers', async t => {
  const f = await trackerFixture(t)
  const token = f.db.addUser('alice')
  await announceTo(f, { passkey: token, port: 7001, params: [['supportbttls', 1]] })
  await announceTo(f, { passkey: token, port: 7002 })
  await announceTo(f, { passkey: token, port: 7003, params: [['supportbttls', 1], ['supportcrypto', 1]] })
  const r = await announceTo(f, { passkey: token, port: 7004 })
  const flags = r.dict.get(BTTLS_FLAGS_KEY)
  t.ok(Buffer.isBuffer(flags), 'bttls_flags is a byte string')
  t.equal((flags as Buffer).length, r.peers.length, 'one byte per peer')
  const byPort = new Map(readFlaggedPeers(r.dict).map(p => [p.port, p.tls === true]))
  t.same([...byPort].sort((a, b) => a[0] - b[0]), [[7001, true], [7002, false], [7003, true]])

  const only = await announceTo(f, { passkey: token, port: 7005, params: [['supportbttls', 1], ['requirebttls', 1]] })
  t.same(only.peers.map(p => p.port).sort(), [7001, 7003], 'requirebttls: bttls peers only')
  t.same([...(only.dict.get(BTTLS_FLAGS_KEY) as Buffer)], [1, 1])
})
