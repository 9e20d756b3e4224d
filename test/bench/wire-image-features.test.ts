/**
 * bench/wire-image: where the handshake ends, the feature vectors the trees are fitted on, a flow
 * sample built from a synthetic capture (hellos, fingerprints, records, segments, ends), the rules,
 * and the tree datasets (Python is not needed here: only what TypeScript hands it).
 */
import t from 'tap'
import { probeHello } from '../../bench/wire-image/client-hello-builder.js'
import { bursts, FEATURE_SETS, firstBursts, gaps, handshakeCount, postHandshake, signedLengths, type Unit } from '../../bench/wire-image/features.js'
import { tcpSegments } from '../../bench/wire-image/pcap.js'
import { scoreRules } from '../../bench/wire-image/rules.js'
import { flowSample, recordString, type FlowSample } from '../../bench/wire-image/samples.js'
import { tcpFlows } from '../../bench/wire-image/tcp-flows.js'
import { treeDatasets } from '../../bench/wire-image/trees.js'
import { cleartextScan } from '../../bench/wire-image/analysis.js'
import { infohashNeedles } from '../../bench/wire-image/bttls-cli.js'
import { occurrences } from '../../bench/wire-image/traffic.js'
import { tlsRecord, writePcap, type SegmentSpec } from '../helpers/pcap-writer.js'

/** Units from the lab's notation: ">22:204 <22:122 <20:1 …" (type:length), 1 ms apart. */
function units (text: string): Unit[] {
  return text.split(' ').map((tok, i) => {
    const [type, length] = tok.slice(1).split(':').map(Number) as [number, number]
    return { dir: tok[0] as '>' | '<', type, length, wire: length + 5, ms: i }
  })
}

// A bttls Basic flow as the lab saw it (TLS 1.3 with the compatibility CCS).
const BTTLS = units('>22:204 <22:122 <20:1 <23:23 <23:270 <23:89 <23:53 >20:1 >23:53 >23:53 <23:266 <23:266 <23:53 >23:85 <23:97 >23:432 <23:104 <23:22 <23:16401 <23:30 <23:30 <23:16401 <23:30')
// node https + curl: client Finished, then the request, tickets and full records.
const HTTPS = units('>22:512 <22:122 <20:1 <23:42 <23:839 <23:281 <23:69 >20:1 >23:69 >23:105 <23:282 <23:282 <23:16401 <23:16401 <23:16401')

t.test('the handshake ends with the client\'s Finished: after its CCS, or (no CCS) its first encrypted record', async t => {
  t.equal(handshakeCount(BTTLS), 9, 'CH, the server flight (6), CCS, Finished')
  t.equal(postHandshake(BTTLS)[0]!.length, 53, 'the AuthHello is the first record after it')
  const noCcs = units('>22:300 <22:90 <23:23 <23:800 <23:260 <23:52 >23:52 >23:80 <23:400')
  t.equal(handshakeCount(noCcs), 7)
  const tls12 = units('>22:200 <22:80 <22:900 <22:300 <22:4 >22:37 >20:1 >22:40 <20:1 <22:40 >23:100')
  t.equal(handshakeCount(tls12), 8, 'TLS 1.2: the client\'s Finished is a handshake record after its CCS')
  t.equal(handshakeCount(units('>22:200 <21:2')), 2, 'a refused handshake is all handshake')
})

t.test('signed lengths, bursts, gaps: padded to fixed length', async t => {
  t.same(signedLengths(BTTLS, 4), [204, -122, -1, -23])
  t.same(signedLengths(units('>22:5 <22:6'), 4), [5, -6, 0, 0])
  t.same(signedLengths(BTTLS, 2, 7), [1, 53], 'an offset')
  t.same(bursts(units('>22:5 >23:6 <23:7 >23:8')), [(5 + 5) + (6 + 5), -(7 + 5), 8 + 5], 'bytes on the wire, merged per direction')
  t.same(firstBursts(units('>22:5 <23:7'), 4), [10, -12, 0, 0])
  const timed: Unit[] = [{ dir: '>', length: 1, wire: 1, ms: 0 }, { dir: '<', length: 1, wire: 1, ms: 2.5 }, { dir: '>', length: 1, wire: 1, ms: 10 }]
  t.same(gaps(timed, 4), [0, 2.5, 7.5, 0])
  t.same(gaps(timed, 2, 1), [2.5, 7.5])
  const f = { records: BTTLS, segments: BTTLS }
  for (const set of FEATURE_SETS) {
    const v = set.vector(f)
    t.ok(v.length >= 10 && v.every(Number.isFinite), `${set.name}: ${v.length} finite features`)
    t.equal(set.vector({ records: [], segments: [] }).length, v.length, `${set.name}: fixed length for an empty flow too`)
  }
  const target = FEATURE_SETS.find(s => s.name === 'hs+post30')!.vector(f)
  t.equal(target.length, 42)
  t.same(target.slice(0, 10), [204, -122, -1, -23, -270, -89, -53, 1, 53, 0], 'the handshake part, padded')
  t.same(target.slice(12, 16), [53, -266, -266, -53], 'then the records after the Finished')
  t.equal(recordString(units('>22:5 <22:6')), '>5 <6@1.0')
})

/** A synthetic capture of one TLS flow with the given records (all the client's, then all the server's…). */
function capture (parts: Array<['c' | 's', Buffer]>, close: 'server-fin' | 'client-rst' = 'server-fin'): Buffer {
  const c = { src: '127.0.0.2', dst: '127.0.0.9', srcPort: 40001, dstPort: 6881 }
  const s = { src: '127.0.0.9', dst: '127.0.0.2', srcPort: 6881, dstPort: 40001 }
  const segs: SegmentSpec[] = [{ ...c, timeUs: 1e12, seq: 100, flags: 'S' }, { ...s, timeUs: 1e12 + 50, seq: 900, ack: 101, flags: 'SA' }]
  const offset = { c: 0, s: 0 }
  let time = 1e12 + 100
  for (const [from, bytes] of parts) {
    time += 1000
    segs.push({ ...(from === 'c' ? c : s), timeUs: time, seq: (from === 'c' ? 101 : 901) + offset[from], flags: 'PA', payload: bytes })
    offset[from] += bytes.length
  }
  segs.push(close === 'server-fin'
    ? { ...s, timeUs: time + 5000, seq: 901 + offset.s, flags: 'FA' }
    : { ...c, timeUs: time + 5000, seq: 101 + offset.c, flags: 'R' })
  return writePcap(segs)
}

function serverHelloRecord (): Buffer {
  const exts = Buffer.from('002b00020304' + '003300240' + '01d0020' + '00'.repeat(32), 'hex')
  const body = Buffer.concat([Buffer.from([3, 3]), Buffer.alloc(32, 9), Buffer.from([0]), Buffer.from([0x13, 0x01, 0]), Buffer.from([0, exts.length]), exts])
  const msg = Buffer.concat([Buffer.from([2, 0, body.length >> 8, body.length & 0xff]), body])
  return Buffer.concat([Buffer.from([22, 3, 3, msg.length >> 8, msg.length & 0xff]), msg])
}

t.test('a flow sample from a capture: hellos and fingerprints, records, segments, ends', async t => {
  const hello = probeHello({ serverName: 'example.com', alpn: ['h2', 'http/1.1'] })
  const pcap = capture([
    ['c', hello],
    ['s', Buffer.concat([serverHelloRecord(), tlsRecord(20, 1), tlsRecord(23, 23), tlsRecord(23, 839), tlsRecord(23, 281), tlsRecord(23, 69)])],
    ['c', Buffer.concat([tlsRecord(20, 1), tlsRecord(23, 69)])],
    ['c', tlsRecord(23, 105)],
    ['s', Buffer.concat([tlsRecord(23, 282), tlsRecord(23, 16401)])]
  ])
  const [flow] = tcpFlows(tcpSegments(pcap))
  const s = flowSample(flow!, { kind: 'https', variant: 'synthetic', size: 1000 })
  t.ok(s.tls)
  t.equal(s.server, '127.0.0.9:6881')
  t.equal(s.clientHello?.serverName, 'example.com')
  t.match(s.clientHello?.ja4, /^t13d0308h2_[0-9a-f]{12}_[0-9a-f]{12}$/)
  t.equal(s.clientHello?.recordLength, hello.length - 5)
  t.same(s.clientHello?.keyShares, [0x1d])
  t.equal(s.serverHello?.ja4s, 't130200_1301_a56c5b993250')
  t.equal(s.serverHello?.version, 'TLS 1.3')
  t.equal(s.handshakeRecords, 9)
  t.same(s.records.map(r => r.length), [hello.length - 5, 90, 1, 23, 839, 281, 69, 1, 69, 105, 282, 16401])
  t.same(s.segments.map(u => `${u.dir}${u.length}`), [`>${hello.length}`, `<${95 + 6 + 28 + 844 + 286 + 74}`, '>80', '>110', `<${287 + 16406}`])
  t.equal(s.records[2]!.ms, 2.1, 'ms since the SYN (the server flight, 2.1 ms in)')
  t.equal(s.ends.serverFin, 10.1)
  t.equal(s.firstBytes.toServer.slice(0, 2), '16')
  const rst = flowSample(tcpFlows(tcpSegments(capture([['c', Buffer.from('\x13BitTorrent protocol')]], 'client-rst')))[0]!, { kind: 'plain', variant: 'x' })
  t.notOk(rst.tls)
  t.same(rst.records, [])
  t.equal(rst.ends.clientRst, 6.1)
  t.equal(rst.handshakeRecords, 0)
})

function sample (kind: FlowSample['kind'], records: Unit[], ja4 = 't13i040900_a_b', firstBytes = '16030100'): FlowSample {
  return {
    kind, variant: 'v', client: 'c', server: 's', tls: records.length > 0, records, segments: records, handshakeRecords: handshakeCount(records),
    clientHello: records.length > 0 ? { ja4, ja4r: '', ja4o: '', ja3: '', recordLength: 0, versions: [], cipherSuites: 0, extensions: 0, groups: [], keyShares: [], signatureAlgorithms: 0 } : undefined,
    bytes: { toServer: 0, toClient: 0 }, firstBytes: { toServer: firstBytes, toClient: '' }, ends: {}, hole: false
  }
}

t.test('rules: the lab\'s rules separate the lab\'s sequences; learned constants come from the bttls flows', async t => {
  const samples = [
    sample('bttls', BTTLS), sample('bttls', BTTLS),
    sample('https', HTTPS, 't13d591000_a_b'), sample('https', HTTPS, 't13i590900_a_b'),
    sample('plain', [], '', '13426974546f7272656e742070726f74')
  ]
  const scores = Object.fromEntries(scoreRules(samples).map(r => [r.name, r]))
  t.equal(scores['ja4 t13i0409']!.accuracy, 1)
  t.equal(scores['ja4 = a bttls JA4']!.accuracy, 1)
  t.equal(scores['first client record']!.accuracy, 1)
  t.match(scores['first client record']!.description, /is 53 bytes/)
  t.equal(scores['16401 then 30']!.accuracy, 1)
  t.equal(scores['≥3 client turns']!.accuracy, 1)
  t.equal(scores['ja4 t13i0409']!.flows, 4, 'TLS rules are scored on bttls and HTTPS flows only')
  t.equal(scores['plain BT prefix']!.accuracy, 1)
  t.equal(scores['MSE sizes'], undefined, 'no MSE flow: the rule is not scored')
  // A bttls that sends Node's hello: the JA4 rule then catches HTTPS flows too.
  const blended = scoreRules([sample('bttls', BTTLS, 't13i590900_a_b'), sample('https', HTTPS, 't13i590900_a_b'), sample('https', HTTPS, 't13d591000_a_b')])
  t.equal(blended.find(r => r.name === 'ja4 = a bttls JA4')!.accuracy, 2 / 3)
  t.equal(blended.find(r => r.name === 'ja4 = a bttls JA4')!.falsePositives, 1)
})

t.test('rules and trees per reference set: the lab\'s, the wider, and both with balanced accuracy', async t => {
  const withSet = (s: FlowSample, reference: 'lab' | 'wider'): FlowSample => ({ ...s, reference })
  const samples = [
    sample('bttls', BTTLS, 't13i590900_a_b'), sample('bttls', BTTLS, 't13i590900_a_b'),
    withSet(sample('https', HTTPS, 't13d591000_a_b'), 'lab'),
    withSet(sample('https', HTTPS, 't13i590900_a_b'), 'wider'), withSet(sample('https', HTTPS, 't13d591000_a_b'), 'wider')
  ]
  const ja4 = scoreRules(samples).filter(r => r.name === 'ja4 = a bttls JA4')
  t.same(ja4.map(r => r.population), ['bttls/https', 'bttls/https (wider)', 'bttls/https (all, balanced)'])
  t.same(ja4.map(r => r.flows), [3, 4, 5], 'the lab population leaves the wider flows out, and the reverse')
  t.equal(ja4[0]!.accuracy, 1, 'against the lab: no lab flow has the bttls JA4')
  t.equal(ja4[1]!.accuracy, 3 / 4, 'against the wider set: one of two HTTPS flows has it')
  t.equal(ja4[2]!.accuracy, (1 + 2 / 3) / 2, 'both: the mean of the recalls (bttls 2/2, HTTPS 2/3)')
  const sets = treeDatasets(samples)
  const target = (suffix: string): { y: string[], scoring?: string } | undefined => sets.find(d => d.name === `bttls vs https${suffix}: hs+post30`)
  t.equal(target('')!.y.length, 3)
  t.equal(target(' (wider)')!.y.length, 4)
  t.equal(target(' (all, balanced)')!.scoring, 'balanced_accuracy')
  t.equal(target('')!.scoring, undefined, 'plain accuracy where the classes are balanced by construction')
})

t.test('tree datasets: one per feature set and question, fixed-width rows, labels by kind', async t => {
  const samples = [sample('bttls', BTTLS), sample('bttls', BTTLS), sample('https', HTTPS), sample('https', HTTPS), sample('mse', [], ''), sample('plain', [], '')]
  const sets = treeDatasets(samples.map(s => s.kind === 'mse' || s.kind === 'plain' ? { ...s, segments: units('>23:500 <23:400') } : s))
  const names = sets.map(d => d.name)
  t.ok(names.includes('bttls vs https: hs+post30'))
  t.ok(names.includes('plain vs mse vs bttls vs https: bursts10-any'))
  t.ok(names.includes('mse vs https: segments10-any'))
  for (const d of sets) {
    t.equal(d.X.length, d.y.length, `${d.name}: a label per row`)
    t.ok(d.X.every(row => row.length === d.featureNames.length), `${d.name}: fixed width`)
  }
  t.same(sets.find(d => d.name === 'bttls vs https: post10')!.y, ['bttls', 'bttls', 'https', 'https'], 'non-TLS flows stay out of TLS sets')
})

t.test('cleartext scan: infohash needles (raw, hex, HEX, v2 cut to 20 bytes), counted per kind', async t => {
  const v1 = 'ab'.repeat(20)
  const v2 = 'cd'.repeat(32)
  const needles = infohashNeedles({ infoHashV1: v1, infoHashV2: v2 })
  t.equal(needles.length, 9)
  t.ok(needles.some(n => n.equals(Buffer.from(v2.slice(0, 40), 'hex'))), 'the 20-byte v2 form')
  const handshake = Buffer.concat([Buffer.from('\x13BitTorrent protocol', 'latin1'), Buffer.alloc(8), Buffer.from(v1, 'hex')])
  t.equal(needles.reduce((n, needle) => n + occurrences(handshake, needle), 0), 1)
  t.equal(occurrences(Buffer.from('aaaa'), Buffer.from('aa')), 3, 'overlapping matches count')
  const label = (kind: FlowSample['kind']): FlowSample['kind'] => kind
  const runs = [
    { label: { kind: label('bttls'), variant: 'b' }, server: 's', seconds: 1, connections: 1, infohashHits: 0 },
    { label: { kind: label('plain'), variant: 'p' }, server: 's', seconds: 1, connections: 1, infohashHits: 2 },
    { label: { kind: label('plain'), variant: 'p' }, server: 's', seconds: 1, connections: 1, infohashHits: 1 },
    { label: { kind: label('https'), variant: 'h' }, server: 's', seconds: 1, connections: 1 }
  ]
  t.same(cleartextScan(runs), [{ kind: 'bttls', flows: 1, hits: 0 }, { kind: 'plain', flows: 2, hits: 3 }], 'flows without needles are not counted')
})

t.test('every feature set names each of its features', async t => {
  for (const set of FEATURE_SETS) t.equal(set.names.length, set.vector({ records: BTTLS, segments: BTTLS }).length, set.name)
  t.equal(FEATURE_SETS.find(s => s.name === 'post6to35')!.names[0], 'post[6]')
})
