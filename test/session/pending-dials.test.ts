/**
 * PendingDials: a session's dials in progress, cancelled together on close. Real sockets: each dial is
 * a TCP connect to a loopback server that never accepts a byte of protocol, aborted through the signal.
 */
import t, { type Test } from 'tap'
import net from 'node:net'
import { PendingDials } from '../../src/session/pending-dials.js'

async function silentServer (t: Test): Promise<number> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer(s => { sockets.add(s); s.on('error', () => {}) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  return (server.address() as net.AddressInfo).port
}

/** Connects, then waits for a first byte that never comes; the signal destroys the socket. */
function dial (port: number, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', signal })
    socket.once('data', resolve)
    socket.once('error', reject)
  })
}

t.test('track passes results and failures through and forgets settled dials', async t => {
  const p = new PendingDials()
  t.equal(await p.track(Promise.resolve(7)), 7)
  await t.rejects(p.track(Promise.reject(new RangeError('boom'))), RangeError)
  t.notOk(p.cancelled)
  t.notOk(p.signal.aborted)
  const started = Date.now()
  await p.cancelAll()
  t.ok(Date.now() - started < 100, 'nothing left to wait for')
  t.ok(p.cancelled)
})

t.test('cancelAll aborts the signal and waits until every dial has let go', async t => {
  const port = await silentServer(t)
  const p = new PendingDials()
  const settled: string[] = []
  const dials = [0, 1, 2].map(i => p.track(dial(port, p.signal)).then(() => settled.push(`${i} resolved`), (err: Error) => settled.push(`${i} ${err.name}`)))
  await new Promise(resolve => setTimeout(resolve, 50))
  t.same(settled, [], 'the dials are waiting')
  await p.cancelAll()
  t.ok(p.cancelled)
  t.equal(settled.length, 3, 'every dial settled before cancelAll resolved')
  t.ok(settled.every(s => s.endsWith('AbortError')), settled.join(', '))
  await Promise.all(dials)
})

t.test('cancelAll does not throw for a dial that fails, nor wait for one that already ended', async t => {
  const p = new PendingDials()
  const failing = p.track(new Promise((_resolve, reject) => p.signal.addEventListener('abort', () => reject(new Error('aborted')))))
  failing.catch(() => {})
  await p.cancelAll()
  await t.rejects(failing, { message: 'aborted' })
  t.ok(p.signal.aborted)
  // A dial started after the cancel sees an aborted signal at once.
  const port = await silentServer(t)
  await t.rejects(p.track(dial(port, p.signal)), { name: 'AbortError' })
})
