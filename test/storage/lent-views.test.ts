/**
 * The read cache reuses an evicted piece's buffer only when every block it lent has been sent
 * (src/storage/lent-views.ts, piece-read-cache.ts, and write-batching.ts reporting sends), and never in
 * the turn of its eviction. A seeder with a tiny cache serves a torrent many times its size through it,
 * and every byte arrives right.
 */
import t from 'tap'
import { once } from 'node:events'
import { join } from 'node:path'
import { readFile } from 'node:fs/promises'
import { lend, sent, track, viewsOutstanding } from '../../src/storage/lent-views.js'
import { MAX_RETIRED, PieceReadCache } from '../../src/storage/piece-read-cache.js'
import { openFileStore } from '../../src/storage/file-store.js'
import { Swarm } from '../../src/swarm/swarm.js'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { connect } from '../helpers/link-pair.js'
import { MemoryStore } from '../helpers/memory-store.js'
import { randomFile, tempDir } from '../helpers/session-pair.js'

const turn = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

t.test('lent views are counted until sent; views of untracked buffers are ignored', async t => {
  const buf = Buffer.allocUnsafeSlow(64)
  track(buf)
  const a = lend(buf, 0, 16)
  const b = lend(buf, 16, 32)
  t.equal(viewsOutstanding(buf), 2)
  sent(a.subarray(8)) // what is left of a view after a partial write counts as the view
  t.equal(viewsOutstanding(buf), 1)
  sent(b)
  sent(b)
  t.equal(viewsOutstanding(buf), 0, 'never below zero')
  sent(Buffer.alloc(16))
  t.equal(viewsOutstanding(Buffer.alloc(16)), 0, 'an untracked buffer has none')
})

t.test('an evicted piece\'s buffer is read into again only after its eviction\'s turn, and only when no view of it is outstanding', async t => {
  const cache = new PieceReadCache(100)
  const piece = async (i: number): Promise<Buffer> => { const b = cache.buffer(100); b.fill(i); return b }
  const one = (await cache.get(1, 100, () => piece(1)))!
  const view = lend(one, 0, 10)
  await cache.get(2, 100, () => piece(2)) // evicts 1
  t.equal(cache.spareCount, 1, 'piece 1\'s buffer is kept')
  t.not(cache.buffer(100), one, 'not reused in the turn it was evicted')
  await turn()
  t.not(cache.buffer(100), one, 'nor while a view of it is still to be sent')
  t.equal(view[0], 1, 'the view still reads piece 1')
  sent(view)
  t.equal(cache.buffer(100), one, 'once it is sent, the buffer is the next read\'s')
})

t.test('spare buffers are bounded beside the cache: those still lending views are dropped first, then the oldest', async t => {
  const cache = new PieceReadCache(400) // spare beyond the first: at most a quarter, 100 bytes
  const piece = (i: number) => async (): Promise<Buffer> => cache.buffer(100).fill(i)
  const free = (await cache.get(1, 100, piece(1)))!
  const lending = (await cache.get(2, 100, piece(2)))!
  lend(lending, 0, 10) // the newer of the two still lends a view
  for (let i = 3; i <= 6; i++) await cache.get(i, 100, piece(i)) // evicts 1 and 2
  await turn()
  t.equal(cache.spareCount, 1, `one spare buffer of ${MAX_RETIRED} kept: a second would pass a quarter of the cache`)
  t.equal(cache.buffer(100), free, 'the one kept is the free one; the one still lending went first')
})

t.test('a seeder whose cache holds 16 pieces serves 48 through it to one leecher, then another: every byte right, and evicted buffers read into again', async t => {
  const dir = await tempDir(t)
  const PIECE = 65536
  await randomFile(join(dir, 'seed'), 'file.bin', 48 * PIECE - 777)
  const metainfo = parseTorrent((await createTorrent(join(dir, 'seed', 'file.bin'), { version: 'v1', pieceLength: PIECE })).bytes)
  const seedStore = await openFileStore(metainfo, join(dir, 'seed'), { readCacheBytes: 16 * PIECE })
  t.equal(await seedStore.verifyExisting(), 48)
  const reads = new Set<ArrayBufferLike>()
  const cache = (seedStore as unknown as { readCache: PieceReadCache }).readCache
  const buffer = cache.buffer.bind(cache)
  let readCount = 0
  cache.buffer = size => { const b = buffer(size); reads.add(b.buffer); readCount++; return b }
  const seeder = new Swarm({ metainfo, store: seedStore })
  const stores = [new MemoryStore(metainfo), new MemoryStore(metainfo)]
  const leechers = stores.map(store => new Swarm({ metainfo, store }))
  t.teardown(async () => { for (const s of [seeder, ...leechers]) await s.destroy(); await seedStore.close() })
  for (const l of leechers) {
    const done = once(l, 'complete')
    await connect(l, seeder, metainfo.wireInfoHash)
    await done
    await turn()
  }
  const content = await readFile(join(dir, 'seed', 'file.bin'))
  for (const [i, store] of stores.entries()) t.ok(store.bytes.equals(content), `leecher ${i + 1} holds the exact content`)
  t.equal(seeder.stats().uploaded, 2 * content.length, 'each byte was sent once to each leecher')
  t.ok(readCount > 48 + 16, `pieces were read again for the second leecher (${readCount} reads)`)
  t.ok(reads.size <= readCount - 8, `${readCount} reads went into ${reads.size} buffers: evicted ones were read into again`)
})
