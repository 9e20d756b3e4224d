/**
 * The guarded wire's receive buffering (guarded-wire.ts `_write`, `_processBuffer`): whatever the
 * chunking of the bytes, the parser is handed the same messages as bittorrent-protocol's own buffering
 * hands it, the guard still sees each one, and MSE links still resynchronise and decrypt.
 */
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import Wire from 'bittorrent-protocol'
import { createGuardedWire, MSE_RC4_ONLY, NO_MSE } from '../../src/wire/guarded-wire.js'
import { MAX_BLOCK_LENGTH, MAX_MESSAGE_LENGTH } from '../../src/wire/message-limits.js'
import { encodeBencode } from '../../src/codec/bencode.js'
import { prng } from '../fixtures/fuzz/mutate.js'
import { btHandshake, message } from '../fixtures/fuzz/seeds.js'
import { ROOT } from '../helpers/project-root.js'

const INFO_HASH = Buffer.alloc(20, 0x11)
const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b }
const KEEP_ALIVE = Buffer.alloc(4)

/** What a peer sends after its handshake: every kind of message the wire parses, in sizes around a TLS record's. */
function messages (): Buffer {
  const rng = prng(0x5eed)
  const block = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(rng() * 256)))
  const parts = [
    message(20, Buffer.from([0]), encodeBencode({ m: { ut_pex: 1 }, v: 'receive-buffer test' })),
    message(5, block(300)),
    KEEP_ALIVE
  ]
  for (let i = 0; i < 40; i++) parts.push(message(4, u32(i * 7)))
  let offset = 0
  for (const size of [1, 9, 16_384, 16_383, 16_385, 16_384, 16_384, 65_536, 4, MAX_BLOCK_LENGTH, 16_384]) {
    parts.push(message(7, u32(3), u32(offset), block(size)))
    offset += size
    if (size === 4) parts.push(KEEP_ALIVE, KEEP_ALIVE)
  }
  parts.push(LONGEST, message(2), message(4, u32(1000)), KEEP_ALIVE)
  return Buffer.concat(parts)
}

/** The longest message the guard lets through (an id the Wire does not know: it stays opaque). */
const LONGEST = message(99, randomBytes(MAX_MESSAGE_LENGTH - 1))
const STREAM = messages()
const BEFORE_LONGEST = STREAM.indexOf(LONGEST)
const PEER_HANDSHAKE = btHandshake(INFO_HASH, Buffer.alloc(20, 0x22))

/** `bytes` cut into consecutive chunks of the sizes `size` returns. */
function split (bytes: Buffer, size: () => number): Buffer[] {
  const chunks: Buffer[] = []
  for (let at = 0; at < bytes.length;) {
    const n = Math.min(size(), bytes.length - at)
    chunks.push(bytes.subarray(at, at + n))
    at += n
  }
  return chunks
}

const digest = (bytes: Uint8Array): string => `${bytes.length}:${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`

interface Recorded { events: string[], violations: string[] }

/**
 * Records every message the parser hands to `_onMessage` (before the guard looks at it), and what the
 * Wire makes of them: keep-alives, haves, piece blocks.
 */
function record (wire: Wire, onViolation?: Recorded): Recorded {
  const recorded = onViolation ?? { events: [], violations: [] }
  const steps = wire as unknown as { _onMessage: (buffer: Uint8Array) => void }
  const onMessage = steps._onMessage
  steps._onMessage = function (this: Wire, buffer: Uint8Array) {
    recorded.events.push(`message ${digest(buffer)}`)
    onMessage.call(this, buffer)
  }
  wire.on('handshake', () => recorded.events.push('handshake'))
  wire.on('keep-alive', () => recorded.events.push('keep-alive'))
  wire.on('have', (index: number) => recorded.events.push(`have ${index}`))
  wire.on('piece', (index: number, offset: number, block: Uint8Array) => recorded.events.push(`piece ${index} ${offset} ${digest(block)}`))
  wire.on('data', () => {}) // what the wire answers is drained, as the socket it is piped into would
  return recorded
}

/**
 * Writes a copy of each chunk (the Wire keeps views of what it receives and writes into some: its
 * record of the peer's pieces is the bitfield message's bytes), then resolves once it has taken them all.
 */
async function feed (wire: Wire, chunks: Buffer[]): Promise<void> {
  for (const chunk of chunks) wire.write(Buffer.from(chunk))
  await new Promise<void>(resolve => { wire.once('finish', () => resolve()); wire.end() })
}

/** The library's own result: its Wire, the whole stream in one write. */
async function libraryResult (bytes: Buffer): Promise<string[]> {
  const wire = new Wire('tcpIncoming', NO_MSE)
  const { events } = record(wire)
  wire.handshake(INFO_HASH, Buffer.alloc(20, 0x33))
  await feed(wire, [PEER_HANDSHAKE, bytes])
  wire.destroy()
  return events
}

/** The guarded wire's result for the handshake and `bytes` cut into `chunks`. */
async function guardedResult (chunks: Buffer[]): Promise<Recorded> {
  const recorded: Recorded = { events: [], violations: [] }
  const wire = createGuardedWire('tcpIncoming', NO_MSE, err => recorded.violations.push(err.name))
  record(wire, recorded)
  wire.handshake(INFO_HASH, Buffer.alloc(20, 0x33))
  await feed(wire, [PEER_HANDSHAKE, ...chunks])
  wire.destroy()
  return recorded
}

const expected = await libraryResult(STREAM)

t.test('the reference stream is what the test thinks it is', async t => {
  t.equal(expected.filter(e => e.startsWith('message ')).length, 2 + 40 + 11 + 1 + 2, 'every message reached the parser')
  t.equal(expected.filter(e => e === 'keep-alive').length, 4)
  t.equal(expected.filter(e => e.startsWith('piece ')).length, 11)
  t.ok(expected.includes(`message ${digest(LONGEST.subarray(4))}`), 'the longest message allowed is in it')
})

const splits: Array<[string, () => Buffer[]]> = [
  ['all in one chunk', () => [STREAM]],
  ['TLS records of 16,384 bytes', () => split(STREAM, () => 16_384)],
  ['chunks of 1..64 bytes', () => { const rng = prng(64); return split(STREAM, () => 1 + Math.floor(rng() * 64)) }],
  ['chunks of 1..40,000 bytes', () => { const rng = prng(40); return split(STREAM, () => 1 + Math.floor(rng() * 40_000)) }],
  // Byte by byte over everything but the longest message (a million one-byte writes adds nothing but time).
  ['one byte at a time', () => split(STREAM.subarray(0, BEFORE_LONGEST), () => 1).concat(split(STREAM.subarray(BEFORE_LONGEST), () => 16_384))]
]

for (const [name, chunks] of splits) {
  t.test(`${name}: the parser gets the messages the library's buffering gives it`, async t => {
    const { events, violations } = await guardedResult(chunks())
    t.same(violations, [])
    t.equal(events.length, expected.length)
    t.same(events, expected)
  })
}

t.test('held behind our handshake, then released: the same messages, chunked byte by byte and in records', async t => {
  for (const chunks of [split(STREAM.subarray(0, 200_000), () => 1), split(STREAM, () => 16_384)]) {
    const recorded: Recorded = { events: [], violations: [] }
    const wire = createGuardedWire('tcpIncoming', NO_MSE, err => recorded.violations.push(err.name))
    record(wire, recorded)
    // The handshake and the first bytes after it in one chunk, as a pipelining peer's first record.
    for (const chunk of [Buffer.concat([PEER_HANDSHAKE, chunks[0]!]), ...chunks.slice(1)]) wire.write(chunk)
    await new Promise(resolve => setImmediate(resolve))
    t.same(recorded.events, ['handshake'], 'nothing after the peer\'s handshake is parsed before ours is sent')
    wire.handshake(INFO_HASH, Buffer.alloc(20, 0x33))
    await new Promise<void>(resolve => { wire.once('finish', () => resolve()); wire.end() })
    wire.destroy()
    const whole = chunks.reduce((n, c) => n + c.length, 0) === STREAM.length
    const reference = whole ? expected : await libraryResult(STREAM.subarray(0, 200_000))
    t.same(recorded.violations, [])
    t.same(recorded.events, reference)
  }
})

t.test('a message over the limit, its length split across chunks: the typed error, and parsing stops', async t => {
  const have = message(4, u32(5))
  const over = Buffer.concat([have, u32(MAX_MESSAGE_LENGTH + 1), Buffer.alloc(1000), have])
  for (const cut of [1, 3, 9 + 2, 16_384]) {
    const { events, violations } = await guardedResult(split(over, () => cut))
    t.same(violations, ['OversizedMessageError'], `chunks of ${cut}`)
    t.same(events.filter(e => e.startsWith('have')), ['have 5'], 'the have before it, nothing after it')
  }
  // A message whose body straddles chunks is checked whole: a have of 6 bytes.
  const malformed = Buffer.concat([have, u32(6), Buffer.from([4, 0, 0, 0, 9, 0]), message(4, u32(8))])
  for (const cut of [1, 2, 5, 7]) {
    const { events, violations } = await guardedResult(split(malformed, () => cut))
    t.same(violations, ['MalformedMessageError'], `chunks of ${cut}`)
    t.same(events.filter(e => e.startsWith('have')), ['have 5'])
  }
})

t.test('a parser step that asks for no bytes (MSE\'s empty padding) gets an empty array, then parsing goes on', async t => {
  for (const wire of [new Wire('tcpIncoming', NO_MSE), createGuardedWire('tcpIncoming', NO_MSE, err => { throw err })]) {
    const recorded = record(wire)
    wire.handshake(INFO_HASH, Buffer.alloc(20, 0x33))
    wire.write(PEER_HANDSHAKE)
    await new Promise(resolve => setImmediate(resolve))
    const steps = wire as unknown as { _parse: (size: number, step: (buffer: Uint8Array) => void) => void, _onMessageLength: (buffer: Uint8Array) => void }
    steps._parse(0, buffer => {
      recorded.events.push(`empty step ${buffer.length}`)
      steps._parse(4, steps._onMessageLength)
    })
    // Nothing buffered when the step runs (the empty chunk's write runs it).
    await feed(wire, [Buffer.alloc(0), message(4, u32(9))])
    t.same(recorded.events, ['handshake', 'empty step 0', `message ${digest(Buffer.from([4, 0, 0, 0, 9]))}`, 'have 9'], wire.constructor.name)
    wire.destroy()
  }
})

t.test('the wire-message fuzz corpus: the same outcome in every chunking, and the library\'s messages up to any violation', async t => {
  const dir = join(ROOT, 'test', 'fixtures', 'fuzz', 'wire-message')
  const names = (await readdir(dir)).filter(n => n.endsWith('.bin')).sort()
  t.ok(names.length >= 50, `${names.length} corpus files`)
  const bad: string[] = []
  for (const name of names) {
    const bytes = await readFile(join(dir, name))
    const reference = await libraryResult(bytes)
    const whole = await guardedResult([bytes])
    if (JSON.stringify(whole.events) !== JSON.stringify(reference.slice(0, whole.events.length))) bad.push(`${name}: not a prefix of the library's`)
    if (whole.violations.length === 0 && whole.events.length !== reference.length) bad.push(`${name}: messages lost with no violation`)
    const rng = prng(name.length)
    for (const cut of [() => 1, () => 1 + Math.floor(rng() * 64), () => 16_384]) {
      const chunked = await guardedResult(split(bytes, cut))
      if (JSON.stringify(chunked) !== JSON.stringify(whole)) bad.push(`${name}: differs when chunked`)
    }
  }
  t.same(bad, [])
})

/**
 * Two guarded wires joined without a socket, every byte re-cut into chunks of 1..`max` bytes: an MSE
 * handshake (resynchronisation included), then the BitTorrent handshake and messages, RC4 both ways.
 */
t.test('MSE: handshake, resynchronisation and RC4 payload through the chunked buffer', async t => {
  for (const [max, seed] of [[1, 1], [64, 2], [16_384, 3]] as const) {
    const rng = prng(seed)
    const violations: string[] = []
    const initiator = createGuardedWire('tcpOutgoing', MSE_RC4_ONLY, err => violations.push(err.name))
    const responder = createGuardedWire('tcpIncoming', MSE_RC4_ONLY, err => violations.push(err.name))
    const cross = (from: Wire, to: Wire): void => {
      from.on('data', (data: Buffer) => {
        to.write(Buffer.alloc(0)) // an empty chunk too, before the bytes (the library takes those in stride)
        for (const chunk of split(Buffer.from(data), () => 1 + Math.floor(rng() * max))) to.write(chunk)
      })
    }
    cross(initiator, responder)
    cross(responder, initiator)
    const pieces: string[] = []
    const blocks = [randomBytes(16_384), randomBytes(16_397), randomBytes(100)]
    const done = new Promise<void>(resolve => responder.on('piece', (index: number, offset: number, block: Uint8Array) => {
      pieces.push(`${index} ${offset} ${digest(block)}`)
      if (pieces.length === blocks.length) resolve()
    }))
    // As legacy-accept.ts does: the responder learns the swarm from the initiator's step 3, at once.
    responder.once('crypto-infohash', () => responder.setInfoHash(INFO_HASH.toString('hex')))
    responder.on('handshake', () => responder.handshake(INFO_HASH, Buffer.alloc(20, 0x44)))
    initiator.once('crypto-handshake', () => initiator.handshake(INFO_HASH, Buffer.alloc(20, 0x55)))
    initiator.once('handshake', () => { for (const [i, block] of blocks.entries()) initiator.piece(1, i * 16_384, block) })
    initiator.startEncryption(INFO_HASH.toString('hex'))
    await done
    t.same(pieces, blocks.map((b, i) => `1 ${i * 16_384} ${digest(b)}`), `chunks of 1..${max}: every block intact`)
    t.equal(responder._encryptionMethod, 2, 'RC4 was selected')
    t.same(violations, [])
    initiator.destroy()
    responder.destroy()
  }
})

t.test('MSE: while the responder searches for the initiator\'s step 3, an empty chunk is harmless, and garbage past the bound drops the link', async t => {
  const violations: string[] = []
  const responder = createGuardedWire('tcpIncoming', MSE_RC4_ONLY, err => violations.push(err.name))
  responder.on('data', () => {})
  let searching = false
  responder.once('close', () => { t.ok(searching, 'the link closed during the search') })
  const closed = new Promise(resolve => responder.once('close', resolve))
  // A public key Ya of exactly 96 bytes (below the MSE prime) and no padding: its answer sent, the
  // responder searches for HASH('req1', S) with nothing left buffered.
  responder.write(Buffer.concat([Buffer.from([2]), randomBytes(95)]))
  await new Promise(resolve => setImmediate(resolve))
  t.ok((responder as unknown as { _cryptoSyncPattern: unknown })._cryptoSyncPattern, 'searching for the sync pattern')
  searching = true
  responder.write(Buffer.alloc(0))
  await new Promise(resolve => setImmediate(resolve))
  t.notOk(responder.destroyed, 'an empty chunk did not break the search')
  // Never the pattern: the library gives up after 512 bytes of padding and the pattern's 20.
  for (let i = 0; i < 100; i++) responder.write(randomBytes(7))
  await closed
  t.same(violations, [], 'not a message violation: the library\'s own resynchronisation bound')
})


/** A guarded wire past the handshake, recording each piece block's bytes and the memory it arrived in. */
function pieceRecorder (violations: string[] = []): { wire: Wire, blocks: Array<{ digest: string, memory: ArrayBufferLike }> } {
  const wire = createGuardedWire('tcpIncoming', NO_MSE, err => violations.push(err.name))
  const blocks: Array<{ digest: string, memory: ArrayBufferLike }> = []
  wire.on('piece', (_index: number, _offset: number, block: Uint8Array) => blocks.push({ digest: digest(block), memory: block.buffer }))
  wire.on('data', () => {})
  wire.handshake(INFO_HASH, Buffer.alloc(20, 0x33))
  wire.write(Buffer.from(PEER_HANDSHAKE))
  return { wire, blocks }
}

t.test('piece messages that straddle records are joined in one buffer shared by every wire, each block read intact when it is dispatched', async t => {
  const data = [randomBytes(16_384), randomBytes(16_384), randomBytes(16_384)]
  const stream = Buffer.concat(data.map((block, i) => message(7, u32(0), u32(i * 16_384), block)))
  const a = pieceRecorder()
  const b = pieceRecorder()
  // TLS records: every 16,397-byte piece message straddles two 16,384-byte chunks; the wires take turns.
  const records = split(stream, () => 16_384)
  for (const record of records) { a.wire.write(Buffer.from(record)); b.wire.write(Buffer.from(record)) }
  await new Promise(resolve => setImmediate(resolve))
  for (const { blocks } of [a, b]) t.same(blocks.map(x => x.digest), data.map(digest), 'every block as sent, read during its dispatch')
  const memories = new Set([...a.blocks, ...b.blocks].map(x => x.memory))
  t.equal(memories.size, 1, 'six straddling blocks on two wires, one buffer: receiving allocated none')
  t.notOk([...memories].some(m => records.some(r => r.buffer === m)), 'and it is none of the chunks')
  a.wire.destroy(); b.wire.destroy()
})

t.test('a straddling piece message the guard rejects gives the shared buffer back', async t => {
  const shared = pieceRecorder()
  shared.wire.write(Buffer.from(message(7, u32(0), u32(0), randomBytes(16_384)).subarray(0, 100)))
  shared.wire.write(Buffer.from(message(7, u32(0), u32(0), randomBytes(16_384)).subarray(100)))
  await new Promise(resolve => setImmediate(resolve))
  const violations: string[] = []
  const bad = pieceRecorder(violations)
  // A piece message too short for its index and offset, delivered a byte at a time: joined, then refused.
  for (const byte of split(message(7, u32(0)), () => 1)) bad.wire.write(Buffer.from(byte))
  await new Promise(resolve => setImmediate(resolve))
  t.same(violations, ['MalformedMessageError'], 'the guard refused it')
  const after = pieceRecorder()
  const good = message(7, u32(0), u32(0), randomBytes(16_384))
  after.wire.write(Buffer.from(good.subarray(0, 100)))
  after.wire.write(Buffer.from(good.subarray(100)))
  await new Promise(resolve => setImmediate(resolve))
  t.equal(after.blocks.length, 1)
  t.equal(after.blocks[0]?.memory, shared.blocks[0]?.memory, 'the next straddling block still arrives in the shared buffer')
  for (const w of [shared, bad, after]) w.wire.destroy()
})

t.test('the bitfield and the extended handshake the Wire keeps are copied out of the chunk they came in; other messages stay views', async t => {
  const wire = createGuardedWire('tcpIncoming', NO_MSE, () => {})
  wire.on('data', () => {})
  wire.handshake(INFO_HASH, Buffer.alloc(20, 0x33))
  let have: Uint8Array | undefined
  const steps = wire as unknown as { _onMessage: (buffer: Uint8Array) => void }
  const onMessage = steps._onMessage
  steps._onMessage = function (this: Wire, buffer: Uint8Array) { if (buffer[0] === 4) have = buffer; onMessage.call(this, buffer) }
  const bitfield = Buffer.alloc(250, 0xff)
  const extended = encodeBencode({ m: { ut_pex: 1 }, v: 'a client name kept as a view' })
  // One 64 KiB read: the handshake, the two kept messages, a have, and the rest of the read.
  const read = Buffer.alloc(65_536)
  Buffer.concat([PEER_HANDSHAKE, message(20, Buffer.from([0]), extended), message(5, bitfield), message(4, u32(3))]).copy(read)
  wire.write(read.subarray(0, PEER_HANDSHAKE.length + 4 + 2 + extended.length + 4 + 1 + 250 + 9))
  await new Promise(resolve => setImmediate(resolve))
  const kept = (wire.peerPieces as unknown as { buffer: Uint8Array }).buffer
  t.equal(kept.buffer.byteLength, 251, 'the bitfield holds its own 251-byte message, not the 64 KiB read')
  t.ok(kept.every(b => b === 0xff), 'with its bits')
  const v = (wire.peerExtendedHandshake as { v?: Uint8Array }).v
  t.equal(Buffer.from(v!).toString(), 'a client name kept as a view')
  t.ok(v!.buffer.byteLength < 1024, 'the extended handshake\'s decoded strings view a copy, not the read')
  t.equal(have?.buffer.byteLength, 65_536, 'a have, read at once, stays a view of the read')
  wire.destroy()
})

/**
 * Borrowed reads (guarded-wire.ts `readBorrowed`, fed by handshake/borrowed-reads.ts): each chunk is
 * copied into one reused buffer, handed over, and the buffer scribbled over as soon as the call
 * returns, as node:tls does with the process's shared read buffer. The peer's handshake arrives first
 * (copied, the wire not yet past it), then everything else borrowed.
 */
async function borrowedResult (chunks: Buffer[], wire = createGuardedWire('tcpIncoming', NO_MSE, err => recorded.violations.push(err.name)), recorded: Recorded = { events: [], violations: [] }): Promise<Recorded & { wire: Wire, refused: number }> {
  record(wire, recorded)
  wire.handshake(INFO_HASH, Buffer.alloc(20, 0x33))
  const reader = wire as unknown as { readBorrowed: (bytes: Uint8Array) => boolean }
  const shared = Buffer.alloc(chunks.reduce((n, c) => Math.max(n, c.length), PEER_HANDSHAKE.length))
  let refused = 0
  for (const [i, chunk] of [PEER_HANDSHAKE, ...chunks].entries()) {
    chunk.copy(shared)
    if (!reader.readBorrowed(shared.subarray(0, chunk.length))) refused++
    shared.fill(0xee)
    // The copied handshake is parsed on the next tick (a socket's next read comes later still).
    if (i === 0) await new Promise(resolve => setImmediate(resolve))
  }
  await new Promise<void>(resolve => { wire.once('finish', () => resolve()); wire.end() })
  return { ...recorded, wire, refused }
}

for (const [name, chunks] of splits) {
  t.test(`borrowed reads, ${name}: the library's messages, and what the Wire keeps is intact after the buffer is reused`, async t => {
    const { events, violations, wire, refused } = await borrowedResult(chunks())
    t.same(violations, [])
    t.same(events, expected)
    t.equal(refused, 0, 'never asked to pause')
    t.equal(Buffer.from((wire.peerExtendedHandshake as { v: Uint8Array }).v).toString(), 'receive-buffer test', 'the extended handshake kept')
    const kept = (wire.peerPieces as unknown as { buffer: Uint8Array }).buffer
    t.same(Buffer.from(kept.subarray(0, 300)), keptBitfield(), 'the bitfield kept is the one sent, with the haves after it')
    wire.destroy()
  })
}

/** The bitfield STREAM sends, with the pieces of its haves (40 of i·7, then 1000) set, as the Wire records them. */
function keptBitfield (): Buffer {
  const bits = Buffer.from(messagePayload(STREAM, 5))
  for (const index of [...Array.from({ length: 40 }, (_, i) => i * 7), 1000]) bits[index >> 3]! |= 0x80 >> (index & 7)
  return bits
}

/** The payload of the first message with `id` in a stream of messages. */
function messagePayload (stream: Buffer, id: number): Buffer {
  for (let at = 0; at < stream.length;) {
    const length = stream.readUInt32BE(at)
    if (length > 0 && stream[at + 4] === id) return stream.subarray(at + 5, at + 4 + length)
    at += 4 + length
  }
  throw new Error(`no message ${id}`)
}

t.test('borrowed reads: an extended message other than the handshake is copied before the Wire sees it', async t => {
  const wire = createGuardedWire('tcpIncoming', NO_MSE, () => {})
  const seen: Uint8Array[] = []
  wire.on('extended', (_ext: string, buf: Uint8Array) => seen.push(buf))
  const ext = message(20, Buffer.from([0]), encodeBencode({ m: { ut_metadata: 3 } }))
  const metadata = message(20, Buffer.from([3]), encodeBencode({ msg_type: 1, piece: 0 }), Buffer.alloc(100, 0x42))
  await borrowedResult([Buffer.concat([ext, metadata])], wire)
  t.equal(seen.length, 2)
  t.ok(Buffer.from(seen[1]!).includes(Buffer.alloc(100, 0x42)), 'its bytes survive the buffer\'s reuse')
  wire.destroy()
})

t.test('borrowed reads: piece messages that straddle reads are gathered in place, in spare buffers given back after dispatch', async t => {
  const data = Array.from({ length: 8 }, () => randomBytes(16_384))
  const stream = Buffer.concat(data.map((block, i) => message(7, u32(0), u32(i * 16_384), block)))
  const violations: string[] = []
  const wire = createGuardedWire('tcpIncoming', NO_MSE, err => violations.push(err.name))
  const blocks: Array<{ digest: string, memory: ArrayBufferLike }> = []
  wire.on('piece', (_index: number, _offset: number, block: Uint8Array) => blocks.push({ digest: digest(block), memory: block.buffer }))
  const records = split(stream, () => 16_384)
  await borrowedResult(records, wire)
  t.same(violations, [])
  t.same(blocks.map(b => b.digest), data.map(digest), 'every block as sent, though the read buffer was scribbled after each record')
  const memories = new Set(blocks.map(b => b.memory))
  t.equal(memories.size, 1, 'eight straddling blocks, one spare buffer: gathering allocated one at most')
  t.ok(blocks.every(b => b.memory.byteLength === 9 + MAX_BLOCK_LENGTH), 'a piece-sized spare, not a join per message')
  // Written chunks join a straddling piece message in the buffer every wire shares; gathered, it is
  // completed where its first part was copied, not copied again.
  const written = pieceRecorder()
  for (const record of split(stream.subarray(0, 20_000), () => 16_384)) written.wire.write(Buffer.from(record))
  await new Promise(resolve => setImmediate(resolve))
  t.not(blocks[0]?.memory, written.blocks[0]?.memory, 'not the shared join buffer')
  written.wire.destroy()
  wire.destroy()
})

t.test('borrowed reads while the wire holds behind our handshake are copied and ask the reader to pause; released, the same messages', async t => {
  const recorded: Recorded = { events: [], violations: [] }
  const wire = createGuardedWire('tcpIncoming', NO_MSE, err => recorded.violations.push(err.name))
  record(wire, recorded)
  const reader = wire as unknown as { readBorrowed: (bytes: Uint8Array) => boolean }
  const shared = Buffer.alloc(16_384 + PEER_HANDSHAKE.length)
  const chunks = split(STREAM, () => 16_384)
  const answers: boolean[] = []
  for (const [i, chunk] of [Buffer.concat([PEER_HANDSHAKE, chunks[0]!]), ...chunks.slice(1, 6)].entries()) {
    chunk.copy(shared)
    answers.push(reader.readBorrowed(shared.subarray(0, chunk.length)))
    shared.fill(0xee)
    if (i === 0) await new Promise(resolve => setImmediate(resolve))
  }
  t.ok(answers.includes(false), `asked to pause (${answers.join(' ')})`)
  await new Promise(resolve => setImmediate(resolve))
  t.same(recorded.events, ['handshake'], 'nothing after the peer\'s handshake is parsed before ours is sent')
  wire.handshake(INFO_HASH, Buffer.alloc(20, 0x33))
  for (const chunk of chunks.slice(6)) {
    await new Promise(resolve => setImmediate(resolve))
    chunk.copy(shared)
    reader.readBorrowed(shared.subarray(0, chunk.length))
    shared.fill(0xee)
  }
  await new Promise<void>(resolve => { wire.once('finish', () => resolve()); wire.end() })
  t.same(recorded.violations, [])
  t.same(recorded.events, expected)
  wire.destroy()
})

t.test('borrowed reads: a message over the limit stops parsing with the typed error, and what follows is dropped', async t => {
  const have = message(4, u32(5))
  const over = Buffer.concat([have, u32(MAX_MESSAGE_LENGTH + 1), Buffer.alloc(1000), have])
  for (const cut of [1, 3, 11, 16_384]) {
    const { events, violations, wire } = await borrowedResult(split(over, () => cut))
    t.same(violations, ['OversizedMessageError'], `chunks of ${cut}`)
    t.same(events.filter(e => e.startsWith('have')), ['have 5'], 'the have before it, nothing after it')
    t.equal((wire as unknown as { _bufferSize: number })._bufferSize, 0, 'nothing kept buffered')
    wire.destroy()
  }
})

t.test('borrowed reads: the wire-message fuzz corpus gives what written chunks give', async t => {
  const dir = join(ROOT, 'test', 'fixtures', 'fuzz', 'wire-message')
  const names = (await readdir(dir)).filter(n => n.endsWith('.bin')).sort()
  const bad: string[] = []
  for (const name of names) {
    const bytes = await readFile(join(dir, name))
    const rng = prng(name.length + 1)
    for (const cut of [() => 1, () => 1 + Math.floor(rng() * 64), () => 16_384]) {
      const chunks = split(bytes, cut)
      const written = await guardedResult(chunks)
      const borrowed = await borrowedResult(chunks)
      borrowed.wire.destroy()
      if (JSON.stringify({ events: borrowed.events, violations: borrowed.violations }) !== JSON.stringify(written)) bad.push(`${name}: differs`)
    }
  }
  t.same(bad, [])
})
