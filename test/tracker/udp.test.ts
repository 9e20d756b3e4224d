/**
 * UDP trackers (BEP 15, issue 16): the client against a hostile fake tracker on 127.0.0.1 (every error
 * path: truncated, oversized, wrong action, wrong transaction, error, silence; the retransmission
 * schedule; strays; IPv6 peers; BEP 41 URLData), and against Debian's opentracker: a real announce,
 * and two sessions that find each other through it and transfer over TLS.
 */
import t, { type Test } from 'tap'
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { announceUdp } from '../../src/tracker/client/udp-client.js'
import { announceAny } from '../../src/tracker/client/announce.js'
import { TrackerError } from '../../src/tracker/errors.js'
import { BttlsError } from '../../src/errors.js'
import {
  ACTION_ANNOUNCE, ACTION_CONNECT, ACTION_ERROR, ANNOUNCE_REQUEST_LENGTH, encodeAnnounceRequest, MAX_ERROR_MESSAGE, UDP_PROTOCOL_ID
} from '../../src/tracker/client/udp-messages.js'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import type { DiscoveryEvent } from '../../src/session/discovery.js'
import type { PeerLink } from '../../src/wire/peer-link.js'
import { rejection } from '../helpers/tcp.js'
import { completed, fileSha256, randomFile, session, tempDir } from '../helpers/session-pair.js'
import { opentrackerMissing, startOpentracker } from '../helpers/opentracker.js'

const INFO_HASH = createHash('sha1').update('udp tracker test').digest()
const PEER_ID = Buffer.from('-BT0001-udptest00000')
const REQ = { infoHash: INFO_HASH, peerId: PEER_ID, port: 6881, left: 100, event: 'started' as const }
/**
 * BEP 15's schedule scaled down (15 s to 200 ms) for trackers that answer: wide enough that a loaded
 * machine still answers within the tries. Tests of silence set their own, shorter schedule.
 */
const FAST = { retransmitBaseMs: 200, maxRetransmits: 3 }

interface Received { readonly msg: Buffer, readonly from: RemoteInfo, readonly at: number }
type Handler = (msg: Buffer, reply: (b: Buffer) => void, from: RemoteInfo) => void

/** A UDP "tracker" that hands each datagram to `handler`; it records what it got and when. */
async function fakeTracker (t: Test, handler: Handler, host = '127.0.0.1'): Promise<{ url: string, received: Received[], socket: Socket }> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
  const received: Received[] = []
  socket.on('message', (msg, from) => {
    received.push({ msg, from, at: Date.now() })
    handler(msg, b => socket.send(b, from.port, from.address), from)
  })
  await new Promise<void>((resolve, reject) => { socket.once('error', reject); socket.bind(0, host, () => resolve()) })
  t.teardown(() => new Promise<void>(resolve => socket.close(() => resolve())))
  const h = host.includes(':') ? `[${host}]` : host
  return { url: `udp://${h}:${socket.address().port}/announce`, received, socket }
}

const u32 = (...values: number[]): Buffer => Buffer.concat(values.map(v => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b }))
const tidOf = (msg: Buffer): number => msg.readUInt32BE(12)
const actionOf = (msg: Buffer): number => msg.readUInt32BE(8)
const CONNECTION_ID = Buffer.from('0102030405060708', 'hex')

function connectReply (msg: Buffer): Buffer {
  return Buffer.concat([u32(ACTION_CONNECT, tidOf(msg)), CONNECTION_ID])
}
function announceReply (msg: Buffer, peers: Buffer, interval = 1800): Buffer {
  return Buffer.concat([u32(ACTION_ANNOUNCE, tidOf(msg), interval, 3, 7), peers])
}
const PEERS4 = Buffer.from([127, 0, 0, 9, 0x1a, 0xe1, 10, 1, 2, 3, 0, 80])

/** A well-behaved tracker, except where `announce` says otherwise. */
function tracker (announce: (msg: Buffer, reply: (b: Buffer) => void) => void): Handler {
  return (msg, reply) => actionOf(msg) === ACTION_CONNECT ? reply(connectReply(msg)) : announce(msg, reply)
}

async function trackerError (p: Promise<unknown>): Promise<TrackerError> {
  const err = await rejection(p)
  if (!(err instanceof TrackerError)) throw err
  return err
}

function assertTrackerError (t: Test, err: TrackerError, code: string, message?: RegExp): void {
  t.equal(err.name, 'TrackerError')
  t.ok(err instanceof BttlsError, 'a BttlsError')
  t.equal(err.code, code)
  if (message !== undefined) t.match(err.message, message)
}

t.test('connect then announce: connection id, transaction ids, fields, IPv4 peers', async t => {
  const f = await fakeTracker(t, tracker((msg, reply) => reply(announceReply(msg, PEERS4, 900))))
  const r = await announceUdp(f.url, { ...REQ, uploaded: 5, downloaded: 6, numwant: 50 }, FAST)
  t.same(r.peers, [{ host: '127.0.0.9', port: 6881 }, { host: '10.1.2.3', port: 80 }])
  t.equal(r.interval, 900)
  t.equal(r.complete, 7, 'seeders')
  t.equal(r.incomplete, 3, 'leechers')
  const [connect, ann] = f.received.map(x => x.msg)
  t.equal(connect!.length, 16)
  t.equal(connect!.readBigUInt64BE(0), UDP_PROTOCOL_ID, 'the protocol id')
  t.same(ann!.subarray(0, 8), CONNECTION_ID, 'the announce carries the connection id the tracker gave')
  t.not(tidOf(ann!), tidOf(connect!), 'a fresh transaction id per request')
  t.same(ann!.subarray(16, 36), INFO_HASH)
  t.same(ann!.subarray(36, 56), PEER_ID)
  t.equal(ann!.readBigUInt64BE(56), 6n, 'downloaded')
  t.equal(ann!.readBigUInt64BE(64), 100n, 'left')
  t.equal(ann!.readBigUInt64BE(72), 5n, 'uploaded')
  t.equal(ann!.readUInt32BE(80), 2, 'event started = 2')
  t.equal(ann!.readInt32BE(92), 50, 'num_want')
  t.equal(ann!.readUInt16BE(96), 6881, 'port')
})

t.test('BEP 41: the URL\'s path and query go as URLData options; a bare URL sends none', async t => {
  const f = await fakeTracker(t, tracker((msg, reply) => reply(announceReply(msg, Buffer.alloc(0)))))
  const url = f.url.replace('/announce', `/announce/${'p'.repeat(300)}?key=v`)
  await announceUdp(url, REQ, FAST)
  const ann = f.received[1]!.msg
  const options = ann.subarray(ANNOUNCE_REQUEST_LENGTH)
  const data: Buffer[] = []
  let off = 0
  while (options[off] === 0x02) { data.push(options.subarray(off + 2, off + 2 + options[off + 1]!)); off += 2 + options[off + 1]! }
  t.equal(options[off], 0x00, 'EndOfOptions')
  t.equal(off + 1, options.length, 'nothing after it')
  t.same(data.map(d => d.length), [255, 61], 'split in options of at most 255 bytes')
  t.equal(Buffer.concat(data).toString(), `/announce/${'p'.repeat(300)}?key=v`)
  await announceUdp(f.url.replace('/announce', ''), REQ, FAST)
  t.equal(f.received[3]!.msg.length, ANNOUNCE_REQUEST_LENGTH, 'no path, no option')
  t.throws(() => encodeAnnounceRequest({ connectionId: 1n, transactionId: 1, infoHash: INFO_HASH, peerId: PEER_ID, downloaded: 0, left: 0, uploaded: 0, key: 0, numwant: -1, port: 1, urlData: 'x'.repeat(2000) }), RangeError)
})

t.test('retransmits after base·2^n with no answer, then fails as unreachable', async t => {
  const f = await fakeTracker(t, () => {})
  const err = await trackerError(announceUdp(f.url, REQ, { retransmitBaseMs: 100, maxRetransmits: 2 }))
  assertTrackerError(t, err, 'ERR_TRACKER_UNREACHABLE', /no answer after 3 tries/)
  t.equal(f.received.length, 3, 'the first try and 2 retransmissions, all connect requests')
  t.ok(f.received.every(r => actionOf(r.msg) === ACTION_CONNECT))
  const [a, b, c] = f.received.map(r => r.at)
  // Receipt times carry the event loop's lag on either datagram, so the schedule is judged by the gaps'
  // sum and order: fixed 100 ms waits give 200 ms and equal gaps; base·2^n gives 300 ms, the second longer.
  t.ok(c! - a! >= 270 && c! - b! > b! - a!, `waits double: ${b! - a!} ms then ${c! - b!} ms`)
})

t.test('a lost answer is retransmitted, and the retry succeeds; the connection id is reused', async t => {
  let announces = 0
  const f = await fakeTracker(t, tracker((msg, reply) => { if (++announces > 1) reply(announceReply(msg, PEERS4)) }))
  const r = await announceUdp(f.url, REQ, FAST)
  t.equal(r.peers.length, 2)
  t.same(f.received.map(x => actionOf(x.msg)), [ACTION_CONNECT, ACTION_ANNOUNCE, ACTION_ANNOUNCE], 'one connect, the announce twice')
  t.not(tidOf(f.received[1]!.msg), tidOf(f.received[2]!.msg), 'the retransmission has a new transaction id')
})

t.test('datagrams with another transaction id are dropped; only those: ERR_UDP_TRACKER_WRONG_TRANSACTION', async t => {
  let stray = true
  const f = await fakeTracker(t, tracker((msg, reply) => {
    const bad = announceReply(msg, PEERS4)
    bad.writeUInt32BE((tidOf(msg) + 1) >>> 0, 4)
    reply(bad)
    if (!stray) reply(announceReply(msg, PEERS4))
  }))
  const err = await trackerError(announceUdp(f.url, REQ, { retransmitBaseMs: 100, maxRetransmits: 1 }))
  assertTrackerError(t, err, 'ERR_UDP_TRACKER_WRONG_TRANSACTION', /none answering our transaction/)
  stray = false
  const r = await announceUdp(f.url, REQ, FAST)
  t.equal(r.peers.length, 2, 'a stray before the answer does not end the exchange')
})

t.test('datagrams from another port than the tracker\'s are ignored', async t => {
  const other = createSocket('udp4')
  await new Promise<void>(resolve => other.bind(0, '127.0.0.1', () => resolve()))
  t.teardown(() => new Promise<void>(resolve => other.close(() => resolve())))
  const f = await fakeTracker(t, tracker(() => {}))
  f.socket.on('message', (msg, from) => {
    if (actionOf(msg) === ACTION_ANNOUNCE) other.send(announceReply(msg, PEERS4), from.port, from.address)
  })
  const err = await trackerError(announceUdp(f.url, REQ, { retransmitBaseMs: 40, maxRetransmits: 0 }))
  assertTrackerError(t, err, 'ERR_TRACKER_UNREACHABLE')
})

t.test('an error response is a TrackerError with the tracker\'s message, bounded and without control characters', async t => {
  const f = await fakeTracker(t, tracker((msg, reply) => reply(Buffer.concat([u32(ACTION_ERROR, tidOf(msg)), Buffer.from('torrent\nnot registered')]))))
  assertTrackerError(t, await trackerError(announceUdp(f.url, REQ, FAST)), 'ERR_TRACKER_FAILURE', /^UDP tracker: torrent not registered$/)
  const g = await fakeTracker(t, (msg, reply) => reply(Buffer.concat([u32(ACTION_ERROR, tidOf(msg)), Buffer.alloc(5000, 'A')])))
  const err = await trackerError(announceUdp(g.url, REQ, FAST))
  assertTrackerError(t, err, 'ERR_TRACKER_FAILURE')
  t.ok(err.message.length < MAX_ERROR_MESSAGE + 20, 'the message is cut')
  t.equal(g.received.length, 1, 'an error ends the exchange: no retransmission')
})

t.test('truncated answers to our transaction: ERR_UDP_TRACKER_TRUNCATED', async t => {
  const shortConnect = await fakeTracker(t, (msg, reply) => reply(connectReply(msg).subarray(0, 12)))
  assertTrackerError(t, await trackerError(announceUdp(shortConnect.url, REQ, FAST)), 'ERR_UDP_TRACKER_TRUNCATED', /connect response of 12 bytes/)
  const shortAnnounce = await fakeTracker(t, tracker((msg, reply) => reply(announceReply(msg, Buffer.alloc(0)).subarray(0, 16))))
  assertTrackerError(t, await trackerError(announceUdp(shortAnnounce.url, REQ, FAST)), 'ERR_UDP_TRACKER_TRUNCATED', /announce response of 16 bytes/)
  const partialPeer = await fakeTracker(t, tracker((msg, reply) => reply(announceReply(msg, PEERS4.subarray(0, 10)))))
  assertTrackerError(t, await trackerError(announceUdp(partialPeer.url, REQ, FAST)), 'ERR_UDP_TRACKER_TRUNCATED', /partial 6-byte peer entry/)
})

t.test('an oversized answer: ERR_UDP_TRACKER_OVERSIZED', async t => {
  const f = await fakeTracker(t, tracker((msg, reply) => reply(announceReply(msg, Buffer.alloc(6 * 2000, 1)))))
  assertTrackerError(t, await trackerError(announceUdp(f.url, REQ, FAST)), 'ERR_UDP_TRACKER_OVERSIZED', /12020 bytes, more than 8192/)
  const g = await fakeTracker(t, tracker((msg, reply) => reply(announceReply(msg, PEERS4))))
  assertTrackerError(t, await trackerError(announceUdp(g.url, REQ, { ...FAST, maxResponseBytes: 31 })), 'ERR_UDP_TRACKER_OVERSIZED', /32 bytes/)
})

t.test('an answer of another action: ERR_UDP_TRACKER_WRONG_ACTION', async t => {
  const f = await fakeTracker(t, (msg, reply) => reply(announceReply(msg, Buffer.alloc(0))))
  assertTrackerError(t, await trackerError(announceUdp(f.url, REQ, FAST)), 'ERR_UDP_TRACKER_WRONG_ACTION', /action 1 to a request of action 0/)
  const g = await fakeTracker(t, tracker((msg, reply) => reply(connectReply(msg))))
  assertTrackerError(t, await trackerError(announceUdp(g.url, REQ, FAST)), 'ERR_UDP_TRACKER_WRONG_ACTION', /action 0 to a request of action 1/)
})

t.test('timeoutMs bounds the whole exchange', async t => {
  const f = await fakeTracker(t, () => {})
  const start = Date.now()
  const err = await trackerError(announceUdp(f.url, REQ, { retransmitBaseMs: 10_000, timeoutMs: 200 }))
  assertTrackerError(t, err, 'ERR_TRACKER_UNREACHABLE', /within 200 ms/)
  t.ok(Date.now() - start < 2000)
})

t.test('bad URLs: not udp, no port, unresolvable host', async t => {
  assertTrackerError(t, await trackerError(announceUdp('http://127.0.0.1:1/announce', REQ)), 'ERR_TRACKER_UNREACHABLE', /not a UDP tracker/)
  assertTrackerError(t, await trackerError(announceUdp('udp://127.0.0.1/announce', REQ)), 'ERR_TRACKER_UNREACHABLE', /no port/)
  assertTrackerError(t, await trackerError(announceUdp('udp://no-such-host.invalid:6969/announce', REQ, FAST)), 'ERR_TRACKER_UNREACHABLE')
  assertTrackerError(t, await trackerError(announceAny('not a url', REQ)), 'ERR_TRACKER_UNREACHABLE', /not a tracker URL/)
})

t.test('IPv6: 18-byte peers over an IPv6 socket', async t => {
  const probe = createSocket('udp6')
  const v6 = await new Promise<boolean>(resolve => { probe.once('error', () => resolve(false)); probe.bind(0, '::1', () => resolve(true)) })
  await new Promise<void>(resolve => { try { probe.close(() => resolve()) } catch { resolve() } })
  if (!v6) { t.comment('skipped: no IPv6 loopback (::1) on this machine'); t.pass('skipped: no ::1'); return }
  const peer = Buffer.concat([Buffer.from('20010db8000000000000000000000001', 'hex'), Buffer.from([0x1a, 0xe1])])
  const f = await fakeTracker(t, tracker((msg, reply) => reply(announceReply(msg, peer))), '::1')
  const r = await announceUdp(f.url, REQ, FAST)
  t.same(r.peers, [{ host: '2001:db8:0:0:0:0:0:1', port: 6881 }])
  const g = await fakeTracker(t, tracker((msg, reply) => reply(announceReply(msg, PEERS4))), '::1')
  assertTrackerError(t, await trackerError(announceUdp(g.url, REQ, FAST)), 'ERR_UDP_TRACKER_TRUNCATED', /partial 18-byte peer entry/)
})

// --- opentracker ---------------------------------------------------------------------------------

const missing = opentrackerMissing()

t.test('opentracker: a real UDP announce lists the peers announced before', { skip: missing ?? false }, async t => {
  const ot = await startOpentracker(t, [INFO_HASH.toString('hex')])
  const first = await announceUdp(ot.udpUrl, { ...REQ, port: 7001 }, { ...FAST, localAddress: '127.0.0.2' })
  t.ok(first.interval > 0, `interval ${first.interval}`)
  const second = await announceUdp(ot.udpUrl, { ...REQ, peerId: Buffer.from('-BT0001-udptest00001'), port: 7002 }, { ...FAST, localAddress: '127.0.0.3' })
  t.ok(second.peers.some(p => p.host === '127.0.0.2' && p.port === 7001), 'the first announcer is listed, at its source address')
  // opentracker answers a torrent off its whitelist with a bare 8-byte header (action 1, no fields).
  const refused = await trackerError(announceUdp(ot.udpUrl, { ...REQ, infoHash: Buffer.alloc(20, 7) }, FAST))
  assertTrackerError(t, refused, 'ERR_UDP_TRACKER_TRUNCATED', /announce response of 8 bytes/)
})

t.test('opentracker: two sessions find each other through its UDP port and transfer over TLS', { skip: missing ?? false }, async t => {
  const dir = await tempDir(t)
  const sum = await randomFile(join(dir, 'seed'), 'd.bin', 200_000)
  const probe = await createTorrent(join(dir, 'seed', 'd.bin'), { version: 'v1', pieceLength: 32 * 1024 })
  const ot = await startOpentracker(t, [parseTorrent(probe.bytes).infoHashV1!.toString('hex')])
  const { bytes } = await createTorrent(join(dir, 'seed', 'd.bin'), { version: 'v1', pieceLength: 32 * 1024, trackers: [ot.udpUrl] })
  const metainfo = parseTorrent(bytes)
  const trackers = { minIntervalS: 1, udp: FAST }
  const seeder = await session(t, { host: '127.0.0.2', trackers, pex: false })
  const events: DiscoveryEvent[] = []
  seeder.on('discovery', e => events.push(e))
  await seeder.addTorrent(metainfo, join(dir, 'seed'))
  await until(() => events.some(e => e.kind === 'announced'))
  const leecher = await session(t, { host: '127.0.0.3', trackers, pex: false })
  const links: PeerLink[] = []
  leecher.on('link', l => links.push(l))
  const h = await leecher.addTorrent(metainfo, join(dir, 'out'))
  await completed(h.swarm)
  t.equal(await fileSha256(join(dir, 'out', 'd.bin')), sum)
  t.ok(links.some(l => l.remoteAddress === '127.0.0.2' && l.remotePort === seeder.port && l.transport === 'tls'), 'the seeder, found through opentracker, dialed over TLS')
})

async function until (test: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!test()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}
