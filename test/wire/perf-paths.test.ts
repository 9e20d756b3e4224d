/** The two throughput fixes (bench/README.md) keep their behaviour: read cache and write batching. */
import t, { type Test } from 'tap'
import net from 'node:net'
import { PieceReadCache } from '../../src/storage/piece-read-cache.js'
import { batchWrites, FIRST_DATA_HOLD_MS, flushBatchedWrites, MAX_AHEAD_OF_KERNEL, queuedBytes, RECORD_PAYLOAD } from '../../src/wire/write-batching.js'
import { createGuardedWire } from '../../src/wire/guarded-wire.js'
import { tcpPair } from '../helpers/tcp.js'

t.test('read cache: concurrent gets share one read, LRU eviction by bytes, failed loads are not kept', async t => {
  const cache = new PieceReadCache(3 * 100)
  let loads = 0
  const load = (i: number) => async () => { loads++; await new Promise(resolve => setImmediate(resolve)); return Buffer.alloc(100, i) }
  const [a, b] = await Promise.all([cache.get(1, 100, load(1)), cache.get(1, 100, load(1))])
  t.equal(loads, 1, 'one read for two concurrent requests')
  t.equal(a, b)
  await cache.get(2, 100, load(2)); await cache.get(3, 100, load(3))
  await cache.get(1, 100, load(1)) // touch 1: 2 is now least recently used
  t.equal(loads, 3)
  await cache.get(4, 100, load(4)) // over budget: evicts 2
  await cache.get(2, 100, load(2))
  t.equal(loads, 5, 'the least recently used piece was evicted and read again')
  t.notOk(cache.fits(301), 'a piece larger than the budget is never cached')
  let failing = 0
  t.equal(await cache.get(9, 100, async () => { failing++; throw new Error('EIO') }), undefined, 'a failed read resolves undefined: the caller falls back')
  await cache.get(9, 100, async () => { failing++; return Buffer.alloc(100) })
  t.equal(failing, 2, 'the failure was not cached')
})

/** Counts the socket's write calls, each with its byte count (a writev counts once, with all its bytes). */
function spyWrites (socket: net.Socket): number[] {
  const writes: number[] = []
  const s = socket as unknown as { _write: (c: Buffer, e: string, cb: () => void) => void, _writev: (c: Array<{ chunk: Buffer }>, cb: () => void) => void }
  const write = s._write.bind(socket)
  const writev = s._writev.bind(socket)
  s._write = (chunk, encoding, cb) => { writes.push(chunk.length); write(chunk, encoding, cb) }
  s._writev = (chunks, cb) => { writes.push(chunks.reduce((n, c) => n + c.chunk.length, 0)); writev(chunks, cb) }
  return writes
}

t.test('write batching: one event-loop turn of messages leaves in one socket write, in order', async t => {
  const { client, server } = await tcpPair()
  const writes = spyWrites(client)
  const wire = createGuardedWire('tcpOutgoing', 0, () => {})
  batchWrites(wire, client)
  wire.pipe(client)
  const received: Buffer[] = []
  server.on('data', (d: Buffer) => received.push(d))
  wire.handshake(Buffer.alloc(20, 1), Buffer.alloc(20, 2), {})
  for (let i = 0; i < 50; i++) wire.have(i)
  await new Promise(resolve => setTimeout(resolve, 100))
  t.same(writes, [68 + 50 * 9], 'the turn\'s 51 messages went out in one write')
  const bytes = Buffer.concat(received)
  t.equal(bytes.length, 68 + 50 * 9, 'the 68-byte handshake and 50 nine-byte haves, nothing lost')
  t.equal(bytes.readUInt32BE(bytes.length - 9), 5, 'the last message is a have')
  t.equal(bytes.readUInt32BE(bytes.length - 4), 49, '...of piece 49: order kept')
  client.destroy(); server.destroy()
})

t.test('full records: piece messages written in whole multiples of 16 KiB while data flows, the tail when the wire goes quiet', async t => {
  const { client, server } = await tcpPair()
  const writes = spyWrites(client)
  const wire = createGuardedWire('tcpOutgoing', 0, () => {})
  const tailHoldMs = 100 // long enough that a loaded machine does not end the bulk between two turns
  batchWrites(wire, client, { fullRecords: true, tailHoldMs })
  wire.pipe(client)
  let received = 0
  server.on('data', (d: Buffer) => { received += d.length })
  // One 16,397-byte piece message per turn, as a seeder serving blocks from disk writes them.
  const pieces = 8
  for (let i = 0; i < pieces; i++) {
    (wire as unknown as { _message (id: number, numbers: number[], data: Buffer | null): void })._message(7, [0, i * 16384], Buffer.alloc(16384, i))
    await new Promise(resolve => setImmediate(resolve))
  }
  const total = pieces * (13 + 16384)
  t.equal(writes.reduce((a, b) => a + b, 0), total - total % RECORD_PAYLOAD, 'while data flows, only whole records have been written')
  await new Promise(resolve => setTimeout(resolve, tailHoldMs + 50))
  t.equal(received, total, 'every byte arrived')
  const tail = writes[writes.length - 1]!
  t.ok(writes.slice(0, -1).every(n => n > 0 && n % RECORD_PAYLOAD === 0), `every write but the last is whole records (${writes.join(', ')})`)
  t.equal(tail, total % RECORD_PAYLOAD, 'the last write is the tail, after the quiet period')
  client.destroy(); server.destroy()
})

t.test('full records: a peer that does not read gets at most MAX_AHEAD_OF_KERNEL handed to the socket; the rest waits in the batch, and all of it arrives in order', async t => {
  const { client, server } = await tcpPair()
  server.pause() // the kernel's buffers fill, then the socket's
  const wire = createGuardedWire('tcpOutgoing', 0, () => {})
  batchWrites(wire, client, { fullRecords: true, tailHoldMs: 60_000 })
  wire.pipe(client)
  // 32 MiB: several times what loopback's kernel buffers hold, so without the bound the socket would keep megabytes.
  const turns = 32
  const perTurn = 64
  let mostAhead = 0
  for (let turn = 0; turn < turns; turn++) {
    for (let i = 0; i < perTurn; i++) {
      const block = Buffer.alloc(16384, (turn * perTurn + i) % 251)
      ;(wire as unknown as { _message (id: number, numbers: number[], data: Buffer | null): void })._message(7, [turn, i * 16384], block)
    }
    await new Promise(resolve => setImmediate(resolve))
    mostAhead = Math.max(mostAhead, client.writableLength)
  }
  const total = turns * perTurn * (13 + 16384)
  t.ok(mostAhead <= MAX_AHEAD_OF_KERNEL, `the socket held at most ${mostAhead} bytes the kernel had not taken`)
  t.ok(queuedBytes(client) > total / 2, `the rest is counted as queued (${queuedBytes(client)} of ${total}), so the send-queue bound still sees it`)
  // Now the peer reads: every piece message arrives, whole and in order.
  const chunks: Buffer[] = []
  let received = 0
  const done = new Promise<void>(resolve => server.on('data', (d: Buffer) => { chunks.push(d); received += d.length; if (received >= total - total % RECORD_PAYLOAD) resolve() }))
  server.resume()
  await done
  flushBatchedWrites(client)
  await new Promise(resolve => setTimeout(resolve, 50))
  const bytes = Buffer.concat(chunks)
  t.equal(bytes.length, total, 'every byte arrived')
  let ok = true
  for (let m = 0; m < turns * perTurn && ok; m++) {
    const at = m * (13 + 16384)
    ok = bytes.readUInt32BE(at) === 16393 && bytes[at + 4] === 7 && bytes.readUInt32BE(at + 5) === Math.floor(m / perTurn) &&
      bytes.readUInt32BE(at + 9) === (m % perTurn) * 16384 && bytes[at + 13] === m % 251 && bytes[at + 13 + 16383] === m % 251
  }
  t.ok(ok, 'each piece message whole, in the order pushed')
  client.destroy(); server.destroy()
})

t.test('full records: the wire ends while bulk data waits for the kernel: all of it still leaves, then the socket ends', async t => {
  const { client, server } = await tcpPair()
  server.pause()
  const wire = createGuardedWire('tcpOutgoing', 0, () => {})
  batchWrites(wire, client, { fullRecords: true, tailHoldMs: 60_000 })
  wire.pipe(client)
  const blocks = 16 * 64
  for (let i = 0; i < blocks; i++) {
    ;(wire as unknown as { _message (id: number, numbers: number[], data: Buffer | null): void })._message(7, [i, 0], Buffer.alloc(16384, i % 251))
    if (i % 64 === 63) await new Promise(resolve => setImmediate(resolve))
  }
  const total = blocks * (13 + 16384)
  t.ok(queuedBytes(client) - client.writableLength > 0, `bytes wait in the batch (${queuedBytes(client) - client.writableLength})`)
  wire.end() // the Wire's last push: what the batch holds leaves, then the socket is ended
  let received = 0
  const ended = new Promise<void>(resolve => server.on('end', resolve))
  server.on('data', (d: Buffer) => { received += d.length })
  server.resume()
  await ended
  t.equal(received, total, 'every byte arrived before the end')
  client.destroy(); server.destroy()
})

t.test('full records: a small message with no bulk data in flight leaves at the end of its turn', async t => {
  const { client, server } = await tcpPair()
  const writes = spyWrites(client)
  const wire = createGuardedWire('tcpOutgoing', 0, () => {})
  batchWrites(wire, client, { fullRecords: true })
  wire.pipe(client)
  wire.have(1)
  await new Promise(resolve => setImmediate(resolve))
  await new Promise(resolve => setImmediate(resolve))
  t.same(writes, [9], 'written without waiting for the tail timer')
  client.destroy(); server.destroy()
})

t.test('full records: after a request, small messages wait for the block and leave in its first record', async t => {
  const { client, server } = await tcpPair()
  const writes = spyWrites(client)
  const wire = createGuardedWire('tcpOutgoing', 0, () => {})
  // Both holds long, so that a loaded machine's late timers cannot end them between the steps.
  batchWrites(wire, client, { fullRecords: true, tailHoldMs: 2000, firstDataHoldMs: 5000 })
  wire.pipe(client)
  let received = 0
  server.on('data', (d: Buffer) => { received += d.length })
  wire.emit('request', 0, 0, 16384, () => {})
  wire.have(1) // as the extended handshake answering the requester's handshake: a small message
  await new Promise(resolve => setTimeout(resolve, 5))
  t.same(writes, [], 'the small message waits for the block')
  wire.piece(0, 0, Buffer.alloc(16384))
  await new Promise(resolve => setTimeout(resolve, 5))
  t.same(writes, [RECORD_PAYLOAD], 'the have and the start of the block left as one full record')
  flushBatchedWrites(client)
  await new Promise(resolve => setTimeout(resolve, 100))
  t.equal(received, 9 + 13 + 16384, 'the rest followed')
  client.destroy(); server.destroy()
})

t.test('full records: a request that is never answered holds small messages at most FIRST_DATA_HOLD_MS', async t => {
  const { client, server } = await tcpPair()
  const writes = spyWrites(client)
  const wire = createGuardedWire('tcpOutgoing', 0, () => {})
  batchWrites(wire, client, { fullRecords: true })
  wire.pipe(client)
  wire.emit('request', 0, 0, 16384, () => {})
  wire.have(1)
  await new Promise(resolve => setTimeout(resolve, FIRST_DATA_HOLD_MS + 100))
  t.same(writes, [9], 'released by the hold timer, alone')
  client.destroy(); server.destroy()
})

/** A loopback server that counts the bytes of its first connection until the peer goes away. */
async function byteSink (t: Test): Promise<{ port: number, received: Promise<number> }> {
  const sink = net.createServer()
  await new Promise<void>(resolve => sink.listen(0, '127.0.0.1', resolve))
  t.teardown(() => sink.close())
  const received = new Promise<number>(resolve => sink.once('connection', s => {
    let n = 0
    s.on('data', d => { n += d.length })
    s.on('error', () => {})
    s.on('close', () => resolve(n))
  }))
  return { port: (sink.address() as net.AddressInfo).port, received }
}

// A link closes with flushBatchedWrites then destroy() (wire/link.ts): destroy() drops what is corked
// or still held by the batch, unlike end(), which would send it by itself.
t.test('write batching: flushing before destroy sends the tail the batch holds back', async t => {
  const { port, received } = await byteSink(t)
  const socket = net.connect(port, '127.0.0.1')
  await new Promise(resolve => socket.once('connect', resolve))
  const wire = createGuardedWire('tcpOutgoing', 0, () => {})
  batchWrites(wire, socket, { fullRecords: true, tailHoldMs: 60_000 })
  wire.pipe(socket)
  for (let i = 0; i < 3; i++) {
    (wire as unknown as { _message (id: number, numbers: number[], data: Buffer | null): void })._message(7, [0, i * 16384], Buffer.alloc(16384, i))
    await new Promise(resolve => setImmediate(resolve))
  }
  const total = 3 * (13 + 16384)
  t.ok(total % RECORD_PAYLOAD > 0, 'a tail is held back, waiting for more data')
  flushBatchedWrites(socket)
  socket.destroy()
  t.equal(await received, total, 'the whole of it arrived, tail included')
})

t.test('write batching: flushing before destroy releases a cork set before the Wire started', async t => {
  const { port, received } = await byteSink(t)
  const socket = net.connect(port, '127.0.0.1')
  await new Promise(resolve => socket.once('connect', resolve))
  socket.cork() // as the responder holds its AuthReply for the first BitTorrent messages
  socket.write(Buffer.alloc(1000))
  flushBatchedWrites(socket)
  socket.destroy()
  t.equal(await received, 1000)
})
