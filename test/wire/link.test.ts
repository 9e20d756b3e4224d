/**
 * What an established link keeps (src/wire/link.ts, pipe-wire.ts): once the peer's BitTorrent
 * handshake is in, or the link closed first, the connection's deadline is ended, so an idle link holds
 * no timer of its handshake and is never cut by it. Real loopback TCP; the peer is a raw socket.
 */
import t, { type Test } from 'tap'
import net from 'node:net'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { PeerClosedError } from '../../src/errors.js'
import { Deadline } from '../../src/handshake/deadline.js'
import { pipeWire } from '../../src/wire/pipe-wire.js'
import { btHandshake } from '../fixtures/fuzz/seeds.js'

async function socketPair (t: Test): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const accepted = once(server, 'connection') as Promise<[net.Socket]>
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  await once(client, 'connect')
  const [inbound] = await accepted
  server.close()
  for (const s of [client, inbound]) { s.on('error', () => {}); t.teardown(() => s.destroy()) }
  return [client, inbound]
}

const infoHash = randomBytes(20)

t.test('the peer\'s handshake in: the deadline is ended, and the idle link outlives it', async t => {
  const [ours, theirs] = await socketPair(t)
  const deadline = Deadline.after(200, 'the test')
  const { link } = pipeWire({ socket: ours, raw: ours, direction: 'outbound', transport: 'plain', infoHash, deadline })
  theirs.write(btHandshake(infoHash, randomBytes(20)))
  const hs = await link.remoteHandshake
  t.ok(hs.infoHash.equals(infoHash))
  let closedWith: Error | undefined | null = null
  void link.closed.then(err => { closedWith = err })
  await new Promise(resolve => setTimeout(resolve, 400))
  t.notOk(deadline.expired, 'its timer was stopped')
  t.equal(closedWith, null, 'the link is still open')
  // Busy again after idling: both directions still carry messages (the peer's, once ours is sent).
  const received = once(theirs, 'data')
  link.wire.handshake(infoHash, randomBytes(20))
  t.ok(((await received)[0] as Buffer).length >= 68, 'our handshake reached the peer')
  const interested = once(link.wire, 'interested')
  theirs.write(Buffer.from([0, 0, 0, 1, 2]))
  await interested
  link.close()
  t.equal(await link.closed, undefined, 'a clean close')
})

t.test('closed before the handshake: it rejects with PeerClosedError, and the deadline is ended', async t => {
  const [ours, theirs] = await socketPair(t)
  const deadline = Deadline.after(200, 'the test')
  const { link } = pipeWire({ socket: ours, raw: ours, direction: 'outbound', transport: 'plain', infoHash, deadline })
  theirs.destroy()
  const err = await link.remoteHandshake.then(() => undefined, (e: Error) => e)
  t.ok(err instanceof PeerClosedError, `a PeerClosedError (${String(err)})`)
  t.equal(err?.name, 'PeerClosedError')
  await new Promise(resolve => setTimeout(resolve, 400))
  t.notOk(deadline.expired, 'its timer was stopped')
})

t.test('no handshake before the deadline: the link closes with its HandshakeTimeoutError', async t => {
  const [ours] = await socketPair(t)
  const deadline = Deadline.after(100, 'the test')
  const { link } = pipeWire({ socket: ours, raw: ours, direction: 'outbound', transport: 'plain', infoHash, deadline })
  const err = await link.closed
  t.equal(err?.name, 'HandshakeTimeoutError')
  t.match(err?.message, /no BitTorrent handshake within 100 ms from the test/)
})
