/**
 * Session.close() cancels the dials in progress (issue 17: `bttls update` lingered up to 10 s after
 * giving up, waiting on a dial to a stalled seed). The stalled peer is a real loopback listener that
 * accepts and never answers, so the dial waits in its TLS handshake (whose own bound is 10 s).
 */
import t, { type Test } from 'tap'
import net from 'node:net'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { Session } from '../../src/session/session.js'
import { DialCancelledError, DialError } from '../../src/errors.js'
import { dial } from '../../src/wire/dialer.js'
import { basicLevel } from '../../src/levels/basic.js'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { randomFile, tempDir } from '../helpers/session-pair.js'

/** A TCP listener that accepts and never sends a byte; resolves each connection as it comes. */
async function stalledPeer (t: Test): Promise<{ port: number, next: () => Promise<net.Socket> }> {
  const sockets: net.Socket[] = []
  const server = net.createServer(s => { s.on('error', () => {}); sockets.push(s) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  return {
    port: (server.address() as net.AddressInfo).port,
    next: async () => ((await once(server, 'connection')) as [net.Socket])[0]
  }
}

t.test('dial: a signal cancels it in its TLS handshake, or before it connects, with DialCancelledError', async t => {
  const stalled = await stalledPeer(t)
  const ih = randomBytes(20)
  const controller = new AbortController()
  const accepted = stalled.next()
  const dialing = dial({ host: '127.0.0.1', port: stalled.port, level: basicLevel([ih]), wireInfoHash: ih, policy: 'prefer-tls', signal: controller.signal })
  const theirs = await accepted
  const started = Date.now()
  controller.abort()
  const err = await dialing.then(() => undefined, (e: unknown) => e as DialError)
  t.ok(Date.now() - started < 2000, `rejected ${Date.now() - started} ms after the abort`)
  t.ok(err instanceof DialError)
  t.same(err?.attempts.map(a => a.transport), ['tls'], 'no fallback to another transport once cancelled')
  const cause = err?.attempts[0]?.error
  t.ok(cause instanceof DialCancelledError)
  t.equal(cause?.name, 'DialCancelledError')
  t.equal((cause as DialCancelledError | undefined)?.code, 'ERR_DIAL_CANCELLED')
  if (!theirs.destroyed) await once(theirs, 'close')
  t.pass('the stalled peer saw the connection closed')

  const early = await dial({ host: '127.0.0.1', port: stalled.port, level: basicLevel([ih]), wireInfoHash: ih, policy: 'prefer-tls', signal: AbortSignal.abort() })
    .then(() => undefined, (e: unknown) => e as DialError)
  t.equal(early?.attempts[0]?.error.name, 'DialCancelledError', 'an aborted signal: no connection at all')
})

t.test('Session.close() resolves at once with a dial to a stalled peer in flight', async t => {
  const dir = await tempDir(t)
  await randomFile(join(dir, 'seed'), 'f.bin', 50_000)
  const metainfo = parseTorrent((await createTorrent(join(dir, 'seed', 'f.bin'), { version: 'v1', pieceLength: 32 * 1024 })).bytes)
  const stalled = await stalledPeer(t)
  const session = await Session.start({ host: '127.0.0.1', pex: false, trackers: false })
  const handle = await session.addTorrent(metainfo, join(dir, 'leech'))
  const failures: unknown[] = []
  session.on('dial-failed', f => failures.push(f))
  const accepted = stalled.next()
  const connecting = session.connect(handle, '127.0.0.1', stalled.port)
  const theirs = await accepted
  const started = Date.now()
  await session.close()
  const closeTook = Date.now() - started
  t.equal(await connecting, undefined, 'the cancelled connect resolves without a link')
  if (!theirs.destroyed) await once(theirs, 'close')
  // Before, close() returned at once but left the dial to run out its TLS handshake bound (10 s).
  const took = Date.now() - started
  t.ok(closeTook < 2000 && took < 2000, `close() took ${closeTook} ms, the dial and its socket were gone after ${took} ms (the TLS handshake bound is 10 s)`)
  t.same(failures, [], 'a cancelled dial is not reported as the peer\'s failure')
})
