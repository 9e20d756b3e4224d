/**
 * readFirstBytes over real loopback sockets: bytes arriving a few at a time until sniff() can decide,
 * bounded in bytes and time, with typed errors for a silent peer, one that hangs up, and a ClientHello
 * that announces more than we accept; classify() maps "not yet decidable" to MSE.
 */
import t, { type Test } from 'tap'
import type net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { classify, readFirstBytes } from '../../src/wire/first-bytes.js'
import { HandshakeTimeoutError, UnrecognizedProtocolError } from '../../src/errors.js'
import { SNIFF_MAX_BYTES } from '../../src/protocol/sniff.js'
import { Deadline } from '../../src/handshake/deadline.js'
import { closed, rejection, tcpPair } from '../helpers/tcp.js'
import { assertTyped } from '../helpers/typed-error.js'

const BT = Buffer.from('\x13BitTorrent protocol', 'latin1')
// A TLS 1.0-record ClientHello prefix: type 16, version 03 01, record length 0x0200, handshake type 01, hello length 0x0001fc.
const TLS_PREFIX = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc])

async function pair (t: Test): Promise<{ client: net.Socket, server: net.Socket }> {
  const p = await tcpPair()
  t.teardown(() => { p.client.destroy(); p.server.destroy() })
  return p
}

async function dribble (socket: net.Socket, bytes: Buffer): Promise<void> {
  for (const b of bytes) {
    socket.write(Buffer.from([b]))
    await sleep(5)
  }
}

t.test('classify', async t => {
  t.equal(classify(TLS_PREFIX), 'tls')
  t.equal(classify(BT), 'plain')
  t.equal(classify(Buffer.from([0x42, 0x17])), 'mse')
  t.equal(classify(BT.subarray(0, 5)), 'mse', 'undecided (a prefix of the BT handshake) counts as MSE')
  t.equal(classify(Buffer.alloc(0)), 'mse')
})

t.test('TLS and plain BitTorrent, a byte at a time: read until decidable, then the socket is left paused', async t => {
  for (const [bytes, kind] of [[TLS_PREFIX, 'tls'], [BT, 'plain']] as const) {
    const { client, server } = await pair(t)
    const read = readFirstBytes(server, Deadline.after(2000))
    await dribble(client, bytes)
    const first = await read
    t.same(first, bytes, `${kind}: every byte up to the decision, none consumed beyond`)
    t.equal(classify(first), kind)
    t.ok(server.isPaused(), 'paused for the next reader')
    t.equal(server.listenerCount('data'), 0, 'its listeners removed')
    // What follows is still there for the next reader.
    client.write('next')
    const [next] = await Promise.all([new Promise<Buffer>(resolve => server.once('data', resolve)), Promise.resolve(server.resume())])
    t.equal(next.toString(), 'next')
  }
})

t.test('MSE is decided on the first byte that is neither', async t => {
  const { client, server } = await pair(t)
  const read = readFirstBytes(server, Deadline.after(2000))
  client.write(Buffer.from([0x99]))
  t.same(await read, Buffer.from([0x99]))
})

t.test('a burst larger than needed is returned whole, and the bound is SNIFF_MAX_BYTES', async t => {
  const { client, server } = await pair(t)
  const read = readFirstBytes(server, Deadline.after(2000))
  client.write(Buffer.concat([BT, Buffer.alloc(48, 7)]))
  const first = await read
  t.ok(first.length >= SNIFF_MAX_BYTES)
  t.equal(classify(first), 'plain')
})

t.test('a peer that sends too few bytes: HandshakeTimeoutError within the bound', async t => {
  const { client, server } = await pair(t)
  const read = readFirstBytes(server, Deadline.after(150))
  client.write(TLS_PREFIX.subarray(0, 4))
  const started = Date.now()
  const err = await rejection(read)
  assertTyped(t, err, HandshakeTimeoutError, 'ERR_HANDSHAKE_TIMEOUT', /within 150 ms/)
  t.ok(Date.now() - started < 1000)
  t.equal(server.listenerCount('data'), 0)
})

t.test('a peer that hangs up first: UnrecognizedProtocolError naming the bytes seen', async t => {
  const { client, server } = await pair(t)
  const read = readFirstBytes(server, Deadline.after(2000))
  await dribble(client, BT.subarray(0, 3))
  client.end()
  const err = await rejection(read)
  assertTyped(t, err, UnrecognizedProtocolError, 'ERR_UNRECOGNIZED_PROTOCOL', /closed after 3 bytes/)
  await closed(server)
})

t.test('a ClientHello announcing more than MAX_CLIENT_HELLO_LENGTH: UnrecognizedProtocolError, without waiting for it', async t => {
  const { client, server } = await pair(t)
  const read = readFirstBytes(server, Deadline.after(2000))
  client.write(Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0xff, 0xff, 0xff]))
  const err = await rejection(read)
  assertTyped(t, err, UnrecognizedProtocolError, 'ERR_UNRECOGNIZED_PROTOCOL', /exceeds the \d+-byte limit/)
  t.ok(server.isPaused())
})
