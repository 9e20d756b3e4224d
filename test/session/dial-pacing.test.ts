/**
 * Dials of discovered peers are paced (src/session/dial-queue.ts) and a complete torrent does not dial
 * what PEX names (issue 18: one PEX message made a seeder dial 100 addresses within 6 s). The queue on
 * its own with an injected clock; the session over real loopback sockets, its "peers" plain TCP
 * servers on 127.0.0.x that count the connections they get and hold each 150 ms.
 */
import t, { type Test } from 'tap'
import net from 'node:net'
import { join } from 'node:path'
import { DEFAULT_DIAL_LIMITS, DialQueue } from '../../src/session/dial-queue.js'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import type { PeerCandidate } from '../../src/session/session.js'
import { randomFile, session, tempDir } from '../helpers/session-pair.js'

const tick = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

t.test('the queue: at most maxHalfOpen at once, dialsPerSecond on average, bounded, one entry per key', async t => {
  let now = 0
  const q = new DialQueue({ maxHalfOpen: 3, dialsPerSecond: 5, maxQueued: 4 }, () => now)
  t.teardown(() => q.close())
  const finish: Array<() => void> = []
  let started = 0
  const job = (): Promise<void> => new Promise(resolve => { started++; finish.push(resolve) })
  const done = async (): Promise<void> => { finish.splice(0).forEach(f => f()); await tick(); await tick() }
  for (let i = 0; i < 7; i++) t.ok(q.enqueue(`k${i}`, job), `k${i} queued`)
  t.equal(started, 3, 'three half-open at once')
  t.equal(q.inProgress, 3)
  t.equal(q.queued, 4)
  t.notOk(q.enqueue('k7', job), 'full: maxQueued waiting')
  t.notOk(q.enqueue('k3', job), 'a key already waiting is not queued twice')
  await done()
  t.equal(started, 5, 'then only the two tokens left of the five per second')
  t.equal(q.queued, 2)
  await done()
  t.equal(started, 5, 'no token, no dial, however many are free')
  now = 400 // two tokens back
  t.ok(q.enqueue('k8', job))
  t.equal(started, 7, 'two more 400 ms later')
  q.close()
  await done()
  now = 10_000
  t.notOk(q.enqueue('k9', job), 'closed')
  t.equal(started, 7, 'nothing waiting runs after close')
  t.ok(DEFAULT_DIAL_LIMITS.maxHalfOpen > 0 && DEFAULT_DIAL_LIMITS.dialsPerSecond > 0)
})

interface Listeners { candidates: PeerCandidate[], connections: () => number, maxOpen: () => number }

/** `n` TCP servers on 127.0.0.(10+i), each holding a connection 150 ms then closing it. */
async function listeners (t: Test, n: number, source: PeerCandidate['source']): Promise<Listeners> {
  let connections = 0
  let open = 0
  let maxOpen = 0
  const candidates: PeerCandidate[] = []
  for (let i = 0; i < n; i++) {
    const server = net.createServer(socket => {
      connections++
      maxOpen = Math.max(maxOpen, ++open)
      socket.on('error', () => {})
      socket.once('close', () => { open-- })
      setTimeout(() => socket.destroy(), 150)
    })
    const host = `127.0.0.${10 + i}`
    await new Promise<void>(resolve => server.listen(0, host, resolve))
    t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
    candidates.push({ host, port: (server.address() as net.AddressInfo).port, source })
  }
  return { candidates, connections: () => connections, maxOpen: () => maxOpen }
}

async function torrentIn (t: Test, complete: boolean): Promise<{ metainfo: ReturnType<typeof parseTorrent>, dir: string }> {
  const dir = await tempDir(t)
  await randomFile(join(dir, 'seed'), 'p.bin', 100_000)
  const metainfo = parseTorrent((await createTorrent(join(dir, 'seed', 'p.bin'), { version: 'v1', pieceLength: 32 * 1024 })).bytes)
  return { metainfo, dir: join(dir, complete ? 'seed' : 'leech') }
}

t.test('a leecher dials what PEX names at most maxHalfOpen at a time', async t => {
  const { metainfo, dir } = await torrentIn(t, false)
  const leecher = await session(t, { trackers: false, policy: 'require-tls', dialLimits: { maxHalfOpen: 2, dialsPerSecond: 1000, maxQueued: 100 } })
  const handle = await leecher.addTorrent(metainfo, dir)
  const peers = await listeners(t, 12, 'pex')
  leecher.addPeers(handle, peers.candidates)
  const end = Date.now() + 10_000
  while (peers.connections() < 12 && Date.now() < end) await new Promise(resolve => setTimeout(resolve, 20))
  t.equal(peers.connections(), 12, 'every named peer is dialed in the end')
  t.ok(peers.maxOpen() <= 2, `never more than 2 at once (saw ${peers.maxOpen()})`)
})

t.test('a complete torrent does not dial what PEX names; a tracker\'s peers it still dials', async t => {
  const { metainfo, dir } = await torrentIn(t, true)
  const seeder = await session(t, { trackers: false, policy: 'require-tls' })
  const handle = await seeder.addTorrent(metainfo, dir)
  t.ok(handle.swarm.complete, 'the seeder is complete')
  const fromPex = await listeners(t, 20, 'pex')
  seeder.addPeers(handle, fromPex.candidates)
  await new Promise(resolve => setTimeout(resolve, 500))
  t.equal(fromPex.connections(), 0, 'PEX cannot make a seeder dial anyone')
  const fromTracker = await listeners(t, 2, 'tracker')
  seeder.addPeers(handle, fromTracker.candidates)
  const end = Date.now() + 5000
  while (fromTracker.connections() < 2 && Date.now() < end) await new Promise(resolve => setTimeout(resolve, 20))
  t.equal(fromTracker.connections(), 2)
})

t.test('past maxPeersPerTorrent links, discovered peers are not dialed', async t => {
  const { metainfo, dir } = await torrentIn(t, false)
  const leecher = await session(t, { trackers: false, policy: 'require-tls', maxPeersPerTorrent: 0 })
  const handle = await leecher.addTorrent(metainfo, dir)
  const peers = await listeners(t, 3, 'tracker')
  leecher.addPeers(handle, peers.candidates)
  await new Promise(resolve => setTimeout(resolve, 400))
  t.equal(peers.connections(), 0)
})
