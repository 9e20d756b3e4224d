/**
 * One deadline per connection (src/handshake/deadline.ts, docs/design.md "One deadline per
 * connection"): a peer that trickles its handshake, each step inside that step's own bound, is cut
 * when the connection's deadline passes, not when the sum of the steps' bounds does. Real loopback
 * sockets and real TLS against the one-port listener; the peer is our own initiator whose writes
 * reach the listener one at a time, `STEP_MS` apart.
 */
import t, { type Test } from 'tap'
import net from 'node:net'
import { Duplex } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { HandshakeTimeoutError } from '../../src/errors.js'
import { Deadline } from '../../src/handshake/deadline.js'
import { secureOutbound } from '../../src/handshake/secure-outbound.js'
import { basicLevel } from '../../src/levels/basic.js'
import { PeerListener, type ListenerOptions, type Refusal, type ServedSwarm } from '../../src/wire/listener.js'
import type { PeerLink } from '../../src/wire/peer-link.js'
import { answerLinks } from '../helpers/link-pair.js'
import { btHandshake } from '../fixtures/fuzz/seeds.js'

/** How far apart the trickling peer's writes reach the listener. */
const STEP_MS = 500

const infoHash = randomBytes(20)
const swarms: ServedSwarm[] = [{ wireInfoHashes: [infoHash], level: basicLevel([infoHash]) }]

function assertTimeout (t: Test, err: Error | undefined, bound: RegExp): void {
  t.ok(err instanceof HandshakeTimeoutError, `a HandshakeTimeoutError (${String(err)})`)
  t.equal(err?.name, 'HandshakeTimeoutError')
  t.equal((err as HandshakeTimeoutError | undefined)?.code, 'ERR_HANDSHAKE_TIMEOUT')
  t.match(err?.message, bound, 'the message names the bound that expired')
}

async function listen (t: Test, options: Omit<ListenerOptions, 'swarms'>) {
  const listener = await PeerListener.listen({ swarms: () => swarms, ...options })
  t.teardown(() => listener.close())
  answerLinks(listener)
  const next = new Promise<{ link: PeerLink } | { refusal: Refusal }>(resolve => {
    listener.once('link', link => resolve({ link }))
    listener.once('refused', refusal => resolve({ refusal }))
  })
  return { listener, next }
}

/**
 * A TCP connection whose k-th write reaches the peer k STEP_MS after connecting (or when it is
 * written, if later): a peer that keeps every handshake step busy for most of its bound. The times
 * are counted from the connect, as the listener's deadline is from the accept, not from the write
 * before: an event loop stalled under load delays one write, not every one after it. A write is
 * one write of the TLS layer above, as a socket would send it: when a TLS record straddles two of
 * Node's output buffers (its BIO starts with a 1 KiB chunk, so an AuthHello with much padding does),
 * the TLS layer hands over both in one writev, which this stream receives as `writev` (or, without
 * one, as two `write`s a step apart: the second half of the record a step late). `sent` holds when
 * each write left, in ms from the connect.
 */
async function tricklingConnection (t: Test, port: number): Promise<{ stream: Duplex, sent: number[], connectedAt: number }> {
  const raw = net.connect(port, '127.0.0.1')
  raw.on('error', () => {})
  await new Promise<void>((resolve, reject) => { raw.once('connect', resolve); raw.once('error', reject) })
  const connectedAt = Date.now()
  const sent: number[] = []
  let writes = 0
  let queue = Promise.resolve()
  const send = (data: Buffer, callback: () => void): void => {
    const leavesAt = connectedAt + ++writes * STEP_MS
    queue = queue.then(async () => {
      await new Promise(resolve => setTimeout(resolve, Math.max(0, leavesAt - Date.now())))
      sent.push(Date.now() - connectedAt)
      if (!raw.destroyed) raw.write(data)
    })
    callback()
  }
  const stream = new Duplex({
    write (chunk: Buffer, _encoding, callback) { send(chunk, callback) },
    writev (chunks, callback) { send(Buffer.concat(chunks.map(c => c.chunk as Buffer)), callback) },
    read () {},
    destroy (err, callback) { raw.destroy(); callback(err) }
  })
  raw.on('data', (d: Buffer) => stream.push(d))
  raw.on('close', () => { stream.push(null); stream.destroy() })
  t.teardown(() => { stream.destroy(); raw.destroy() })
  return { stream, sent, connectedAt }
}

t.test('Deadline: within() only brings it forward; race() rejects with a typed error at expiry', async t => {
  // Deadline timers are unref'd (a pending handshake never keeps a process alive): keep this one alive.
  const keepAlive = setTimeout(() => {}, 10_000)
  t.teardown(() => clearTimeout(keepAlive))
  const outer = Deadline.after(1500, 'accept')
  t.equal(outer.within(10_000), outer, 'a longer step bound does not extend the connection\'s deadline')
  const inner = outer.within(50, 'the step')
  t.ok(inner.expiresAt < outer.expiresAt)
  t.equal(inner.bound, '50 ms from the step')
  let closed = false
  const late = new Promise(resolve => setTimeout(resolve, 1000)) // work that would settle too late
  const err = await inner.race(late, 'no answer', () => { closed = true }).catch((e: Error) => e)
  assertTimeout(t, err as Error, /^no answer within 50 ms from the step$/)
  t.ok(closed, 'onExpiry closed what was waited on')
  t.ok(inner.expired)
  const early = outer.within(5000, 'later')
  t.equal(early, outer, 'a bound past the deadline is the deadline')
  await new Promise(resolve => outer.signal.addEventListener('abort', resolve))
  assertTimeout(t, outer.signal.reason as Error, /^handshake not finished within 1500 ms from accept$/)
  const narrowedBefore = Deadline.after(100).within(50)
  const child = Deadline.after(30, 'the parent').within(1000)
  await new Promise(resolve => setTimeout(resolve, 60))
  t.ok(narrowedBefore.expired && child.expired, 'a narrowed deadline expires with its parent')
  assertTimeout(t, await child.race(Promise.resolve(1), 'x').catch((e: Error) => e) as Error, /^x within 30 ms from the parent$/)
  t.equal(await Deadline.after(1000).race(Promise.resolve(7), 'x'), 7, 'what settles first wins')
})

t.test('TLS: the BitTorrent handshake shares the AuthHello\'s AUTH_TIMEOUT_MS, it gets no fresh bound', async t => {
  // TLS ends at the listener about 2 steps after the connect, the AuthHello arrives 1 step later and
  // the BitTorrent handshake 2 steps after the TLS handshake: each inside 1.6 steps of its own, not
  // inside 1.6 steps together.
  const authTimeoutMs = 1.6 * STEP_MS
  const { listener, next } = await listen(t, { policy: 'require-tls', authTimeoutMs, tlsTimeoutMs: 20 * STEP_MS })
  const { stream, sent } = await tricklingConnection(t, listener.port)
  const channel = await secureOutbound(stream as unknown as net.Socket, basicLevel([infoHash]), { tlsTimeoutMs: 20 * STEP_MS, authTimeoutMs: 20 * STEP_MS })
  t.teardown(() => channel.socket.destroy())
  channel.socket.write(btHandshake(infoHash, randomBytes(20)))
  const outcome = await next
  if (!('link' in outcome)) throw new Error(`expected a link, got a refusal: ${outcome.refusal.error.message}`)
  // A handshake that got through (a fresh bound) leaves the link open: closed here, so the test fails at once.
  const err = await outcome.link.remoteHandshake.then(() => { outcome.link.close(); return undefined }, (e: Error) => e)
  assertTimeout(t, err, new RegExp(`^no BitTorrent handshake within ${authTimeoutMs} ms from the end of the TLS handshake$`))
  t.ok(sent.length <= 3, `cut before the BitTorrent handshake reached the listener (writes left at ${sent.join(', ')} ms)`)
  t.same(await outcome.link.closed, err, 'and the link closed with it')
})

t.test('TLS: each step inside its own bound, the whole past the connection\'s deadline: cut at the deadline', async t => {
  // The TLS handshake ends about 2 steps after accept (inside the TLS stack's bound), the AuthHello
  // would arrive 1 step later (inside AUTH_TIMEOUT_MS from there): the deadline of 2.5 steps from
  // accept cuts it first, and the connection is a web visit, as any AuthHello timeout is.
  const deadlineMs = 2.5 * STEP_MS
  const { listener, next } = await listen(t, { policy: 'require-tls', authTimeoutMs: 2 * STEP_MS, tlsTimeoutMs: 20 * STEP_MS, deadlineMs })
  const { stream, sent } = await tricklingConnection(t, listener.port)
  const started = Date.now()
  void secureOutbound(stream as unknown as net.Socket, basicLevel([infoHash]), { tlsTimeoutMs: 20 * STEP_MS, authTimeoutMs: 20 * STEP_MS }).then(c => c.socket.destroy(), () => {})
  const outcome = await next
  if (!('refusal' in outcome)) { outcome.link.close(); throw new Error('the trickling peer was accepted') }
  assertTimeout(t, outcome.refusal.error, new RegExp(`^no AuthHello within ${deadlineMs} ms from accept$`))
  t.equal(outcome.refusal.decoy, true, 'handed to the decoy, as any AuthHello timeout')
  t.ok(Date.now() - started < 3 * STEP_MS, 'before the AuthHello was sent')
  t.ok(sent.length <= 2, `the AuthHello never reached the listener (writes left at ${sent.join(', ')} ms)`)
})

t.test('plaintext: the sniff and the legacy handshake share the connection\'s deadline', async t => {
  // The first 10 bytes at once, 10 more a step later (the sniff decides), the rest at 2.3 steps:
  // inside the sniff's 1.5 steps and inside the legacy handshake's 1.5 steps from there, not
  // inside the connection's 2 steps.
  const deadlineMs = 2 * STEP_MS
  const { listener, next } = await listen(t, { policy: 'allow-plain', sniffTimeoutMs: 1.5 * STEP_MS, authTimeoutMs: 1.5 * STEP_MS, deadlineMs })
  const raw = net.connect(listener.port, '127.0.0.1')
  raw.on('error', () => {})
  t.teardown(() => raw.destroy())
  await new Promise(resolve => raw.once('connect', resolve))
  const handshake = btHandshake(infoHash, randomBytes(20))
  raw.write(handshake.subarray(0, 10))
  const timers = [
    setTimeout(() => raw.write(handshake.subarray(10, 20)), STEP_MS),
    setTimeout(() => { if (!raw.destroyed) raw.write(handshake.subarray(20)) }, 2.3 * STEP_MS)
  ]
  t.teardown(() => timers.forEach(clearTimeout))
  const outcome = await next
  if (!('refusal' in outcome)) { outcome.link.close(); throw new Error('the trickling peer was accepted') }
  t.equal(outcome.refusal.transport, 'plain')
  assertTimeout(t, outcome.refusal.error, new RegExp(`^no BitTorrent handshake within ${deadlineMs} ms from accept$`))
})

t.test('end(): the handshake is over, so the deadline and the one it narrows never expire', async t => {
  const connection = Deadline.after(60, 'accept')
  const step = connection.within(40, 'the end of the TLS handshake')
  let expiries = 0
  connection.whenExpired(() => { expiries++ })
  step.whenExpired(() => { expiries++ })
  step.end()
  await new Promise(resolve => setTimeout(resolve, 150))
  t.equal(expiries, 0, 'neither deadline expired past both bounds')
  t.notOk(connection.expired)
  t.notOk(step.expired)
})

t.test('a narrowed deadline that is not ended still expires, and so does its connection', async t => {
  const connection = Deadline.after(60, 'accept')
  const step = connection.within(20, 'the connect')
  const expired: string[] = []
  connection.whenExpired(() => expired.push('connection'))
  step.whenExpired(() => expired.push('step'))
  await new Promise(resolve => setTimeout(resolve, 150))
  t.same(expired, ['step', 'connection'])
  assertTimeout(t, step.signal.reason as Error, /20 ms from the connect/)
})

