import t from 'tap'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { Swarm } from '../src/swarm/swarm.js'
import { MemoryStore, makeTorrent } from './helpers/memory-store.js'
import { connect } from './helpers/link-pair.js'

t.test('seeder to leecher: every byte arrives verified', async t => {
  // Odd total length: a short last piece and a short last block.
  const torrent = makeTorrent(randomBytes(5 * 262144 + 12345), 262144)
  const seedStore = new MemoryStore(torrent.metainfo, torrent.content)
  const leechStore = new MemoryStore(torrent.metainfo)
  const seeder = new Swarm({ metainfo: torrent.metainfo, store: seedStore })
  const leecher = new Swarm({ metainfo: torrent.metainfo, store: leechStore })
  t.teardown(async () => { await seeder.destroy(); await leecher.destroy() })

  const pieces: number[] = []
  leecher.on('piece', i => pieces.push(i))
  const done = once(leecher, 'complete')
  await connect(leecher, seeder, torrent.metainfo.wireInfoHash)
  await done

  t.ok(leechStore.bytes.equals(torrent.content), 'leecher holds the exact content')
  t.same([...pieces].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5], 'each piece reported once')
  t.same(leechStore.writes.length, 6, 'each piece written once')
  const s = leecher.stats()
  t.equal(s.downloaded, torrent.content.length)
  t.equal(s.piecesDone, 6)
  t.equal(s.piecesTotal, 6)
  t.equal(seeder.stats().uploaded, torrent.content.length)
  t.ok(leecher.complete)
})

t.test('throughput over loopback (64 MiB)', async t => {
  const torrent = makeTorrent(randomBytes(64 * 1024 * 1024), 1024 * 1024)
  const seeder = new Swarm({ metainfo: torrent.metainfo, store: new MemoryStore(torrent.metainfo, torrent.content) })
  const leechStore = new MemoryStore(torrent.metainfo)
  const leecher = new Swarm({ metainfo: torrent.metainfo, store: leechStore })
  t.teardown(async () => { await seeder.destroy(); await leecher.destroy() })
  const started = process.hrtime.bigint()
  const done = once(leecher, 'complete')
  await connect(leecher, seeder, torrent.metainfo.wireInfoHash)
  await done
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const mibps = 64 / seconds
  t.comment(`64 MiB in ${seconds.toFixed(2)} s: ${mibps.toFixed(0)} MiB/s`)
  t.ok(leechStore.bytes.equals(torrent.content))
  t.ok(mibps > 20, 'the pipeline keeps loopback busy')
})

t.test('a stalled peer\'s requests are reassigned after the timeout', async t => {
  const torrent = makeTorrent(randomBytes(8 * 65536), 65536)
  const stalledStore = new MemoryStore(torrent.metainfo, torrent.content)
  let stalledReads = 0
  // Never answers: the leecher sees requests vanish into a live but silent peer.
  stalledStore.readBlock = async () => { stalledReads++; return await new Promise<Buffer>(() => {}) }
  const stalled = new Swarm({ metainfo: torrent.metainfo, store: stalledStore })
  const good = new Swarm({ metainfo: torrent.metainfo, store: new MemoryStore(torrent.metainfo, torrent.content) })
  const leechStore = new MemoryStore(torrent.metainfo)
  const leecher = new Swarm({ metainfo: torrent.metainfo, store: leechStore }, { requestTimeoutMs: 400 })
  t.teardown(async () => { await stalled.destroy(); await good.destroy(); await leecher.destroy() })

  const done = once(leecher, 'complete')
  await connect(leecher, stalled, torrent.metainfo.wireInfoHash)
  // Let the stalled peer take every block first.
  while (stalledReads === 0) await new Promise(resolve => setTimeout(resolve, 10))
  await connect(leecher, good, torrent.metainfo.wireInfoHash)
  await done
  t.ok(leechStore.bytes.equals(torrent.content))
  t.ok(stalledReads > 0, 'the stalled peer had been asked')
  t.equal(leecher.stats().peers, 2, 'a slow peer is not disconnected, only bypassed')
})
