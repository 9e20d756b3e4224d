/** bench/delay-proxy.ts: it really delays each direction by RTT/2, keeps byte order, and passes ends. */
import t, { type Test } from 'tap'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { DelayProxy } from '../../bench/delay-proxy.js'

async function echoServer (t: Test): Promise<number> {
  const server = net.createServer(s => s.pipe(s))
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  return (server.address() as net.AddressInfo).port
}

function dial (port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s))
    s.once('error', reject)
  })
}

/** Time for `bytes` to go out and come back through the echo server. */
async function roundTrip (socket: net.Socket, bytes: Buffer): Promise<{ ms: number, echoed: Buffer }> {
  const started = performance.now()
  const chunks: Buffer[] = []
  let got = 0
  await new Promise<void>(resolve => {
    const onData = (d: Buffer): void => {
      chunks.push(d)
      got += d.length
      if (got >= bytes.length) { socket.off('data', onData); resolve() }
    }
    socket.on('data', onData)
    socket.write(bytes)
  })
  return { ms: performance.now() - started, echoed: Buffer.concat(chunks) }
}

t.test('an echo through an 80 ms proxy takes one RTT (and not zero, not two)', async t => {
  const proxy = await DelayProxy.listen({ rttMs: 80, targetPort: await echoServer(t) })
  t.teardown(() => proxy.close())
  const socket = await dial(proxy.port)
  t.teardown(() => socket.destroy())
  await roundTrip(socket, Buffer.from('warm-up'))
  const { ms, echoed } = await roundTrip(socket, Buffer.from('ping'))
  t.equal(echoed.toString(), 'ping')
  t.ok(ms >= 78, `delayed: ${ms.toFixed(1)} ms >= 80 ms`)
  t.ok(ms < 160, `one RTT, not two: ${ms.toFixed(1)} ms`)
})

t.test('order is kept for many chunks written in a burst, and the data is intact', async t => {
  const proxy = await DelayProxy.listen({ rttMs: 20, targetPort: await echoServer(t) })
  t.teardown(() => proxy.close())
  const socket = await dial(proxy.port)
  t.teardown(() => socket.destroy())
  const data = randomBytes(3 * 2 ** 20)
  const started = performance.now()
  const chunks: Buffer[] = []
  let got = 0
  const done = new Promise<void>(resolve => socket.on('data', (d: Buffer) => { chunks.push(d); got += d.length; if (got >= data.length) resolve() }))
  for (let off = 0; off < data.length; off += 1000) socket.write(data.subarray(off, off + 1000))
  await done
  t.ok(Buffer.concat(chunks).equals(data), '3 MiB in 1000-byte writes come back byte for byte')
  t.ok(performance.now() - started < 2000, 'a delay line, not a rate limit: bursts are not serialised behind each other\'s delay')
})

t.test('without delay the proxy is transparent, and an end travels through it', async t => {
  const proxy = await DelayProxy.listen({ rttMs: 0, targetPort: await echoServer(t) })
  t.teardown(() => proxy.close())
  const socket = await dial(proxy.port)
  const { ms, echoed } = await roundTrip(socket, Buffer.from('x'))
  t.equal(echoed.toString(), 'x')
  t.ok(ms < 50, `${ms.toFixed(1)} ms`)
  const closed = new Promise<void>(resolve => socket.once('close', () => resolve()))
  socket.end()
  await closed
  t.pass('our end reached the echo server, whose end came back and closed the socket')
})
