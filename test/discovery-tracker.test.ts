/**
 * Tracker side of capability signalling (issue 7): supportbttls / requirebttls in announces and the
 * `bttls_flags` byte string aligned with the compact peer list, on our own tracker, and the client's
 * reading of it (flags index raw entries; absent flags mean "unknown").
 */
import 'reflect-metadata'
import t from 'tap'
import { BencodeDict } from '../src/torrent/bencode.js'
import { BTTLS_FLAGS_KEY, readFlaggedPeers, encodeBttlsFlags } from '../src/tracker/bttls-flags.js'
import { capabilityParams, httpTrackers } from '../src/session/discovery-trackers.js'
import { withheldReason } from '../src/session/discovery.js'
import { announceTo, trackerFixture } from './helpers/tracker.js'

t.test('announce parameters by policy', async t => {
  t.same(capabilityParams('prefer-tls'), [['supportcrypto', 1], ['supportbttls', 1]])
  t.same(capabilityParams('allow-plain'), [['supportcrypto', 1], ['supportbttls', 1]])
  t.same(capabilityParams('require-tls'), [['supportbttls', 1], ['requirebttls', 1]], 'no supportcrypto: require-tls accepts no MSE')
})

t.test('only http(s) trackers are announced to, once each', async t => {
  t.same(httpTrackers(['udp://t.example:6969', 'http://a/announce', 'https://b/announce', 'http://a/announce', 'wss://c', 'not a url']),
    ['http://a/announce', 'https://b/announce'])
})

t.test('Strict and Full Strict torrents are withheld from trackers and the DHT; private ones from the DHT', async t => {
  const level = (name: 'basic' | 'strict' | 'full-strict') => ({ basic: { announce: 'public' }, strict: { announce: 'withheld' }, 'full-strict': { announce: 'secure-tracker' } } as const)[name]
  t.equal(withheldReason(level('basic'), false, 'tracker'), undefined)
  t.equal(withheldReason(level('basic'), false, 'dht'), undefined)
  t.equal(withheldReason(level('basic'), true, 'tracker'), undefined)
  t.match(withheldReason(level('basic'), true, 'dht'), /BEP 27/)
  t.match(withheldReason(level('strict'), false, 'tracker'), /Strict torrent/)
  t.match(withheldReason(level('strict'), false, 'dht'), /Strict torrent/)
  t.match(withheldReason(level('full-strict'), false, 'tracker'), /secure tracker/)
  t.match(withheldReason(level('full-strict'), false, 'dht'), /never announced to the DHT/)
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
