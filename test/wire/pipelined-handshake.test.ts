/**
 * BEP 3 lets a peer send its handshake and its first messages without waiting for ours. Over an
 * inbound plaintext link the guarded Wire parsed those messages before the swarm listened to it, so a
 * client that wrote handshake, bitfield and interested in one write was never answered (issue 18).
 * A raw client over loopback against a seeding session: one write, then an unchoke and a block.
 */
import t, { type Test } from 'tap'
import net from 'node:net'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { message } from '../fixtures/fuzz/seeds.js'
import { messageIds } from '../helpers/peer-messages.js'
import { randomFile, session, tempDir } from '../helpers/session-pair.js'

const PIECE_LENGTH = 16 * 1024
const u32 = (...values: number[]): Buffer => Buffer.concat(values.map(v => { const b = Buffer.alloc(4); b.writeUInt32BE(v); return b }))

const dir = await tempDir(t)
await randomFile(join(dir, 'seed'), 'p.bin', 3 * PIECE_LENGTH)
const file = join(dir, 'seed', 'p.bin')
const metainfo = parseTorrent((await createTorrent(join(dir, 'seed', 'p.bin'), { version: 'v1', pieceLength: PIECE_LENGTH })).bytes)
const seeder = await session(t, { host: '127.0.0.1', policy: 'prefer-tls', pex: false, trackers: false })
const handle = await seeder.addTorrent(metainfo, join(dir, 'seed'))
const leecher = await session(t, { host: '127.0.0.1', policy: 'prefer-tls', pex: false, trackers: false })
await leecher.addTorrent(metainfo, join(dir, 'leech'))

/** A BEP 3 handshake with the fast and extension protocol bits. */
function handshake (): Buffer {
  const reserved = Buffer.alloc(8)
  reserved[5] = 0x10
  reserved[7] = 0x04
  return Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), reserved, Buffer.from(handle.wireInfoHash), randomBytes(20)])
}

/** A raw client at `from`, and what the seeder sent it after its 68-byte handshake once `done` holds (10 s at most). */
async function connect (t: Test, from: string, to = seeder): Promise<{ socket: net.Socket, readUntil: (done: (ids: number[]) => boolean) => Promise<{ ids: number[], bytes: Buffer }> }> {
  const socket = net.connect({ host: '127.0.0.1', port: to.port, localAddress: from })
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  socket.on('error', () => {})
  t.teardown(() => socket.destroy())
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  const readUntil = async (done: (ids: number[]) => boolean): Promise<{ ids: number[], bytes: Buffer }> => {
    const started = performance.now()
    for (;;) {
      const bytes = Buffer.concat(chunks).subarray(68)
      const ids = messageIds(bytes).map(m => m.id)
      if (done(ids) || socket.destroyed || performance.now() - started > 10_000) return { ids, bytes }
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }
  return { socket, readUntil }
}

t.test('handshake, bitfield and interested in one write: the seeder unchokes and serves a block', async t => {
  const { socket, readUntil } = await connect(t, '127.0.0.5')
  socket.write(Buffer.concat([handshake(), message(5, Buffer.from([0])), message(2)]))
  const unchoked = await readUntil(ids => ids.includes(1))
  t.ok(unchoked.ids.includes(1), `unchoked after one write (got message ids ${unchoked.ids.join(',')})`)
  socket.write(message(6, u32(1, 0, PIECE_LENGTH)))
  const served = await readUntil(ids => ids.includes(7))
  t.ok(served.ids.includes(7), 'the requested block arrives')
  const at = served.bytes.indexOf(Buffer.concat([u32(9 + PIECE_LENGTH), Buffer.from([7]), u32(1, 0)]))
  t.ok(at >= 0, 'a piece message for block 1/0')
  t.same(served.bytes.subarray(at + 13, at + 13 + PIECE_LENGTH), (await readFile(file)).subarray(PIECE_LENGTH, 2 * PIECE_LENGTH), 'with the file\'s bytes')
})

t.test('handshake, bitfield and unchoke in one write: the leecher is interested and requests', async t => {
  const { socket, readUntil } = await connect(t, '127.0.0.7', leecher)
  socket.write(Buffer.concat([handshake(), message(5, Buffer.from([0xe0])), message(1)]))
  const { ids } = await readUntil(ids => ids.includes(6))
  t.ok(ids.includes(2), `interested (got message ids ${ids.join(',')})`)
  t.ok(ids.includes(6), 'and requests a block')
})

t.test('control: the same bytes after our handshake', async t => {
  const { socket, readUntil } = await connect(t, '127.0.0.6')
  socket.write(handshake())
  await readUntil(ids => ids.includes(14))
  socket.write(Buffer.concat([message(5, Buffer.from([0])), message(2)]))
  const unchoked = await readUntil(ids => ids.includes(1))
  t.ok(unchoked.ids.includes(1), `unchoked (got message ids ${unchoked.ids.join(',')})`)
  socket.write(message(6, u32(1, 0, PIECE_LENGTH)))
  const served = await readUntil(ids => ids.includes(7))
  t.ok(served.ids.includes(7), 'the requested block arrives')
})
