/**
 * Piece buffers are reused once a piece is on disk (src/swarm/piece-buffers.ts): the next piece of the
 * same length gets the same memory, the spare list is bounded in count and bytes, and a piece that
 * never reached the disk keeps its buffer.
 */
import t from 'tap'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { Swarm } from '../../src/swarm/swarm.js'
import { connect } from '../helpers/link-pair.js'
import { MemoryStore, makeTorrent } from '../helpers/memory-store.js'
import { ActivePiece, BLOCK_SIZE } from '../../src/swarm/active-piece.js'
import { MAX_SPARE_PIECE_BUFFERS, MAX_SPARE_PIECE_BYTES, PieceBuffers } from '../../src/swarm/piece-buffers.js'

t.test('a recycled piece buffer is the next piece\'s, and holds that piece\'s bytes', async t => {
  const buffers = new PieceBuffers()
  const first = new ActivePiece<string>(0, 2 * BLOCK_SIZE, buffers)
  first.receive(0, Buffer.alloc(BLOCK_SIZE, 1), 'a')
  first.receive(1, Buffer.alloc(BLOCK_SIZE, 2), 'a')
  const memory = first.data
  first.recycle()
  t.equal(buffers.spareCount, 1, 'the buffer is kept for reuse')
  const second = new ActivePiece<string>(1, 2 * BLOCK_SIZE, buffers)
  second.receive(0, Buffer.alloc(BLOCK_SIZE, 3), 'b')
  second.receive(1, Buffer.alloc(BLOCK_SIZE, 4), 'b')
  t.equal(second.data, memory, 'the next piece of that length got the same buffer')
  t.equal(buffers.spareCount, 0)
  t.same([second.data[0], second.data[BLOCK_SIZE]], [3, 4], 'with its own bytes')
  const shorter = new ActivePiece<string>(2, BLOCK_SIZE, buffers)
  shorter.receive(0, Buffer.alloc(BLOCK_SIZE, 5), 'c')
  t.not(shorter.data, memory, 'a piece of another length gets a buffer of its own')
})

t.test('a piece that allocated nothing gives nothing back; one that is never recycled keeps its buffer', async t => {
  const buffers = new PieceBuffers()
  const idle = new ActivePiece<string>(0, BLOCK_SIZE, buffers)
  idle.recycle()
  t.equal(buffers.spareCount, 0, 'no block arrived, no buffer was taken')
  const failed = new ActivePiece<string>(1, BLOCK_SIZE, buffers)
  failed.receive(0, Buffer.alloc(BLOCK_SIZE, 9), 'x')
  const next = new ActivePiece<string>(2, BLOCK_SIZE, buffers)
  next.receive(0, Buffer.alloc(BLOCK_SIZE, 7), 'y')
  t.not(next.data, failed.data, 'without recycle, the next piece gets fresh memory')
  t.equal(failed.data[0], 9, 'and the kept piece\'s bytes are untouched')
})

t.test('the spare list is bounded in count and in bytes', async t => {
  const byCount = new PieceBuffers()
  for (let i = 0; i < MAX_SPARE_PIECE_BUFFERS + 3; i++) byCount.give(Buffer.allocUnsafe(BLOCK_SIZE))
  t.equal(byCount.spareCount, MAX_SPARE_PIECE_BUFFERS, `at most ${MAX_SPARE_PIECE_BUFFERS} buffers`)
  const byBytes = new PieceBuffers()
  const big = MAX_SPARE_PIECE_BYTES / 2
  for (let i = 0; i < 3; i++) byBytes.give(Buffer.allocUnsafe(big))
  t.equal(byBytes.spareCount, 2, `at most ${MAX_SPARE_PIECE_BYTES} bytes`)
})

t.test('a download reuses its piece buffers: the store is handed a few buffers again and again, and every byte is right', async t => {
  const torrent = makeTorrent(randomBytes(24 * 65536), 65536)
  const seeder = new Swarm({ metainfo: torrent.metainfo, store: new MemoryStore(torrent.metainfo, torrent.content) })
  const leechStore = new MemoryStore(torrent.metainfo)
  const given = new Set<ArrayBufferLike>()
  const write = leechStore.writePiece.bind(leechStore)
  leechStore.writePiece = async (index, data) => { given.add(data.buffer); await write(index, data) }
  const leecher = new Swarm({ metainfo: torrent.metainfo, store: leechStore })
  t.teardown(async () => { await seeder.destroy(); await leecher.destroy() })
  const done = once(leecher, 'complete')
  await connect(leecher, seeder, torrent.metainfo.wireInfoHash)
  await done
  t.ok(leechStore.bytes.equals(torrent.content), 'the leecher holds the exact content')
  t.equal(leechStore.writes.length, 24, 'each of the 24 pieces written once')
  t.ok(given.size < 24, `the 24 pieces came in ${given.size} buffers`)
})
