/**
 * A peer's request is answered by the GuardedWire only while that very request is queued
 * (guarded-wire.ts `_onRequest`). bittorrent-protocol's answer looked up the first queued request
 * with the same piece, offset and length, and removed it: after a request, its cancel and the same
 * request again, the first (cancelled) answer removed the second request and sent nothing, and the
 * block was never sent. The hostile bench's wrong-block case stalled on it, a block asked again once
 * its piece had failed verification. Over a real loopback TCP connection, the answers made late, as
 * a read from disk makes them.
 */
import t, { type Test } from 'tap'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type Wire from 'bittorrent-protocol'
import { createGuardedWire } from '../../src/wire/guarded-wire.js'
import { tcpPair } from '../helpers/tcp.js'

const ih = randomBytes(20)
const BLOCK = 16_384

/** A seeder's wire that answers every request after `delayMs`, and a leecher's, handshaken and unchoked. */
async function pair (t: Test, delayMs: number): Promise<{ seeder: Wire, leecher: Wire, served: number[] }> {
  const { client, server } = await tcpPair()
  const fail = (err: Error): void => { t.fail(`${err.name}: ${err.message}`) }
  const seeder = createGuardedWire('tcpIncoming', 0, fail)
  const leecher = createGuardedWire('tcpOutgoing', 0, fail)
  for (const [socket, wire] of [[server, seeder], [client, leecher]] as const) {
    socket.pipe(wire as unknown as NodeJS.WritableStream)
    ;(wire as unknown as NodeJS.ReadableStream).pipe(socket)
    socket.on('error', () => {})
  }
  t.teardown(() => { client.destroy(); server.destroy() })
  const served: number[] = []
  seeder.on('request', (index: number, offset: number, length: number, respond: (err: Error | null, block?: Uint8Array) => void) => {
    setTimeout(() => { served.push(offset); respond(null, Buffer.alloc(length, index)) }, delayMs)
  })
  seeder.once('handshake', () => seeder.handshake(ih, randomBytes(20)))
  leecher.handshake(ih, randomBytes(20))
  await once(leecher, 'handshake')
  seeder.unchoke()
  leecher.interested()
  await once(leecher, 'unchoke')
  return { seeder, leecher, served }
}

t.test('a request, its cancel and the same request again: the block is sent once', async t => {
  const { leecher, served } = await pair(t, 30)
  const pieces: number[] = []
  leecher.on('piece', (_index: number, offset: number) => pieces.push(offset))
  leecher.request(0, 0, BLOCK, () => {})
  leecher.cancel(0, 0, BLOCK)
  leecher.request(0, 0, BLOCK, () => {})
  await sleep(300)
  t.equal(served.length, 2, 'both requests reached the seeder, each answered late')
  t.same(pieces, [0], 'the block came once, for the request that was not cancelled')
})

t.test('a cancelled request is not answered; the others are', async t => {
  const { leecher } = await pair(t, 30)
  const pieces: number[] = []
  leecher.on('piece', (_index: number, offset: number) => pieces.push(offset))
  for (const offset of [0, BLOCK, 2 * BLOCK]) leecher.request(0, offset, BLOCK, () => {})
  leecher.cancel(0, BLOCK, BLOCK)
  await sleep(300)
  t.same(pieces, [0, 2 * BLOCK])
})

t.test('a request answered after the peer was choked is not sent', async t => {
  const { seeder, leecher } = await pair(t, 50)
  const pieces: number[] = []
  leecher.on('piece', (_index: number, offset: number) => pieces.push(offset))
  leecher.request(0, 0, BLOCK, () => {})
  await sleep(10)
  seeder.choke() // clears the queue of requests
  await sleep(300)
  t.same(pieces, [])
})
