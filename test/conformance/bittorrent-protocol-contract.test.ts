/**
 * What our wire code assumes of bittorrent-protocol beyond its public API (docs/design.md, "The peer
 * wire library"): the message bounds wrap two parser steps on the instance (guarded-wire.ts), the write
 * batching and the send-queue bound wrap the instance's `push` (write-batching.ts, send-queue.ts), and
 * the send-queue bound reads streamx's readable state, and a bttls responder presets `peerExtensions` so
 * that handshake() sends the extension handshake with it (capabilities.ts). The dependency is pinned exactly; these tests
 * say what to re-check when the pin moves.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import Wire from 'bittorrent-protocol'
import { expectExtensionProtocol } from '../../src/wire/capabilities.js'
import { createGuardedWire } from '../../src/wire/guarded-wire.js'

const UPGRADE = 'bittorrent-protocol changed under src/wire/guarded-wire.ts, write-batching.ts and swarm/send-queue.ts: ' +
  're-read its Wire (parser steps, _push/push, streamx readable state) before moving the pin in package.json'

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> }
// Its package.json is not in its exports: read it where Node resolves the package from.
const installed = (JSON.parse(readFileSync('node_modules/bittorrent-protocol/package.json', 'utf8')) as { version: string }).version

t.test('the dependency is pinned exactly, and the installed version is the pinned one', async t => {
  const pinned = pkg.dependencies['bittorrent-protocol']
  t.match(pinned, /^\d+\.\d+\.\d+$/, 'package.json names one exact version (no ^ or ~): we patch private methods')
  t.equal(installed, pinned, `installed ${installed}, pinned ${String(pinned)}: ${UPGRADE}`)
})

t.test('the parser steps the guard wraps exist and are re-armed through the instance', async t => {
  const proto = Wire.prototype as unknown as Record<string, unknown>
  for (const name of ['_onMessageLength', '_onMessage', '_parse']) t.type(proto[name], 'function', `Wire.prototype.${name}: ${UPGRADE}`)
  // guarded-wire.ts holds the peer's messages until our handshake is sent through these.
  for (const name of ['_onHandshakeBuffer', '_processBuffer', '_write']) t.type(proto[name], 'function', `Wire.prototype.${name}: ${UPGRADE}`)
  const fresh = createGuardedWire('tcpIncoming', 0, () => {}) as unknown as Record<string, unknown>
  t.notOk(fresh._handshakeSent, `a new Wire has not sent its handshake (_handshakeSent): ${UPGRADE}`)
  t.type(fresh._parser, 'function', `a new Wire's _parser is armed: ${UPGRADE}`)

  const seen: string[] = []
  const wire = createGuardedWire('tcpIncoming', 0, err => seen.push(`violation ${err.name}`))
  wire.on('have', (index: number) => seen.push(`have ${index}`))
  wire.on('handshake', () => seen.push('handshake'))
  const handshake = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(8), Buffer.alloc(20, 1), Buffer.alloc(20, 2)])
  wire.write(Buffer.concat([handshake, Buffer.from([0, 0, 0, 5, 4, 0, 0, 0, 3])])) // the handshake and a pipelined have 3
  await new Promise(resolve => setImmediate(resolve))
  t.same(seen, ['handshake'], `what follows the peer's handshake waits for ours: ${UPGRADE}`)
  seen.push('ours sent')
  wire.handshake(Buffer.alloc(20, 1), Buffer.alloc(20, 3)) // the peer's messages are parsed once ours is sent
  t.equal((wire as unknown as Record<string, unknown>)._handshakeSent, true, `handshake() sets _handshakeSent: ${UPGRADE}`)
  wire.write(Buffer.from([0, 0, 0, 5, 4, 0, 0, 0, 7])) // have 7
  wire.write(Buffer.from([0, 0, 0, 3, 4, 0, 0])) // a have of 2 bytes: malformed
  await new Promise(resolve => setImmediate(resolve))
  t.same(seen, ['handshake', 'ours sent', 'have 3', 'have 7', 'violation MalformedMessageError'], `every message passes the guard, the held one first: ${UPGRADE}`)

  const oversized: string[] = []
  const big = createGuardedWire('tcpIncoming', 0, err => oversized.push(err.name))
  big.write(handshake)
  big.handshake(Buffer.alloc(20, 1), Buffer.alloc(20, 3))
  big.write(Buffer.from([0xff, 0xff, 0xff, 0xff]))
  await new Promise(resolve => setImmediate(resolve))
  t.same(oversized, ['OversizedMessageError'], `the length prefix is checked before the body is buffered: ${UPGRADE}`)
  wire.destroy()
  big.destroy()
})

t.test('the receive state guarded-wire.ts keeps for the library is the one it reads', async t => {
  // guarded-wire.ts replaces _write and _processBuffer; the library's MSE steps read and rewrite the
  // same fields from inside the parser (mse.js _finalizeCryptoHandshake joins _buffer as a list).
  const plain = new Wire('tcpIncoming', 0) as unknown as Record<string, unknown>
  t.ok(Array.isArray(plain._buffer), `_buffer is a list of chunks: ${UPGRADE}`)
  t.equal(plain._bufferSize, 0, `_bufferSize: ${UPGRADE}`)
  t.equal(plain._parserSize, 1, `_parserSize: the first byte of the peer's handshake: ${UPGRADE}`)
  t.equal(plain._cryptoSyncPattern, null, `_cryptoSyncPattern: ${UPGRADE}`)
  t.equal(plain._pePending, false, `_pePending: ${UPGRADE}`)
  t.equal(plain._encryptor, null, `no _encryptor without MSE: ${UPGRADE}`)
  const mse = new Wire('tcpIncoming', 2) as unknown as { _encryptor: { decrypt?: unknown } | null, destroy: () => void }
  t.type(mse._encryptor?.decrypt, 'function', `an MSE Wire's _encryptor decrypts each received chunk: ${UPGRADE}`)
  ;(plain as unknown as Wire).destroy()
  mse.destroy()
})

t.test('every outgoing message goes through the instance\'s push, one chunk per message part', async t => {
  const wire = new Wire('tcpOutgoing', 0)
  const chunks: Buffer[] = []
  const target = wire as unknown as { push: (data: unknown) => boolean }
  const push = target.push
  target.push = function (data) { if (data !== null) chunks.push(Buffer.from(data as Uint8Array)); return push.call(this, data) }
  wire.handshake(Buffer.alloc(20, 1), Buffer.alloc(20, 2))
  wire.have(7)
  t.equal(chunks.length, 2, `handshake and have, each pushed: ${UPGRADE}`)
  t.same(chunks[1], Buffer.from([0, 0, 0, 5, 4, 0, 0, 0, 7]))
  wire.destroy()
})

t.test('the readable state the send-queue bound reads is streamx\'s', async t => {
  const wire = new Wire('tcpOutgoing', 0)
  const state = (wire as unknown as { _readableState?: { buffered?: unknown, queue?: { length?: unknown } } })._readableState
  t.type(state?.buffered, 'number', `_readableState.buffered: ${UPGRADE}`)
  t.type(state?.queue?.length, 'number', `_readableState.queue.length: ${UPGRADE}`)
  const before = state!.buffered as number
  wire.have(1)
  t.ok((state!.buffered as number) > before, 'what is pushed and not read counts in buffered')
  wire.destroy()
})

t.test('handshake() sends the extension handshake at once when the peer is already known to speak BEP 10 (capabilities.ts)', async t => {
  const wire = new Wire()
  const sent: Buffer[] = []
  wire.on('data', (d: Buffer) => sent.push(Buffer.from(d)))
  expectExtensionProtocol(wire)
  wire.handshake(Buffer.alloc(20, 1), Buffer.alloc(20, 2), { extended: true })
  await new Promise(resolve => setImmediate(resolve))
  const bytes = Buffer.concat(sent)
  t.equal(bytes.length > 68 ? bytes[68 + 4] : undefined, 20, `an extended message follows the 68-byte handshake: ${UPGRADE}`)
  t.equal(bytes[68 + 5], 0, 'the extension handshake (extended id 0)')
  // The peer's real handshake then replaces the belief, and the extension handshake is not sent twice.
  wire.write(Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.from([0, 0, 0, 0, 0, 0x10, 0, 0]), Buffer.alloc(20, 1), Buffer.alloc(20, 3)]))
  await new Promise(resolve => setImmediate(resolve))
  t.equal(Buffer.concat(sent).length, bytes.length, 'nothing more was sent')
  t.equal(wire.peerExtensions.extended, true)
  wire.destroy()
})

t.test('messages it does not know (BEP 52 hash messages) come out as unknownmessage; _push writes raw bytes', async t => {
  const seen: string[] = []
  const wire = createGuardedWire('tcpIncoming', 0, err => seen.push(`violation ${err.name}`))
  wire.on('unknownmessage', (m: Uint8Array) => seen.push(`message ${m[0]!}`))
  wire.write(Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(8), Buffer.alloc(20, 1), Buffer.alloc(20, 2)]))
  wire.handshake(Buffer.alloc(20, 1), Buffer.alloc(20, 3))
  for (const id of [21, 23]) wire.write(Buffer.concat([Buffer.from([0, 0, 0, 49, id]), Buffer.alloc(48)]))
  wire.write(Buffer.concat([Buffer.from([0, 0, 0, 81, 22]), Buffer.alloc(80)]))
  await new Promise(resolve => setImmediate(resolve))
  t.same(seen, ['message 21', 'message 23', 'message 22'], `src/wire/hash-messages.ts relies on it: ${UPGRADE}`)
  t.type((wire as unknown as Record<string, unknown>)._push, 'function', `Wire._push: ${UPGRADE}`)
  wire.destroy()
})
