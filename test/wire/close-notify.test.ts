/**
 * A TLS link that ends well ends as an HTTPS connection does (close-notify.ts): TLS close_notify each
 * way, then a FIN each way, where it used to end with a bare TCP close after the peer wire's last
 * message. Watched from the middle by the demo's recorder, a half-closing relay that follows each
 * direction's TLS records and how each side ended.
 * A link closed for an error is destroyed at once, and a peer that never answers cannot hold the
 * connection past CLOSE_NOTIFY_WAIT_MS.
 */
import t, { type Test } from 'tap'
import type net from 'node:net'
import tls from 'node:tls'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { basicLevel } from '../../src/levels/basic.js'
import { createResponderCertificate } from '../../src/pki/responder-certificate.js'
import { dial } from '../../src/wire/dialer.js'
import { PeerListener } from '../../src/wire/listener.js'
import type { PeerLink } from '../../src/wire/peer-link.js'
import { CLOSE_NOTIFY_WAIT_MS, endWithCloseNotify, TLS13_CLOSE_NOTIFY_RECORD } from '../../src/wire/close-notify.js'
import { MalformedMessageError } from '../../src/errors.js'
import { Recorder, type DirectionEnd } from '../../src/demo/recorder.js'
import { createGuardedWire, dropFurtherReads } from '../../src/wire/guarded-wire.js'
import type { BorrowedReader } from '../../src/handshake/borrowed-reads.js'

const ih = randomBytes(20)
const level = basicLevel([ih])

async function linkedPair (t: Test): Promise<{ ours: PeerLink, theirs: PeerLink, up: DirectionEnd, down: DirectionEnd, done: Promise<void> }> {
  const listener = await PeerListener.listen({ policy: 'require-tls', swarms: () => [{ wireInfoHashes: [ih], level }] })
  t.teardown(() => listener.close())
  const theirsP = new Promise<PeerLink>(resolve => listener.once('link', link => {
    link.wire.handshake(link.infoHash, randomBytes(20), { dht: false })
    resolve(link)
  }))
  const middle = await Recorder.start({ host: '127.0.0.1', port: listener.port }, [])
  t.teardown(() => middle.close())
  const ours = await dial({ host: '127.0.0.1', port: middle.port, level, wireInfoHash: ih, policy: 'require-tls' })
  ours.wire.handshake(ih, randomBytes(20), { dht: false })
  const theirs = await theirsP
  await Promise.all([ours.remoteHandshake, theirs.remoteHandshake])
  const { up, down } = middle.recording.connections[0]!
  return { ours, theirs, up, down, done: middle.quiet(10 * CLOSE_NOTIFY_WAIT_MS) }
}

const CLOSE_NOTIFY = [...TLS13_CLOSE_NOTIFY_RECORD]

t.test('a TLS link closed without an error: close_notify each way, then a FIN each way', async t => {
  const { ours, theirs, up, down, done } = await linkedPair(t)
  ours.close()
  t.equal(await theirs.closed, undefined, 'the other side\'s link closes too, without an error')
  await done
  t.same(up.lastRecord, CLOSE_NOTIFY, 'the closing side\'s last record is a close_notify')
  t.same(down.lastRecord, CLOSE_NOTIFY, 'and so is the other side\'s answer')
  t.equal(up.ending, 'fin', 'the closing side ends with a FIN')
  t.equal(down.ending, 'fin', 'and so does the other side')
})

t.test('the side that sees the peer end first answers with its own close_notify', async t => {
  const { ours, theirs, up, down, done } = await linkedPair(t)
  theirs.close()
  t.equal(await ours.closed, undefined)
  await done
  t.same(down.lastRecord, CLOSE_NOTIFY, 'the responder closed first, with close_notify')
  t.same(up.lastRecord, CLOSE_NOTIFY, 'the initiator answered with its own')
  t.same([up.ending, down.ending], ['fin', 'fin'])
})

t.test('a TLS link closed for an error is destroyed at once: no close_notify', async t => {
  const { ours, up, done } = await linkedPair(t)
  const err = new MalformedMessageError('test: a violation')
  ours.close(err)
  t.equal(await ours.closed, err)
  await done
  t.notSame(up.lastRecord, CLOSE_NOTIFY, 'no close_notify from the side that failed')
})

t.test('a peer that never answers the close_notify cannot hold the connection open', async t => {
  // A TLS server that reads nothing and never ends its side: our close_notify gets no answer.
  const server = tls.createServer({ ...await createResponderCertificate(), allowHalfOpen: true }, socket => { socket.pause() })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const socket = tls.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', rejectUnauthorized: false })
  await once(socket, 'secureConnect')
  const started = performance.now()
  endWithCloseNotify(socket)
  await once(socket, 'close')
  const waited = performance.now() - started
  t.ok(waited >= CLOSE_NOTIFY_WAIT_MS - 50, `destroyed after the wait (${waited.toFixed(0)} ms), not before the peer could answer`)
  t.ok(socket.destroyed)
})

t.test('what the peer still sends after the close_notify is read and dropped, so both FINs come', async t => {
  const { ours, theirs, up, down, done } = await linkedPair(t)
  // Messages already on their way when this side closes: read past, not parsed, not waited on.
  for (let i = 0; i < 3000; i++) theirs.wire.have(i)
  ours.close()
  let parsed = 0
  ours.wire.on('have', () => { parsed++ })
  t.equal(await ours.closed, undefined)
  t.equal(await theirs.closed, undefined)
  const started = performance.now()
  await done
  t.ok(performance.now() - started < CLOSE_NOTIFY_WAIT_MS, 'the connection ended on the peer\'s FIN, not at the wait\'s end')
  t.same([up.ending, down.ending], ['fin', 'fin'], 'FINs each way, no reset')
  t.same(down.lastRecord, CLOSE_NOTIFY)
  t.equal(parsed, 0, 'nothing read after the close reached the closed link\'s wire')
  t.equal((ours.wire as unknown as { _bufferSize: number })._bufferSize, 0, 'nor was it kept in the wire\'s parse buffer')
})

t.test('a closed link\'s wire drops what its socket still reads, at once and without asking it to pause', async t => {
  const wire = createGuardedWire('tcpIncoming', 0, err => t.fail(err.message)) as ReturnType<typeof createGuardedWire> & BorrowedReader & { readsDropped: boolean, _bufferSize: number }
  dropFurtherReads(wire)
  t.equal(wire.readsDropped, true)
  // The start of a handshake, which a live wire would keep until the rest came.
  t.equal(wire.readBorrowed(Buffer.from('\x13BitTorrent protocol', 'latin1')), true, 'no back-pressure: the socket reads on to the peer\'s end')
  t.equal(wire._bufferSize, 0, 'nothing kept')
})
