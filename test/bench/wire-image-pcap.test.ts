/**
 * bench/wire-image: the pcap reader, TCP reassembly and the TLS record layer, on synthetic captures
 * (test/helpers/pcap-writer.ts) so no tcpdump is needed: every link type the reader claims, both
 * byte orders and timestamp precisions, out-of-order segments, retransmissions, sequence-number
 * wrap, holes, FIN/RST, and records split across segments or sharing one.
 */
import t from 'tap'
import { clientHelloRecord, ext } from '../../bench/wire-image/client-hello-builder.js'
import { parseClientHello } from '../../bench/wire-image/hellos.js'
import { decodeTcp, parsePcap, PcapFormatError, tcpSegments } from '../../bench/wire-image/pcap.js'
import { arrivalTime, tcpFlows } from '../../bench/wire-image/tcp-flows.js'
import { leadingHandshakeMessages, looksLikeTls, recordSequence, splitTlsRecords } from '../../bench/wire-image/tls-records.js'
import { tlsRecord, writePcap, type Framing, type SegmentSpec } from '../helpers/pcap-writer.js'

const C = { address: '127.0.0.2', port: 40000 }
const S = { address: '127.0.0.3', port: 443 }
const T0 = 1_700_000_000_000_000

/** A connection: handshake, then data segments given as [from, offset, bytes, Δµs], then closes. */
function connection (data: Array<[ 'c' | 's', number, Buffer, number ]>, o: { cIsn?: number, sIsn?: number, close?: SegmentSpec[] } = {}, c = C, s = S): SegmentSpec[] {
  const cIsn = o.cIsn ?? 1000
  const sIsn = o.sIsn ?? 5000
  const base = { c: { src: c.address, dst: s.address, srcPort: c.port, dstPort: s.port }, s: { src: s.address, dst: c.address, srcPort: s.port, dstPort: c.port } }
  const segs: SegmentSpec[] = [
    { ...base.c, timeUs: T0, seq: cIsn, flags: 'S' },
    { ...base.s, timeUs: T0 + 10, seq: sIsn, ack: cIsn + 1, flags: 'SA' },
    { ...base.c, timeUs: T0 + 20, seq: cIsn + 1, ack: sIsn + 1, flags: 'A' }
  ]
  let time = T0 + 20
  for (const [from, offset, payload, dt] of data) {
    time += dt
    segs.push({ ...base[from], timeUs: time, seq: (from === 'c' ? cIsn : sIsn) + 1 + offset, ack: 1, flags: 'PA', payload })
  }
  return [...segs, ...(o.close ?? [])]
}

t.test('pcap: every supported framing, byte order and timestamp precision gives the same segments', async t => {
  const segs = connection([['c', 0, Buffer.from('hello'), 5], ['s', 0, Buffer.from('x'), 7]])
  const framings: Framing[] = ['ethernet', 'sll', 'sll2', 'null', 'raw']
  for (const framing of framings) {
    for (const bigEndian of [false, true]) {
      for (const nanoseconds of [false, true]) {
        const got = tcpSegments(writePcap(segs, { framing, bigEndian, nanoseconds }))
        const what = `${framing} ${bigEndian ? 'BE' : 'LE'} ${nanoseconds ? 'ns' : 'µs'}`
        t.equal(got.length, segs.length, `${what}: every segment`)
        t.equal(got[3]!.payload.toString(), 'hello', `${what}: the payload, without Ethernet's padding`)
        t.equal(got[4]!.timeUs, T0 + 32, `${what}: time in µs`)
        t.ok(got[0]!.syn && !got[0]!.ackFlag && got[1]!.syn && got[1]!.ackFlag, `${what}: flags`)
      }
    }
  }
})

t.test('pcap: IPv6, non-TCP and truncated files', async t => {
  const v6 = connection([['c', 0, Buffer.from('six'), 1]], {}, { address: '::1', port: 5 }, { address: '::1', port: 6 })
  const got = tcpSegments(writePcap(v6))
  t.equal(got[0]!.src, '::1')
  t.equal(got[3]!.payload.toString(), 'six')
  const file = writePcap(connection([['c', 0, Buffer.from('abc'), 1]]))
  t.equal(parsePcap(file.subarray(0, file.length - 2)).packets.length, 3, 'a packet cut by a killed capture is dropped, the rest kept')
  t.throws(() => parsePcap(Buffer.from('0a0d0d0a00000000000000000000000000000000000000000000', 'hex')), PcapFormatError, 'pcapng is refused by name')
  const udp = Buffer.alloc(28); udp[0] = 0x45; udp[9] = 17; udp.writeUInt16BE(28, 2)
  t.equal(decodeTcp(101, udp, 0), undefined, 'UDP is skipped')
})

t.test('reassembly: out of order, retransmitted and overlapping segments give the sent stream; arrival times per byte', async t => {
  const stream = Buffer.from('0123456789abcdefghij')
  const segs = connection([
    ['c', 10, stream.subarray(10, 15), 10], // early: bytes 10–14 before 0–9
    ['c', 0, stream.subarray(0, 10), 10],
    ['c', 0, stream.subarray(0, 10), 10], // retransmission
    ['c', 12, stream.subarray(12, 20), 10], // overlaps the first
    ['s', 0, Buffer.from('ok'), 10]
  ], {
    close: [
      { src: S.address, dst: C.address, srcPort: S.port, dstPort: C.port, timeUs: T0 + 200, seq: 5000 + 3, ack: 1, flags: 'FA' },
      { src: C.address, dst: S.address, srcPort: C.port, dstPort: S.port, timeUs: T0 + 300, seq: 1000 + 21, ack: 1, flags: 'R' }
    ]
  })
  const [flow, ...rest] = tcpFlows(tcpSegments(writePcap(segs)))
  t.equal(rest.length, 0)
  t.same(flow!.client, C)
  t.same(flow!.server, S)
  t.equal(flow!.toServer.bytes.toString(), stream.toString())
  t.notOk(flow!.toServer.hole)
  t.equal(flow!.toServer.totalBytes, 20)
  t.equal(flow!.toClient.bytes.toString(), 'ok')
  t.equal(arrivalTime(flow!.toServer, 0), T0 + 40, 'bytes 0–9 arrived with the second segment')
  t.equal(arrivalTime(flow!.toServer, 12), T0 + 40, 'byte 12 was delivered when 0–9 came (the early segment sorted first by offset)')
  t.equal(arrivalTime(flow!.toServer, 17), T0 + 60, 'bytes 15–19 came with the overlapping segment')
  t.equal(flow!.toClient.finUs, T0 + 200, 'the server sent FIN')
  t.equal(flow!.toServer.rstUs, T0 + 300, 'the client sent RST')
  t.equal(flow!.toClient.rstUs, undefined)
})

t.test('reassembly: sequence numbers that wrap at 2^32, a hole, the byte cap, a reused 4-tuple, and no SYN', async t => {
  const wrapped = tcpFlows(tcpSegments(writePcap(connection([['c', 0, Buffer.from('abcd'), 1], ['c', 4, Buffer.from('efgh'), 1]], { cIsn: 0xfffffffd }))))
  t.equal(wrapped[0]!.toServer.bytes.toString(), 'abcdefgh', 'seq 0xfffffffe, 0x00000002: one stream')
  const holed = tcpFlows(tcpSegments(writePcap(connection([['c', 0, Buffer.from('abc'), 1], ['c', 10, Buffer.from('xyz'), 1]]))))
  t.equal(holed[0]!.toServer.bytes.toString(), 'abc')
  t.ok(holed[0]!.toServer.hole, 'a missing range ends the stream and says so')
  const capped = tcpFlows(tcpSegments(writePcap(connection([['c', 0, Buffer.alloc(100, 1), 1], ['c', 100, Buffer.alloc(100, 2), 1]]))), { maxBytes: 150 })
  t.equal(capped[0]!.toServer.bytes.length, 150)
  t.equal(capped[0]!.toServer.totalBytes, 200, 'the total is still counted')
  t.notOk(capped[0]!.toServer.hole, 'a cut at the cap is not a hole')
  const twice = [...connection([['c', 0, Buffer.from('one'), 1]]), ...connection([['c', 0, Buffer.from('two'), 1]], { cIsn: 9000 }).map(s => ({ ...s, timeUs: s.timeUs + 1000 }))]
  const flows = tcpFlows(tcpSegments(writePcap(twice)))
  t.same(flows.map(f => f.toServer.bytes.toString()), ['one', 'two'], 'a new SYN on the same 4-tuple starts a new flow')
  t.same(tcpFlows(tcpSegments(writePcap(connection([['c', 0, Buffer.from('x'), 1]]).slice(2)))), [], 'no SYN captured: no flow')
})

t.test('TLS records: split from a stream, merged across directions in time order, handshake messages across records', async t => {
  const hello = clientHelloRecord({ cipherSuites: [0x1301], extensions: [ext.serverName('example.com'), ext.supportedVersions([0x0304])] })
  // The hello goes out as two records (a client may fragment it), in three segments.
  const message = hello.subarray(5)
  const asTwo = Buffer.concat([Buffer.from([22, 3, 1, 0, 20]), message.subarray(0, 20), Buffer.from([22, 3, 1, (message.length - 20) >> 8, (message.length - 20) & 0xff]), message.subarray(20)])
  const serverFlight = Buffer.concat([tlsRecord(22, 90), tlsRecord(20, 1), tlsRecord(23, 23), tlsRecord(23, 800)])
  const clientFinish = Buffer.concat([tlsRecord(20, 1), tlsRecord(23, 53), tlsRecord(23, 53)])
  const flow = tcpFlows(tcpSegments(writePcap(connection([
    ['c', 0, asTwo.subarray(0, 7), 100],
    ['c', 7, asTwo.subarray(7, 30), 100],
    ['c', 30, asTwo.subarray(30), 100],
    ['s', 0, serverFlight, 1000],
    ['c', asTwo.length, clientFinish, 1000],
    ['s', serverFlight.length, tlsRecord(23, 16401).subarray(0, 3000), 50], // a record in two segments
    ['s', serverFlight.length + 3000, tlsRecord(23, 16401).subarray(3000), 50]
  ]))))[0]!
  const seq = recordSequence(flow)
  t.same(seq.map(r => `${r.dir}${r.type}:${r.length}`), ['>22:20', `>22:${message.length - 20}`, '<22:90', '<20:1', '<23:23', '<23:800', '>20:1', '>23:53', '>23:53', '<23:16401'])
  t.equal(seq[0]!.timeUs, T0 + 120, 'a record is timed by the segment carrying its header')
  t.equal(seq[1]!.timeUs, T0 + 220)
  t.equal(recordSequence(flow, 3).length, 3, 'at most `max` records')
  const messages = leadingHandshakeMessages(flow.toServer.bytes)
  t.equal(messages.length, 1, 'one ClientHello out of two records')
  t.equal(parseClientHello(messages[0]!.body).serverName, 'example.com')
  t.ok(looksLikeTls(hello))
  t.notOk(looksLikeTls(Buffer.from('GET / HTTP/1.1\r\n')))
  t.notOk(looksLikeTls(Buffer.from([0x13, 0x42, 0x69, 0x74, 0x54])), 'a BitTorrent handshake is not TLS')
  const mixed = Buffer.concat([tlsRecord(23, 4), Buffer.from('garbage!')])
  t.same(splitTlsRecords(mixed), { records: [{ type: 23, version: 0x0303, length: 4, offset: 0 }], garbage: true })
  t.same(splitTlsRecords(tlsRecord(23, 10).subarray(0, 12)).records, [], 'an incomplete record is not counted')
})
