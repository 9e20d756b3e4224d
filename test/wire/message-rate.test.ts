/**
 * The per-link budget on control messages (issue 18: a flood of cheap messages slowed honest peers
 * tenfold and links closed only after ~35 MB). The bucket with an injected clock; the guarded Wire over
 * real loopback sockets (what is free, what is refunded, what closes); and a flooding insider over real
 * bttls TLS, closed well before 1 MB while an honest download from the same seeder completes.
 */
import t, { type Test } from 'tap'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import Wire from 'bittorrent-protocol'
import { MessageFloodError } from '../../src/errors.js'
import { createGuardedWire } from '../../src/wire/guarded-wire.js'
import { DEFAULT_MESSAGE_RATE, lateAnnouncementCost, LATE_ANNOUNCEMENT_BYTES_PER_TOKEN, MessageBudget, type MessageRateLimits } from '../../src/wire/message-rate.js'
import { secureOutbound } from '../../src/handshake/secure-outbound.js'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { completed, fileSha256, randomFile, session, tempDir } from '../helpers/session-pair.js'
import { tcpPair } from '../helpers/tcp.js'

const tick = (ms = 0): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

t.test('the bucket: a burst, then the refill rate; refunds capped at the burst', async t => {
  let now = 0
  const budget = new MessageBudget({ burst: 3, perSecond: 2 }, () => now)
  for (let i = 0; i < 3; i++) budget.spend('interested')
  const err = (() => { try { budget.spend('interested'); return undefined } catch (e) { return e as Error } })()
  t.ok(err instanceof MessageFloodError)
  t.equal(err?.name, 'MessageFloodError')
  t.equal((err as MessageFloodError).code, 'ERR_MESSAGE_FLOOD')
  t.match(err?.message, /last: interested/)
  now = 500 // one token back
  budget.spend('choke')
  t.throws(() => budget.spend('choke'), MessageFloodError)
  now = 60_000
  budget.refund()
  for (let i = 0; i < 3; i++) budget.spend('have')
  t.throws(() => budget.spend('have'), MessageFloodError, 'time and refunds never fill past the burst')
  t.throws(() => new MessageBudget({ burst: 0, perSecond: 1 }), RangeError)
})

/** A guarded Wire on a loopback socket (ours), and the peer's raw socket with its handshake done. */
async function guardedPair (t: Test, rate: MessageRateLimits): Promise<{ ours: Wire, peer: net.Socket, violation: Promise<Error> }> {
  const { client, server } = await tcpPair()
  t.teardown(() => { client.destroy(); server.destroy() })
  let report!: (err: Error) => void
  const violation = new Promise<Error>(resolve => { report = resolve })
  const ours = createGuardedWire('tcpIncoming', 0, err => { report(err); server.destroy() }, rate)
  server.pipe(ours as unknown as NodeJS.WritableStream)
  ours.pipe(server)
  const theirs = new Wire()
  client.pipe(theirs as unknown as NodeJS.WritableStream)
  theirs.pipe(client)
  const infoHash = randomBytes(20)
  const handshake = new Promise<void>(resolve => ours.once('handshake', () => resolve()))
  theirs.handshake(infoHash, randomBytes(20), { dht: false, fast: true, extended: true })
  await handshake
  ours.handshake(infoHash, randomBytes(20), { dht: false, fast: true, extended: true })
  client.unpipe() // their Wire sends nothing more: it hears nothing
  return { ours, peer: client, violation }
}

function message (id: number, ...fields: number[]): Buffer {
  const b = Buffer.alloc(5 + fields.length * 4)
  b.writeUInt32BE(1 + fields.length * 4, 0)
  b[4] = id
  fields.forEach((f, i) => b.writeUInt32BE(f, 5 + i * 4))
  return b
}

/** Writes `bytes` and waits until `ours` has parsed `count` more events named `event`, or it failed. */
async function deliver (ours: Wire, peer: net.Socket, bytes: Buffer, event: string, count: number, violation: Promise<Error>): Promise<Error | undefined> {
  let seen = 0
  const onEvent = (): void => { seen++ }
  ours.on(event, onEvent)
  peer.write(bytes)
  let failed: Error | undefined
  void violation.then(err => { failed = err })
  for (let i = 0; i < 2000 && seen < count && failed === undefined; i++) await tick(5)
  ours.off(event, onEvent)
  return failed
}

t.test('a have per piece is free however many come at once; repeated haves spend the budget', async t => {
  const { ours, peer, violation } = await guardedPair(t, { burst: 100, perSecond: 1 })
  // A lazy bitfield's worth of haves, far over the burst: each is a first announcement.
  const haves = Buffer.concat(Array.from({ length: 20_000 }, (_, i) => message(4, i)))
  t.equal(await deliver(ours, peer, haves, 'have', 20_000, violation), undefined, '20,000 distinct haves in one burst')
  const repeated = Buffer.concat(Array.from({ length: 200 }, () => message(4, 7)))
  const err = await deliver(ours, peer, repeated, 'never', 1, violation)
  t.ok(err instanceof MessageFloodError, 'the same have 200 times exhausts a burst of 100')
  t.match(err?.message, /last: have/)
})

t.test('requests answered with their block are refunded; unanswered ones and cancels spend', async t => {
  const { ours, peer, violation } = await guardedPair(t, { burst: 20, perSecond: 1 })
  const block = Buffer.alloc(16384)
  ours.on('request', (_i: number, _o: number, _l: number, respond: (err: Error | null, buf?: Uint8Array) => void) => respond(null, block))
  ours.unchoke()
  let failed: Error | undefined
  void violation.then(err => { failed = err })
  peer.resume() // we read the blocks (and throw them away)
  for (let round = 0; round < 10; round++) {
    // 15 requests a round, 150 in all: far over the burst, each answered before the next round.
    const requests = Buffer.concat(Array.from({ length: 15 }, (_, i) => message(6, round, i * 16384, 16384)))
    let uploads = 0
    const onUpload = (): void => { uploads++ }
    ours.on('upload', onUpload)
    peer.write(requests)
    for (let i = 0; i < 2000 && uploads < 15 && failed === undefined; i++) await tick(5)
    ours.off('upload', onUpload)
  }
  t.equal(failed, undefined, '150 requests, every one answered: nothing spent')
  ours.removeAllListeners('request')
  ours.on('request', () => {}) // from now on, requests go unanswered
  const pairs = Buffer.concat(Array.from({ length: 30 }, (_, i) => Buffer.concat([message(6, 99, i * 16384, 16384), message(8, 99, i * 16384, 16384)])))
  const err = await deliver(ours, peer, pairs, 'never', 1, violation)
  t.ok(err instanceof MessageFloodError, 'request/cancel pairs are a flood')
})

t.test('a first bitfield and extended handshake cost one token however large; repeats cost by size', async t => {
  t.equal(lateAnnouncementCost(1), 1)
  t.equal(lateAnnouncementCost(12_501), Math.ceil(12_501 / LATE_ANNOUNCEMENT_BYTES_PER_TOKEN))
  const bitfield = (bytes: number): Buffer => { const b = Buffer.alloc(5 + bytes); b.writeUInt32BE(1 + bytes, 0); b[4] = 5; return b }
  const extendedHandshake = (body: string): Buffer => {
    const b = Buffer.concat([Buffer.alloc(4), Buffer.from([20, 0]), Buffer.from(body)])
    b.writeUInt32BE(b.length - 4, 0)
    return b
  }
  const small = extendedHandshake('d1:md6:ut_pexi1ee1:v5:x 1.0e') // a state update: a few tokens
  const large = extendedHandshake(`d1:md6:ut_pexi1ee1:xl${'i1e'.repeat(20_000)}ee`)
  {
    const { ours, peer, violation } = await guardedPair(t, { burst: 100, perSecond: 1 })
    t.equal(await deliver(ours, peer, bitfield(12_500), 'bitfield', 1, violation), undefined, 'a 12.5 KB first bitfield: one token')
    t.equal(await deliver(ours, peer, large, 'extended', 1, violation), undefined, 'a 60 KB first extended handshake: one token')
    t.equal(await deliver(ours, peer, Buffer.concat([small, small, small]), 'extended', 3, violation), undefined, 'three small updates fit')
    const err = await deliver(ours, peer, bitfield(12_500), 'never', 1, violation)
    t.ok(err instanceof MessageFloodError, 'a repeated 12.5 KB bitfield is over a burst of 100')
    t.match(err?.message, /repeated bitfield of 12501 bytes/)
  }
  {
    const { ours, peer, violation } = await guardedPair(t, { burst: 100, perSecond: 1 })
    const err = await deliver(ours, peer, Buffer.concat([large, large]), 'never', 1, violation)
    t.ok(err instanceof MessageFloodError, 'a repeated 60 KB extended handshake is over a burst of 100')
    t.match(err?.message, /repeated extended handshake/)
  }
})

t.test('keep-alives count', async t => {
  const { ours, peer, violation } = await guardedPair(t, { burst: 10, perSecond: 1 })
  const err = await deliver(ours, peer, Buffer.alloc(4 * 50), 'never', 1, violation)
  t.ok(err instanceof MessageFloodError)
  t.match(err?.message, /last: keep-alive/)
})

const INTERESTED_PAIR = Buffer.from([0, 0, 0, 1, 2, 0, 0, 0, 1, 3])

t.test('a flooding insider over bttls TLS is closed well before 1 MB; an honest download alongside completes', async t => {
  const dir = await tempDir(t)
  const hash = await randomFile(join(dir, 'seed'), 'f.bin', 2 * 1024 * 1024)
  const torrentBytes = (await createTorrent(join(dir, 'seed', 'f.bin'), { version: 'v1', pieceLength: 64 * 1024 })).bytes
  const seeder = await session(t, { host: '127.0.0.1', policy: 'require-tls' })
  const seeded = await seeder.addTorrent(parseTorrent(torrentBytes), join(dir, 'seed'))
  const closes: Array<{ address: string, error: Error | undefined }> = []
  seeded.swarm.on('peer-closed', (peer, error) => closes.push({ address: peer.address, error }))

  // The insider: a member with the torrent's keys, over real TLS, that never reads and floods.
  const raw = net.connect({ host: '127.0.0.1', port: seeder.port, localAddress: '127.0.0.7' })
  await new Promise<void>((resolve, reject) => { raw.once('connect', resolve); raw.once('error', reject) })
  raw.on('error', () => {})
  const channel = await secureOutbound(raw, seeded.level)
  t.teardown(() => { channel.socket.destroy(); raw.destroy() })
  channel.socket.on('error', () => {})
  const wire = new Wire()
  channel.socket.pipe(wire as unknown as NodeJS.WritableStream)
  wire.pipe(channel.socket)
  const theirHandshake = new Promise<void>(resolve => wire.once('handshake', () => resolve()))
  wire.handshake(Buffer.from(seeded.wireInfoHash), randomBytes(20), { dht: false, fast: true, extended: true })
  await theirHandshake
  channel.socket.unpipe() // its Wire sends nothing more: it hears nothing
  channel.socket.pause()

  const leecher = await session(t, { host: '127.0.0.2', policy: 'require-tls' })
  const leeching = await leecher.addTorrent(parseTorrent(torrentBytes), join(dir, 'leech'))
  const download = completed(leeching.swarm, 60_000)

  const insiderClosed = (): boolean => closes.some(c => c.address === '127.0.0.7')
  const chunk = Buffer.concat(Array.from({ length: 500 }, () => INTERESTED_PAIR)) // 5 KB, 1,000 messages
  let sent = 0
  void leecher.connect(leeching, '127.0.0.1', seeder.port)
  // Paced (5 KB every 10 ms) so that what was sent when the seeder gave up measures what it read.
  while (sent < 1024 * 1024 && !insiderClosed() && !channel.socket.destroyed) {
    channel.socket.write(chunk)
    sent += chunk.length
    await tick(10)
  }
  for (let i = 0; i < 200 && !insiderClosed(); i++) await tick(10)
  const close = closes.find(c => c.address === '127.0.0.7')
  t.comment(`insider closed after ${sent} bytes sent (${sent / INTERESTED_PAIR.length * 2} messages)`)
  t.ok(close !== undefined, 'the seeder closed the insider')
  t.ok(close?.error instanceof MessageFloodError, `closed with MessageFloodError (${String(close?.error)})`)
  t.equal(close?.error?.name, 'MessageFloodError')
  t.equal((close?.error as MessageFloodError | undefined)?.code, 'ERR_MESSAGE_FLOOD')
  t.ok(sent < 256 * 1024, `closed well before 1 MB (${sent} bytes sent)`)
  await download
  t.equal(await fileSha256(join(dir, 'leech', 'f.bin')), hash, 'the honest download completes, byte-identical')
  t.ok(DEFAULT_MESSAGE_RATE.burst * 5 < 256 * 1024)
})
