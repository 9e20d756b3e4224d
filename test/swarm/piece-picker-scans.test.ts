/**
 * The piece picker's full scans (each visits every piece) are driven by pieces we start, never by a
 * peer's chatter (issue 18). A peer that claims only a piece we already asked it for, then churns
 * choke/unchoke, made every unchoke a pass over all 100,000 pieces: about 0.35 core per link within
 * the message budget. downloader.ts remembers that a scan found nothing to start from that peer;
 * then only the pieces it announces since are looked at.
 *
 * The session is a leecher of a 100,000-piece torrent (no data needed); each client speaks plaintext
 * BitTorrent from its own 127.0.0.x, completes its handshake with a Wire, then writes raw messages and
 * parses what it receives, to see each request we make.
 */
import t from 'tap'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import Wire from 'bittorrent-protocol'
import { MAX_CANDIDATES_SINCE_SCAN } from '../../src/swarm/scan-memory.js'
import { PiecePicker, REOPENED_LOG_SIZE } from '../../src/swarm/piece-picker.js'
import { DEFAULT_MESSAGE_RATE } from '../../src/wire/message-rate.js'
import { message } from '../fixtures/fuzz/seeds.js'
import { seededRandom } from '../helpers/seeded-random.js'
import { hashesOnlyLeecher } from '../helpers/session-pair.js'

const PIECES = 100_000
const PIECE_LENGTH = 16 * 1024
const CHOKE = message(0)
const UNCHOKE = message(1)
const tick = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(v); return b }
const have = (index: number): Buffer => message(4, u32(index))

t.test('picker: pickAmong looks at the candidates alone, rarest first; reopened counts pieces back in the pool', async t => {
  const picker = new PiecePicker(6, [5], seededRandom(3))
  picker.addHave(1)
  picker.addHave(1)
  picker.addHave(2)
  t.equal(picker.pickAmong([1, 2, 3], () => true), 3, 'no holder counted: the rarest')
  t.equal(picker.pickAmong([1, 2], () => true), 2)
  t.equal(picker.pickAmong([1, 2, 9], i => i !== 2), 1, 'what `has` refuses is skipped; an index out of range is ignored')
  t.equal(picker.pickAmong([5], () => true), -1, 'a piece done is never picked')
  t.equal(picker.pickAmong([1, 2], () => true, i => i === 1), 1, 'what `accept` refuses is skipped')
  t.equal(picker.scans, 0, 'no full scan')
  picker.pick(() => true)
  t.equal(picker.scans, 1)
  picker.markActive(2)
  t.equal(picker.pickAmong([2], () => true), -1, 'an active piece is not picked')
  t.equal(picker.reopened, 0)
  picker.markMissing(2)
  picker.markMissing(2)
  t.equal(picker.reopened, 1, 'counted once, when an active piece goes back')
  picker.markMissing(4)
  t.equal(picker.reopened, 1, 'a piece never started is not reopened')
  t.same(picker.reopenedSince(0), [2], 'the pieces reopened since a count of reopenings')
  t.same(picker.reopenedSince(1), [])
  t.equal(picker.reopenedSince(2), undefined, 'a count ahead of the picker')
  for (let k = 0; k < REOPENED_LOG_SIZE; k++) { picker.markActive(k % 2 === 0 ? 2 : 3); picker.markMissing(k % 2 === 0 ? 2 : 3) }
  t.equal(picker.reopenedSince(0), undefined, `the log keeps the last ${REOPENED_LOG_SIZE} only`)
  t.equal(picker.reopenedSince(1)?.length, REOPENED_LOG_SIZE)
  t.same(picker.reopenedSince(picker.reopened - 2), [2, 3])
})

const { leecher, handle, closes } = await hashesOnlyLeecher(t, PIECES, PIECE_LENGTH)
const scans = (): number => handle.swarm.stats().pieceScans

interface Client {
  readonly socket: net.Socket
  /** Piece indices of the requests received, in order. */
  readonly requested: number[]
}

/** A client at `from` that completes the BitTorrent handshake, then sends raw bytes and parses what arrives. */
async function client (from: string, fast: boolean): Promise<Client> {
  const socket = net.connect({ host: '127.0.0.1', port: leecher.port, localAddress: from })
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  socket.on('error', () => {})
  t.teardown(() => socket.destroy())
  const wire = new Wire()
  socket.pipe(wire as unknown as NodeJS.WritableStream)
  wire.pipe(socket)
  const extended = new Promise<void>(resolve => wire.on('extended', (ext: string) => { if (ext === 'handshake') resolve() }))
  wire.handshake(Buffer.from(handle.wireInfoHash), randomBytes(20), { dht: false, fast, extended: true })
  await extended
  socket.unpipe()
  const requested: number[] = []
  let pending = Buffer.alloc(0)
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk])
    while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
      const length = pending.readUInt32BE(0)
      if (length > 0 && pending[4] === 6) requested.push(pending.readUInt32BE(5))
      pending = pending.subarray(4 + length)
    }
  })
  socket.resume()
  return { socket, requested }
}

async function until (what: string, check: () => boolean): Promise<void> {
  const started = performance.now()
  while (!check()) {
    if (performance.now() - started > 10_000) throw new Error(`not within 10 s: ${what}`)
    await tick(10)
  }
}

/** One piece claimed (bitfield), unchoked: we ask for it, and find nothing else to start from this peer. */
async function claimingOnePiece (from: string, fast: boolean, piece: number): Promise<Client> {
  const c = await client(from, fast)
  const bits = Buffer.alloc(Math.ceil(PIECES / 8))
  bits[piece >> 3]! |= 0x80 >> (piece & 7)
  c.socket.write(Buffer.concat([message(5, bits), message(2), UNCHOKE]))
  await until('the request for its one piece', () => c.requested.includes(piece))
  return c
}

for (const fast of [true, false]) {
  t.test(`choke/unchoke churn from a peer whose one piece is asked for already (${fast ? 'with' : 'without'} BEP 6) scans nothing`, async t => {
    const c = await claimingOnePiece(fast ? '127.0.0.30' : '127.0.0.31', fast, fast ? 0 : 1)
    const before = scans()
    const pairs = 1000
    t.ok(2 * pairs < DEFAULT_MESSAGE_RATE.burst, 'within the message budget: the link stays open, only our work can stop it')
    c.socket.write(Buffer.concat(Array.from({ length: pairs }, () => Buffer.concat([CHOKE, UNCHOKE]))))
    // Each unchoke without BEP 6 asks for the piece again (a choke dropped the request): wait for the last.
    const want = fast ? 0 : pairs
    await until('every unchoke handled', () => c.requested.length >= 1 + want)
    await tick(50)
    t.notOk(closes.has(c.socket.localAddress!), 'the link is open')
    t.equal(scans() - before, 0, `no full scan for ${pairs} unchokes (without the memo: one each)`)
  })
}

t.test('haves after a scan found nothing: each new piece is asked for, and none costs a scan', async t => {
  const c = await claimingOnePiece('127.0.0.32', true, 2)
  const before = scans()
  const fresh = Array.from({ length: 100 }, (_, i) => 10 + i)
  c.socket.write(Buffer.concat(fresh.map(have)))
  await until('a request for each announced piece', () => fresh.every(i => c.requested.includes(i)))
  t.equal(scans() - before, 0, 'each have looked at its own piece only')
  // A have of a piece already started from another peer starts nothing (at most an endgame duplicate), and costs no scan.
  c.socket.write(Buffer.concat([have(0), have(1), UNCHOKE]))
  await tick(100)
  t.equal(scans() - before, 0)
})

t.test(`past ${MAX_CANDIDATES_SINCE_SCAN} haves since the last scan, the memo is dropped: one scan, and the download goes on`, async t => {
  const c = await claimingOnePiece('127.0.0.33', true, 3)
  const before = scans()
  // Far more than the pipeline takes (128): the rest wait in the memo, until its bound drops it.
  const fresh = Array.from({ length: MAX_CANDIDATES_SINCE_SCAN + 200 }, (_, i) => 1000 + i)
  c.socket.write(Buffer.concat(fresh.map(have)))
  await until('the pipeline filled', () => c.requested.length >= 128)
  await tick(50)
  t.equal(scans() - before, 0, 'a full pipeline asks for nothing')
  const asked = c.requested.length
  // A reject frees one slot: with the memo gone, a full scan finds the next piece.
  c.socket.write(message(0x10, u32(3), u32(0), u32(PIECE_LENGTH)))
  await until('a request for one more announced piece', () => c.requested.length > asked)
  t.equal(scans() - before, 1, 'one scan')
  t.ok(fresh.includes(c.requested.at(-1)!), 'for a piece announced past the bound')
  t.notOk(closes.has('127.0.0.33'))
})
