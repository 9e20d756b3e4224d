/** The two throughput fixes (bench/README.md) keep their behaviour: read cache and write batching. */
import t from 'tap'
import net from 'node:net'
import { PieceReadCache } from '../src/storage/piece-read-cache.js'
import { batchWrites, flushBatchedWrites } from '../src/wire/write-batching.js'
import { createGuardedWire } from '../src/wire/guarded-wire.js'
import { tcpPair } from './helpers/tcp.js'

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

t.test('write batching: one event-loop turn of messages leaves in one socket write, in order', async t => {
  const { client, server } = await tcpPair()
  const writes: number[] = []
  const origWritev = (client as unknown as { _writev: (chunks: Array<{ chunk: Buffer }>, cb: () => void) => void })._writev.bind(client)
  ;(client as unknown as { _writev: unknown })._writev = (chunks: Array<{ chunk: Buffer }>, cb: () => void) => { writes.push(chunks.length); origWritev(chunks, cb) }
  const wire = createGuardedWire('tcpOutgoing', 0, () => {})
  batchWrites(wire, client)
  wire.pipe(client)
  const received: Buffer[] = []
  server.on('data', (d: Buffer) => received.push(d))
  wire.handshake(Buffer.alloc(20, 1), Buffer.alloc(20, 2), {})
  for (let i = 0; i < 50; i++) wire.have(i)
  await new Promise(resolve => setTimeout(resolve, 100))
  t.ok(writes.length >= 1 && writes[0]! > 1, `the turn's messages went out together (writev of ${writes[0]} chunks)`)
  const bytes = Buffer.concat(received)
  t.equal(bytes.length, 68 + 50 * 9, 'the 68-byte handshake and 50 nine-byte haves, nothing lost')
  t.equal(bytes.readUInt32BE(bytes.length - 9), 5, 'the last message is a have')
  t.equal(bytes.readUInt32BE(bytes.length - 4), 49, '...of piece 49: order kept')
  client.destroy(); server.destroy()
})

t.test('write batching: flushing before destroy sends what the batch holds', async t => {
  const sink = net.createServer()
  await new Promise<void>(resolve => sink.listen(0, '127.0.0.1', resolve))
  t.teardown(() => sink.close())
  const got = new Promise<number>(resolve => sink.once('connection', s => { let n = 0; s.on('data', d => { n += d.length }); s.on('end', () => resolve(n)) }))
  const socket = net.connect((sink.address() as net.AddressInfo).port, '127.0.0.1')
  await new Promise(resolve => socket.once('connect', resolve))
  socket.cork()
  socket.write(Buffer.alloc(1000))
  flushBatchedWrites(socket)
  socket.end()
  t.equal(await got, 1000)
})
