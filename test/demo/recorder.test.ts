/**
 * The demo's recorder, whose "0 hits" is the demo's claim that the infohash never crossed the wire: a
 * real loopback relay to an echo server, with the needles split across chunks, overlapping, in both
 * directions, and counted exactly once each.
 */
import t, { type Test } from 'tap'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Recorder, infohashNeedles } from '../../src/demo/recorder.js'

async function echoServer (t: Test): Promise<number> {
  const server = net.createServer(s => { s.on('error', () => {}); s.pipe(s) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  return (server.address() as net.AddressInfo).port
}

async function through (t: Test, recorder: Recorder, parts: Buffer[]): Promise<Buffer> {
  const client = net.connect(recorder.port, '127.0.0.1')
  t.teardown(() => client.destroy())
  await new Promise<void>(resolve => client.once('connect', resolve))
  const total = parts.reduce((a, p) => a + p.length, 0)
  const echoed: Buffer[] = []
  let n = 0
  const done = new Promise<void>(resolve => client.on('data', (c: Buffer) => { echoed.push(c); n += c.length; if (n >= total) resolve() }))
  for (const p of parts) {
    client.write(p)
    await sleep(15) // separate TCP segments, so the needles straddle chunks
  }
  await done
  return Buffer.concat(echoed)
}

t.test('infohashNeedles: raw, lower-case and upper-case hex', async t => {
  const ih = Buffer.from('00ff10ab' + '00'.repeat(16), 'hex')
  t.same(infohashNeedles('x', ih).map(n => [n.label, n.bytes.toString('latin1')]), [
    ['x (raw)', ih.toString('latin1')],
    ['x (hex)', '00ff10ab' + '00'.repeat(16)],
    ['x (HEX)', '00FF10AB' + '00'.repeat(16)]
  ])
})

t.test('each occurrence is counted once per direction, across chunk boundaries', async t => {
  const port = await echoServer(t)
  const ih = randomBytes(20)
  const recorder = await Recorder.start({ host: '127.0.0.1', port }, infohashNeedles('ih', ih))
  t.teardown(() => recorder.close())
  const hex = Buffer.from(ih.toString('hex'))
  const stream = Buffer.concat([Buffer.from('head'), ih, Buffer.from('--'), hex, Buffer.from('tail')])
  // Cut inside the raw needle, inside the hex needle, and one byte before the end of each.
  const cuts = [2, 4 + 7, 4 + 19, 4 + 20 + 2 + 13, 4 + 20 + 2 + 39, stream.length]
  const parts = cuts.map((c, i) => stream.subarray(i === 0 ? 0 : cuts[i - 1], c))
  const echoed = await through(t, recorder, parts)
  t.same(echoed, stream, 'relayed unchanged')
  t.equal(recorder.recording.bytes, 2 * stream.length, 'both directions counted')
  t.same(Object.fromEntries(recorder.recording.hits), { 'ih (raw)': 2, 'ih (hex)': 2, 'ih (HEX)': 0 })
  t.same(recorder.recording.firstFlights[0], parts[0], 'the first flight of the connecting side')
})

t.test('overlapping and repeated needles are all counted; nothing is counted twice from the kept tail', async t => {
  const port = await echoServer(t)
  const needle = Buffer.from('abab')
  const recorder = await Recorder.start({ host: '127.0.0.1', port }, [{ label: 'abab', bytes: needle }])
  t.teardown(() => recorder.close())
  // "ababab" holds two overlapping matches; sent as "aba" + "bab" + "x".
  await through(t, recorder, [Buffer.from('aba'), Buffer.from('bab'), Buffer.from('x')])
  t.equal(recorder.recording.hits.get('abab'), 4, 'two in each direction')
})

/** A TLS-shaped record: a header naming `type` and the body's length, then the body. */
const record = (type: number, body: number): Buffer => Buffer.concat([Buffer.from([type, 3, 3, body >> 8, body & 0xff]), randomBytes(body)])

t.test('each direction\'s last TLS record and its ending; an answer sent after the other side\'s FIN still crosses', async t => {
  // A server that answers only once the client has half-closed, as a TLS peer answers a close_notify.
  const answer = record(0x17, 19)
  const server = net.createServer({ allowHalfOpen: true }, s => {
    s.on('error', () => {})
    s.resume()
    s.on('end', () => s.end(answer))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const recorder = await Recorder.start({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port }, [])
  t.teardown(() => recorder.close())
  const client = net.connect({ port: recorder.port, host: '127.0.0.1', allowHalfOpen: true })
  await new Promise<void>(resolve => client.once('connect', resolve))
  const stream = Buffer.concat([record(0x16, 300), record(0x17, 16_401), record(0x17, 22)])
  // Cut inside a header and inside a body.
  for (const part of [stream.subarray(0, 302), stream.subarray(302, 2000), stream.subarray(2000)]) {
    client.write(part)
    await sleep(15)
  }
  let back = Buffer.alloc(0)
  client.on('data', (d: Buffer) => { back = Buffer.concat([back, d]) })
  const ended = new Promise(resolve => client.once('end', resolve))
  client.end()
  await ended
  await recorder.quiet(5000)
  t.same(back, answer, 'the answer came back through the relay after the client\'s FIN')
  const { up, down } = recorder.recording.connections[0]!
  t.same([up.lastRecord, up.ending], [[0x17, 22], 'fin'], 'the client\'s last record, then its FIN')
  t.same([down.lastRecord, down.ending], [[0x17, 19], 'fin'], 'the server\'s answer, then its FIN')
})

t.test('a reset is recorded as one', async t => {
  const port = await echoServer(t)
  const recorder = await Recorder.start({ host: '127.0.0.1', port }, [])
  t.teardown(() => recorder.close())
  const client = net.connect(recorder.port, '127.0.0.1')
  await new Promise<void>(resolve => client.once('connect', resolve))
  client.write(record(0x17, 30))
  await sleep(30)
  client.resetAndDestroy()
  await recorder.quiet(5000)
  t.equal(recorder.recording.connections[0]?.up.ending, 'reset')
  t.same(recorder.recording.connections[0]?.up.lastRecord, [0x17, 30])
})
