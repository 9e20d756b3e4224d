/**
 * peekFirstRecord over real loopback sockets: a real ClientHello from node:tls read whole and left in
 * the socket for the TLS stack, fragmented records, what is not a plausible ClientHello handed on at
 * once, and typed errors for a stalled or closed peer.
 */
import t, { type Test } from 'tap'
import net from 'node:net'
import tls from 'node:tls'
import { setTimeout as sleep } from 'node:timers/promises'
import { peekFirstRecord } from '../../src/wire/peek-record.js'
import { HandshakeTimeoutError, UnrecognizedProtocolError } from '../../src/errors.js'
import { MAX_RECORD_PAYLOAD } from '../../src/protocol/constants.js'
import { Deadline } from '../../src/handshake/deadline.js'
import { rejection, tcpPair } from '../helpers/tcp.js'
import { assertTyped } from '../helpers/typed-error.js'

async function pair (t: Test): Promise<{ client: net.Socket, server: net.Socket }> {
  const p = await tcpPair()
  t.teardown(() => { p.client.destroy(); p.server.destroy() })
  return p
}

/** Everything the socket holds now, after a peek: what the next reader (the TLS stack) will get. */
async function rest (socket: net.Socket, atLeast: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let n = 0
  socket.on('data', (c: Buffer) => { chunks.push(c); n += c.length })
  socket.resume()
  const deadline = Date.now() + 2000
  while (n < atLeast) {
    if (Date.now() > deadline) throw new Error(`only ${n} of ${atLeast} bytes left in the socket`)
    await sleep(5)
  }
  return Buffer.concat(chunks)
}

function record (type: number, payload: Buffer): Buffer {
  const header = Buffer.from([type, 0x03, 0x01, 0, 0])
  header.writeUInt16BE(payload.length, 3)
  return Buffer.concat([header, payload])
}

t.test('a real ClientHello (node:tls, with SNI) is returned whole and left unread', async t => {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const accepted = new Promise<net.Socket>(resolve => server.once('connection', resolve))
  const client = tls.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', servername: 'peek.example', minVersion: 'TLSv1.3' })
  client.on('error', () => {})
  const raw = await accepted
  t.teardown(() => { client.destroy(); raw.destroy() })
  const hello = await peekFirstRecord(raw, Deadline.after(2000))
  t.equal(hello[0], 0x16, 'a handshake record')
  t.equal(hello[5], 0x01, 'carrying a ClientHello')
  t.equal(hello.length, 5 + hello.readUInt16BE(3), 'exactly one record')
  t.ok(hello.includes(Buffer.from('peek.example')), 'the SNI is in it')
  t.ok(raw.isPaused())
  t.same((await rest(raw, hello.length)).subarray(0, hello.length), hello, 'the same bytes are read again by the next reader')
})

t.test('a record in fragments; bytes after it are kept too', async t => {
  const { client, server } = await pair(t)
  const rec = record(0x16, Buffer.concat([Buffer.from([0x01]), Buffer.alloc(299, 0xab)]))
  const after = Buffer.from('after the record')
  const peek = peekFirstRecord(server, Deadline.after(2000))
  for (const part of [rec.subarray(0, 1), rec.subarray(1, 4), rec.subarray(4, 100)]) {
    client.write(part)
    await sleep(10)
  }
  client.write(Buffer.concat([rec.subarray(100), after]))
  const got = await peek
  t.same(got, rec)
  t.same(await rest(server, rec.length + after.length), Buffer.concat([rec, after]))
})

t.test('not a ClientHello: handed on at once, without waiting for the record', async t => {
  const cases: Array<[string, Buffer, number]> = [
    ['application data record', Buffer.from([0x17, 0x03, 0x03, 0x00, 0x40, 1, 2]), 7],
    ['plain BitTorrent', Buffer.from('\x13BitTorrent protocol', 'latin1'), 20],
    ['a record announcing more than 2^14 bytes', Buffer.from([0x16, 0x03, 0x01, 0x40, 0x01, 0x01]), 6]
  ]
  for (const [what, bytes, expected] of cases) {
    const { client, server } = await pair(t)
    const peek = peekFirstRecord(server, Deadline.after(2000))
    client.write(bytes)
    const got = await peek
    t.equal(got.length, expected, what)
    t.same(await rest(server, bytes.length), bytes, `${what}: left in the socket`)
  }
  t.equal(MAX_RECORD_PAYLOAD, 16384)
})

t.test('a record announcing exactly 2^14 bytes is read whole', async t => {
  const { client, server } = await pair(t)
  const rec = record(0x16, Buffer.concat([Buffer.from([0x01]), Buffer.alloc(MAX_RECORD_PAYLOAD - 1)]))
  const peek = peekFirstRecord(server, Deadline.after(2000))
  client.write(rec.subarray(0, 1000))
  await sleep(20)
  client.write(rec.subarray(1000))
  t.equal((await peek).length, 5 + MAX_RECORD_PAYLOAD)
})

t.test('a stalled record: HandshakeTimeoutError, and the bytes are still left for the socket', async t => {
  const { client, server } = await pair(t)
  const peek = peekFirstRecord(server, Deadline.after(150))
  const part = record(0x16, Buffer.alloc(100)).subarray(0, 50)
  client.write(part)
  const err = await rejection(peek)
  assertTyped(t, err, HandshakeTimeoutError, 'ERR_HANDSHAKE_TIMEOUT', /within 150 ms/)
  t.equal(server.listenerCount('data'), 0)
  t.same(await rest(server, 50), part)
})

t.test('a peer that closes inside the record: UnrecognizedProtocolError', async t => {
  const { client, server } = await pair(t)
  const peek = peekFirstRecord(server, Deadline.after(2000))
  client.end(record(0x16, Buffer.alloc(100)).subarray(0, 30))
  const err = await rejection(peek)
  assertTyped(t, err, UnrecognizedProtocolError, 'ERR_UNRECOGNIZED_PROTOCOL', /closed inside its first TLS record/)
})
