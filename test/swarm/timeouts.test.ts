/**
 * Timeouts (issues 12 item 2, 18 item 3): a peer that never sends is snubbed, then closed; the swarm says
 * when it is stalled; a block that arrives late, after we gave up on it, is ignored, not fatal.
 * Real loopback sockets; the misbehaving peer is a bittorrent-protocol Wire driven by the test.
 */
import t from 'tap'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { Swarm, type StallInfo } from '../../src/swarm/swarm.js'
import { PeerTimeoutError } from '../../src/swarm/errors.js'
import { MemoryStore, makeTorrent } from '../helpers/memory-store.js'
import { connect, linkPair, type TestLink } from '../helpers/link-pair.js'

async function rawPeer (swarm: Swarm, infoHash: Buffer): Promise<{ raw: TestLink, theirs: TestLink }> {
  const [raw, theirs] = await linkPair(infoHash)
  swarm.addLink(theirs)
  raw.wire.handshake(infoHash, randomBytes(20), { dht: false, fast: true, extended: true })
  await raw.remoteHandshake
  return { raw, theirs }
}

async function until (cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

t.test('a peer that claims every piece and never sends: stalled, then closed with PeerTimeoutError; an honest peer finishes', async t => {
  const torrent = makeTorrent(randomBytes(4 * 65536), 65536)
  const leechStore = new MemoryStore(torrent.metainfo)
  const leecher = new Swarm({ metainfo: torrent.metainfo, store: leechStore }, { requestTimeoutMs: 100, peerTimeoutMs: 400, stallTimeoutMs: 200 })
  const seeder = new Swarm({ metainfo: torrent.metainfo, store: new MemoryStore(torrent.metainfo, torrent.content) })
  t.teardown(async () => { await leecher.destroy(); await seeder.destroy() })
  const stalls: StallInfo[] = []
  let resumed = 0
  leecher.on('stalled', s => stalls.push(s))
  leecher.on('resumed', () => { resumed++ })

  const cases = [
    { name: 'unchokes us, never answers a request', unchoke: true },
    { name: 'keeps us choked for ever', unchoke: false }
  ]
  for (const c of cases) {
    const { raw, theirs } = await rawPeer(leecher, torrent.metainfo.wireInfoHash)
    let requests = 0
    raw.wire.on('request', () => { requests++ })
    raw.wire.haveAll()
    if (c.unchoke) raw.wire.unchoke()
    const started = Date.now()
    const err = await theirs.closed
    t.equal(err?.name, 'PeerTimeoutError', c.name)
    t.ok(err instanceof PeerTimeoutError)
    t.equal((err as PeerTimeoutError).code, 'ERR_PEER_TIMEOUT')
    t.ok(Date.now() - started < 5000, 'closed after the peer timeout, not never')
    if (c.unchoke) t.ok(requests > 0, 'it was asked')
  }
  t.ok(stalls.length >= 1, 'the swarm reported it was stalled')
  t.ok(stalls[0]!.sinceMs >= 200)
  t.equal(leecher.stats().stalled, true)

  const done = once(leecher, 'complete')
  await connect(leecher, seeder, torrent.metainfo.wireInfoHash)
  await done
  t.ok(leechStore.bytes.equals(torrent.content))
  t.equal(resumed, 1, "'resumed' once data flowed again")
  t.equal(leecher.stats().stalled, false)
})

t.test('late blocks after a timeout are ignored, even when the same block was asked for again', async t => {
  const torrent = makeTorrent(randomBytes(2 * 65536), 65536)
  const leechStore = new MemoryStore(torrent.metainfo)
  const leecher = new Swarm({ metainfo: torrent.metainfo, store: leechStore }, { requestTimeoutMs: 150, peerTimeoutMs: 60_000 })
  t.teardown(async () => { await leecher.destroy() })
  const { raw, theirs } = await rawPeer(leecher, torrent.metainfo.wireInfoHash)
  const asked: Array<[number, number, number]> = []
  let cancels = 0
  raw.wire.on('request', (i: number, o: number, l: number) => { asked.push([i, o, l]) })
  raw.wire.on('cancel', () => { cancels++ })
  raw.wire.haveAll()
  raw.wire.unchoke()
  // Frozen: answer nothing until the leecher timed out, cancelled, and asked again for a block it
  // had already asked for (the snubbed peer keeps one request).
  await until(() => cancels > 0 && asked.length > 8, 'a timeout and a re-request')
  const answered = new Set<string>()
  const answer = (i: number, o: number, l: number): void => {
    answered.add(`${i}:${o}`)
    raw.wire.piece(i, o, torrent.content.subarray(i * 65536 + o, i * 65536 + o + l))
  }
  // Then wake up: every request it ever received is answered, in order, duplicates included.
  for (const [i, o, l] of asked) answer(i, o, l)
  raw.wire.on('request', (i: number, o: number, l: number) => answer(i, o, l))
  await Promise.race([once(leecher, 'complete'), theirs.closed.then(err => { throw err ?? new Error('closed') })])
  t.ok(asked.length > answered.size - 1 && asked.some(([i, o], k) => asked.findIndex(([i2, o2]) => i2 === i && o2 === o) !== k), 'a block was asked for twice')
  t.ok(leechStore.bytes.equals(torrent.content), 'complete from the peer that was late')
  t.ok(leecher.stats().wasted > 0, 'the late copies were counted as wasted')
})
