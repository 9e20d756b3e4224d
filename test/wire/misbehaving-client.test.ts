/**
 * What a misbehaving real client sends, against a whole bttls session (listener, guarded Wire, swarm)
 * over plaintext BitTorrent on loopback (issue 18). Each flood is one that a buggy or hostile client
 * sends in the wild: repeated announcements (bitfields, extended handshakes, have all / have none),
 * BEP 6 messages nobody asked for (allowed fast, suggest, reject), choke churn, DHT port spam,
 * ut_metadata requests while never reading, and a bitfield sized for another torrent. Each must close
 * its link with a typed error within a few thousand messages and well under a second of our work,
 * however large each message is; the session serves an honest peer afterwards.
 *
 * The torrent has 100,000 pieces (a 1.6 GB torrent of 16 KiB pieces; no data is needed, the session
 * is a leecher): a bitfield of 12.5 KB, whose replacement costs the piece picker milliseconds. With one
 * token per repeated bitfield, such a link kept a core busy until a request timeout (61 s).
 * (The per-message unit cases are in wire-message-rate.test.ts.)
 */
import t from 'tap'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import Wire from 'bittorrent-protocol'
import { MalformedMessageError, MessageFloodError } from '../../src/errors.js'
import { encodeBencode } from '../../src/codec/bencode.js'
import { SendQueueOverflowError } from '../../src/swarm/errors.js'
import { DEFAULT_MESSAGE_RATE } from '../../src/wire/message-rate.js'
import { UT_METADATA } from '../../src/wire/ut-metadata.js'
import { message } from '../fixtures/fuzz/seeds.js'
import { hashesOnlyLeecher } from '../helpers/session-pair.js'

const PIECES = 100_000
const PIECE_LENGTH = 16 * 1024
const tick = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
const u32 = (...values: number[]): Buffer => Buffer.concat(values.map(v => { const b = Buffer.alloc(4); b.writeUInt32BE(v); return b }))
const times = (n: number, m: Buffer | ((i: number) => Buffer)): Buffer => Buffer.concat(Array.from({ length: n }, (_, i) => typeof m === 'function' ? m(i) : m))

/** A valid bitfield for the torrent: random bits, spare bits clear. */
function bitfield (): Buffer {
  const bits = randomBytes(Math.ceil(PIECES / 8))
  const spare = bits.length * 8 - PIECES
  bits[bits.length - 1]! &= (0xff << spare) & 0xff
  return message(5, bits)
}

/** An extended handshake of about `bytes`, padded with a list of small integers (many bencode tokens). */
function extendedHandshake (bytes: number): Buffer {
  return message(20, Buffer.from([0]), Buffer.from(`d1:md6:ut_pexi1ee1:xl${'i1e'.repeat(Math.floor(bytes / 3))}ee`))
}

interface Flood {
  readonly name: string
  /** What the client sends (after its handshake), given our ut_metadata id. */
  readonly bytes: (utMetadata: number) => Buffer
  readonly messages: number
  readonly expect: Array<new (...args: never[]) => Error>
  readonly match?: RegExp
}

// Every flood is far longer than the budget's burst: only a close stops it.
const floods: Flood[] = [
  { name: 'the same bitfield again and again', bytes: () => times(2000, bitfield()), messages: 2000, expect: [MessageFloodError], match: /repeated bitfield/ },
  { name: 'extended handshakes of 60 KB again and again', bytes: () => times(200, extendedHandshake(60_000)), messages: 200, expect: [MessageFloodError], match: /repeated extended handshake/ },
  { name: 'have all, have none, toggled', bytes: () => times(5000, Buffer.concat([message(0x0e), message(0x0f)])), messages: 10_000, expect: [MessageFloodError] },
  { name: 'allowed fast for every piece', bytes: () => times(10_000, i => message(0x11, u32(i))), messages: 10_000, expect: [MessageFloodError] },
  { name: 'suggest for every piece', bytes: () => times(10_000, i => message(0x0d, u32(i))), messages: 10_000, expect: [MessageFloodError] },
  { name: 'rejects of requests never made', bytes: () => times(10_000, i => message(0x10, u32(i, 0, PIECE_LENGTH))), messages: 10_000, expect: [MessageFloodError] },
  { name: 'choke, unchoke, churned', bytes: () => times(5000, Buffer.concat([message(1), message(0)])), messages: 10_000, expect: [MessageFloodError] },
  { name: 'DHT port messages', bytes: () => times(10_000, message(9, Buffer.from([0x1a, 0xe1]))), messages: 10_000, expect: [MessageFloodError] },
  {
    name: 'ut_metadata requests, never reading the answers',
    bytes: id => times(10_000, i => message(20, Buffer.from([id]), Buffer.from(encodeBencode({ msg_type: 0, piece: i % 100 })))),
    messages: 10_000,
    expect: [MessageFloodError, SendQueueOverflowError]
  },
  { name: 'a bitfield for another torrent (1 MiB, every bit set)', bytes: () => message(5, Buffer.alloc(1 << 20, 0xff)), messages: 1, expect: [MalformedMessageError], match: /piece count/ }
]

const { leecher, handle, closes } = await hashesOnlyLeecher(t, PIECES, PIECE_LENGTH)

/** A client at `from` that completes the BitTorrent handshake (and reads our extended handshake), then stops reading. */
async function client (from: string): Promise<{ socket: net.Socket, utMetadata: number }> {
  const socket = net.connect({ host: '127.0.0.1', port: leecher.port, localAddress: from })
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  socket.on('error', () => {})
  t.teardown(() => socket.destroy())
  const wire = new Wire()
  socket.pipe(wire as unknown as NodeJS.WritableStream)
  wire.pipe(socket)
  const extended = new Promise<Record<string, number>>(resolve => wire.on('extended', (ext: string, hs: { m?: Record<string, number> }) => {
    if (ext === 'handshake') resolve(hs.m ?? {})
  }))
  wire.handshake(Buffer.from(handle.wireInfoHash), randomBytes(20), { dht: true, fast: true, extended: true })
  const m = await extended
  socket.unpipe()
  socket.pause()
  return { socket, utMetadata: m[UT_METADATA] ?? 0 }
}

for (const [i, flood] of floods.entries()) {
  t.test(flood.name, async t => {
    const from = `127.0.0.${20 + i}`
    const { socket, utMetadata } = await client(from)
    const bytes = flood.bytes(utMetadata)
    const started = performance.now()
    socket.write(bytes)
    while (!closes.has(from) && performance.now() - started < 10_000) await tick(20)
    const error = closes.get(from)
    t.ok(closes.has(from), `closed within 10 s (${Math.round(performance.now() - started)} ms; ${flood.messages} messages, ${bytes.length} bytes sent)`)
    t.ok(flood.expect.some(e => error instanceof e), `closed with ${flood.expect.map(e => e.name).join(' or ')}: ${String(error)}`)
    if (flood.match) t.match(error?.message, flood.match)
    if (error instanceof MessageFloodError) t.equal(error.code, 'ERR_MESSAGE_FLOOD')
  })
}

t.test('the session still serves an honest client afterwards', async t => {
  const { socket } = await client('127.0.0.60')
  t.notOk(socket.destroyed, 'handshake and extended handshake answered')
  t.ok(DEFAULT_MESSAGE_RATE.burst < 10_000, 'every flood above outlasts the burst')
})
