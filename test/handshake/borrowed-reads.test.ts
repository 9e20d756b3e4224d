/**
 * A dialed TLS socket's reads through the process's shared buffer (src/handshake/borrowed-reads.ts,
 * secure-outbound.ts `openTls`), over real TLS on loopback: before a reader takes them they are copies
 * in the socket's stream; a wire then takes them in order, pauses the socket while it cannot parse and
 * resumes it; an accepted socket adopts the buffer after the fact; a read nested in another fails both
 * sockets with a typed error. The same for plain TCP sockets, dialed and accepted.
 */
import t, { type Test } from 'tap'
import net from 'node:net'
import tls from 'node:tls'
import { once } from 'node:events'
import { createHash, randomBytes } from 'node:crypto'
import { BorrowedReadError } from '../../src/errors.js'
import { adoptBorrowedReads, borrowedReadCount, lendReads, readsBorrowed, withBorrowedReads, type OnReadOptions } from '../../src/handshake/borrowed-reads.js'
import { openTls } from '../../src/handshake/secure-outbound.js'
import { createResponderCertificate } from '../../src/pki/responder-certificate.js'
import { createGuardedWire, NO_MSE } from '../../src/wire/guarded-wire.js'
import { connectWire } from '../../src/wire/pipe-wire.js'
import { btHandshake, message } from '../fixtures/fuzz/seeds.js'
import { assertTyped } from '../helpers/typed-error.js'

const INFO_HASH = Buffer.alloc(20, 0x11)
const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b }
const digest = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex').slice(0, 16)
const { cert, key } = await createResponderCertificate()

/** A TLS server on loopback that writes `send(socket)` to each connection; its port, and a way to close it. */
async function tlsServer (t: Test, send: (socket: tls.TLSSocket) => void): Promise<number> {
  const server = tls.createServer({ cert, key, minVersion: 'TLSv1.3' }, socket => { socket.on('error', () => {}); send(socket) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  return (server.address() as net.AddressInfo).port
}

async function dialed (port: number): Promise<tls.TLSSocket> {
  const socket = openTls({ host: '127.0.0.1', port })
  await once(socket, 'secureConnect')
  return socket
}

/**
 * A socket made with the shared buffer, whose peer sends `first` and then ends with `second`: a bounded
 * read takes its first 100 bytes from the stream, then a reader is lent the rest, stream copies first.
 */
async function readThenLend (t: Test, socket: net.Socket, first: Buffer, second: Buffer, why: string): Promise<void> {
  await once(socket, 'readable')
  const head = socket.read(100) as Buffer
  t.same(head, first.subarray(0, 100), 'a bounded read takes its bytes from the stream')
  const taken: Buffer[] = []
  const before = borrowedReadCount()
  t.ok(lendReads(socket, { readBorrowed: bytes => { taken.push(Buffer.from(bytes)); return true } }))
  await once(socket, 'end')
  t.same(Buffer.concat(taken), Buffer.concat([first.subarray(100), second]), 'the stream\'s copies first, then every borrowed read')
  t.ok(borrowedReadCount() - before >= 5, `${borrowedReadCount() - before} reads lent (${why})`)
}

t.test('before a reader takes them, reads are copies in the socket\'s stream; then the reader gets the rest, in order', async t => {
  const first = randomBytes(5000)
  const second = randomBytes(70_000)
  const port = await tlsServer(t, s => { s.write(first); setTimeout(() => s.end(second), 100) })
  const socket = await dialed(port)
  t.ok(readsBorrowed(socket), 'openTls made a socket that reads through the shared buffer')
  t.notOk(readsBorrowed(net.connect({ port, host: '127.0.0.1' }).on('error', () => {}).destroy()), 'a plain socket does not')
  await readThenLend(t, socket, first, second, '70,000 bytes are at least five records')
  socket.destroy()
})

t.test('a wire that cannot parse yet (our handshake not sent) pauses the socket; released, it takes every message', async t => {
  // Full blocks (each message straddles two records) and small ones (whole inside one).
  const blocks = Array.from({ length: 24 }, (_, i) => randomBytes(i % 2 === 0 ? 16_384 : 1000))
  const stream = Buffer.concat([btHandshake(INFO_HASH, Buffer.alloc(20, 0x22)), ...blocks.map((b, i) => message(7, u32(i), u32(0), b))])
  const port = await tlsServer(t, s => s.write(stream))
  const socket = await dialed(port)
  const violations: string[] = []
  const wire = createGuardedWire('tcpOutgoing', NO_MSE, err => violations.push(err.name))
  const got: Array<{ digest: string, memory: number }> = []
  wire.on('piece', (_i: number, _o: number, block: Uint8Array) => got.push({ digest: digest(block), memory: block.buffer.byteLength }))
  connectWire(socket, wire)
  await new Promise(resolve => setTimeout(resolve, 300))
  t.same(got, [], 'nothing parsed before our handshake is sent')
  t.ok(socket.bytesRead < stream.length, `the socket paused: ${socket.bytesRead} of ${stream.length}+ bytes read`)
  wire.handshake(INFO_HASH, Buffer.alloc(20, 0x33))
  while (got.length < blocks.length) await new Promise(resolve => setTimeout(resolve, 20))
  t.same(got.map(g => g.digest), blocks.map(digest), 'every block, in order, intact')
  t.ok(got.some(g => g.memory === 64 * 1024), 'once parsing, blocks inside a record are views of the shared buffer')
  t.same(violations, [])
  socket.destroy()
  wire.destroy()
})

t.test('a read nested in another (the shared buffer filled again while parsed) fails both sockets with BorrowedReadError', async t => {
  let onread: OnReadOptions | undefined
  // Answers only when asked, so the read comes after the reader is lent.
  const port = await tlsServer(t, s => s.once('data', () => s.write('x')))
  const outer = withBorrowedReads(options => { onread = options; return tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, onread: options } as tls.ConnectionOptions) })
  const inner = await dialed(port)
  const errors = Promise.all([once(outer, 'error'), once(inner, 'error')])
  lendReads(inner, { readBorrowed: () => true })
  lendReads(outer, {
    readBorrowed: () => {
      // What node:tls would do if it read for another socket now: call back into the same buffer.
      onread!.callback.call(inner, 1, onread!.buffer)
      return true
    }
  })
  outer.write('?')
  const [[outerError], [innerError]] = await errors as [[unknown], [unknown]]
  assertTyped(t, outerError, BorrowedReadError, 'ERR_BORROWED_READ')
  assertTyped(t, innerError, BorrowedReadError, 'ERR_BORROWED_READ')
  t.ok(outer.destroyed && inner.destroyed, 'both closed')
})

/**
 * `client` sends `early`, which the accepted `socket` reads the default way (into its stream); then the
 * socket adopts the shared buffer and is lent to a reader, and `client` ends with `late`: the reader
 * gets both, in order, `late` through borrowed reads.
 */
async function adoptAfterFirstRead (t: Test, socket: net.Socket, client: net.Socket, early: Buffer, late: Buffer, madeBy: string): Promise<void> {
  client.write(early)
  await once(socket, 'readable') // read the default way, into the stream, before adoption
  t.notOk(readsBorrowed(socket), `${madeBy} made it without onread`)
  t.ok(adoptBorrowedReads(socket), 'adopted')
  t.notOk(adoptBorrowedReads(socket), 'once only')
  t.ok(readsBorrowed(socket))
  const taken: Buffer[] = []
  const before = borrowedReadCount()
  lendReads(socket, { readBorrowed: bytes => { taken.push(Buffer.from(bytes)); return true } })
  socket.resume()
  client.end(late)
  await once(socket, 'end')
  t.same(Buffer.concat(taken), Buffer.concat([early, late]), 'every byte, in order')
  t.ok(borrowedReadCount() - before >= 5, `${borrowedReadCount() - before} reads lent after adoption`)
}

t.test('an accepted TLS socket adopts the shared buffer: what came before stays in its stream, what comes after is lent', async t => {
  const early = randomBytes(3000)
  const late = randomBytes(80_000)
  const server = tls.createServer({ cert, key, minVersion: 'TLSv1.3' })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const accepted = once(server, 'secureConnection') as Promise<[tls.TLSSocket]>
  const client = tls.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, rejectUnauthorized: false })
  await once(client, 'secureConnect')
  const [socket] = await accepted
  await adoptAfterFirstRead(t, socket, client, early, late, 'node:tls')
  const gone = tls.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, rejectUnauthorized: false })
  const [other] = await once(server, 'secureConnection') as [tls.TLSSocket]
  other.destroy()
  t.notOk(adoptBorrowedReads(other), 'a destroyed socket is left alone')
  gone.destroy()
  socket.destroy()
})

/** A TCP server on loopback; its port, and its next accepted socket. */
async function tcpServer (t: Test, onConnection: (socket: net.Socket) => void = () => {}): Promise<{ port: number, accepted: () => Promise<net.Socket> }> {
  const server = net.createServer(socket => { socket.on('error', () => {}); onConnection(socket) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  return { port: (server.address() as net.AddressInfo).port, accepted: async () => (await once(server, 'connection') as [net.Socket])[0] }
}

t.test('a plain TCP socket made with the shared buffer: copies in its stream first, then every read lent, in order', async t => {
  const first = randomBytes(5000)
  const second = randomBytes(300_000)
  const { port } = await tcpServer(t, s => { s.write(first); setTimeout(() => s.end(second), 100) })
  const socket = withBorrowedReads(onread => net.connect({ host: '127.0.0.1', port, onread }))
  await once(socket, 'connect')
  t.ok(readsBorrowed(socket))
  await readThenLend(t, socket, first, second, '300,000 bytes are at least five reads of 64 KiB')
  socket.destroy()
})

t.test('an accepted plain TCP socket adopts the shared buffer: what came before stays in its stream, what comes after is lent', async t => {
  const early = randomBytes(3000)
  const late = randomBytes(400_000)
  const { port, accepted } = await tcpServer(t)
  const next = accepted()
  const client = net.connect({ host: '127.0.0.1', port })
  await once(client, 'connect')
  const socket = await next
  // A TCP wrap takes a user buffer as a TLSWrap does.
  await adoptAfterFirstRead(t, socket, client, early, late, 'net.Server')
  socket.destroy()
})
