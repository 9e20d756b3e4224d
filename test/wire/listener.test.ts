import t, { type Test } from 'tap'
import net from 'node:net'
import { createHash, randomBytes } from 'node:crypto'
import { basicLevel } from '../../src/levels/basic.js'
import { PeerListener, type Refusal, type ServedSwarm } from '../../src/wire/listener.js'
import { dial } from '../../src/wire/dialer.js'
import type { PeerLink } from '../../src/wire/peer-link.js'
import { answerLinks } from '../helpers/link-pair.js'
import type { Policy } from '../../src/wire/policy.js'
import { borrowedReadCount, type BorrowedReader } from '../../src/handshake/borrowed-reads.js'
import { btHandshake, message } from '../fixtures/fuzz/seeds.js'

const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b }
const digest = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex').slice(0, 16)
const ihA = randomBytes(20)
const ihB = randomBytes(20)
const swarms: ServedSwarm[] = [
  { wireInfoHashes: [ihA], level: basicLevel([ihA]) },
  { wireInfoHashes: [ihB], level: basicLevel([ihB]) }
]

async function listener (t: Test, policy: Policy = 'prefer-tls') {
  const l = await PeerListener.listen({ policy, swarms: () => swarms, sniffTimeoutMs: 1000, tlsTimeoutMs: 1000, authTimeoutMs: 1000 })
  t.teardown(() => l.close())
  const links: PeerLink[] = []
  const refusals: Refusal[] = []
  answerLinks(l)
  l.on('link', link => links.push(link))
  l.on('refused', r => refusals.push(r))
  const nextLink = () => new Promise<PeerLink>(resolve => l.once('link', resolve))
  const nextRefusal = () => new Promise<Refusal>(resolve => l.once('refused', resolve))
  return { l, links, refusals, nextLink, nextRefusal }
}

for (const transport of ['tls', 'mse'] as const) {
  t.test(`${transport} peer is accepted on the shared port and routed to its swarm`, async t => {
    const { l, nextLink } = await listener(t)
    // require-tls dials TLS only; allow-plain with a peer known to be legacy dials MSE first.
    const policy: Policy = transport === 'tls' ? 'require-tls' : 'allow-plain'
    const knownTls = transport === 'tls' ? undefined : false
    const ourId = randomBytes(20)
    // As the engine does: the initiator sends its BT handshake as soon as it has the link.
    const outbound = dial({ host: '127.0.0.1', port: l.port, level: basicLevel([ihB]), wireInfoHash: ihB, policy, knownTls })
      .then(link => { link.wire.handshake(ihB, ourId, { dht: false }); return link })
    const [out, inc] = await Promise.all([outbound, nextLink()])
    t.equal(inc.transport, transport)
    t.equal(out.transport, transport)
    t.same(inc.infoHash, ihB)
    inc.wire.handshake(ihB, randomBytes(20), { dht: false })
    t.same((await out.remoteHandshake).infoHash, ihB)
    t.same((await inc.remoteHandshake).peerId, ourId)
    if (transport === 'tls') t.equal(inc.tls?.protocol, 'TLSv1.3')
    out.close(); inc.close()
  })
}

t.test('plain BT handshake on the shared port', async t => {
  const { l, nextLink } = await listener(t)
  const sock = net.connect(l.port, '127.0.0.1')
  const handshake = Buffer.concat([Buffer.from('\x13BitTorrent protocol', 'latin1'), Buffer.alloc(8), ihA, randomBytes(20)])
  sock.write(handshake)
  const inc = await nextLink()
  t.equal(inc.transport, 'plain')
  t.same((await inc.remoteHandshake).infoHash, ihA)
  sock.destroy(); inc.close()
})

t.test('plain: messages pipelined behind the BT handshake in the sniffed first read reach the wire first, in order; later reads are lent', async t => {
  const l = await PeerListener.listen({ policy: 'prefer-tls', swarms: () => swarms, sniffTimeoutMs: 1000, tlsTimeoutMs: 1000, authTimeoutMs: 1000 })
  t.teardown(() => l.close())
  const blocks = Array.from({ length: 48 }, (_, i) => randomBytes(i < 8 ? 1000 : 16_384))
  const pieces = blocks.map((b, i) => message(7, u32(i), u32(0), b))
  const got: string[] = []
  let lentBytes = 0
  const linked = new Promise<PeerLink>(resolve => l.once('link', link => {
    link.wire.on('piece', (_i: number, _o: number, block: Uint8Array) => got.push(digest(block)))
    // What the listener lends this wire (borrowed-reads.ts), counted as it passes.
    const wire = link.wire as typeof link.wire & BorrowedReader
    const readBorrowed = wire.readBorrowed.bind(wire)
    wire.readBorrowed = bytes => { lentBytes += bytes.length; return readBorrowed(bytes) }
    link.wire.handshake(ihA, randomBytes(20), { dht: false })
    resolve(link)
  }))
  const sock = net.connect(l.port, '127.0.0.1')
  t.teardown(() => sock.destroy())
  // One write, in the listener's first read: the sniff reads it all and puts it back in the stream.
  sock.write(Buffer.concat([btHandshake(ihA, randomBytes(20)), ...pieces.slice(0, 8)]))
  const inc = await linked
  t.equal(inc.transport, 'plain')
  const lentBefore = borrowedReadCount()
  const late = Buffer.concat(pieces.slice(8))
  sock.write(late)
  while (got.length < blocks.length && !inc.wire.destroyed) await new Promise(resolve => setTimeout(resolve, 20))
  t.same(got, blocks.map(digest), 'the pipelined blocks first, then the later ones, every one intact')
  t.ok(lentBytes >= late.length, `${lentBytes} bytes lent to the wire, ${late.length} written after the handshake`)
  t.ok(borrowedReadCount() - lentBefore >= late.length / 65_536, `${borrowedReadCount() - lentBefore} reads lent`)
  inc.close()
})

t.test('require-tls, the probe-resistant posture: plain and MSE meet the TLS stack, which refuses them as any HTTPS server would', async t => {
  const { l, nextRefusal } = await listener(t, 'require-tls')
  const sock = net.connect(l.port, '127.0.0.1')
  sock.on('error', () => {})
  sock.write(Buffer.concat([Buffer.from('\x13BitTorrent protocol', 'latin1'), Buffer.alloc(8), ihA, randomBytes(20)]))
  const r = await nextRefusal()
  t.equal(r.error.name, 'TlsHandshakeError', 'no protocol is sniffed: the bytes went to TLS')
  t.equal(r.transport, 'tls')
  await new Promise(resolve => sock.once('close', resolve))
  // A legacy dial: MSE fails in TLS at once, so the dialer falls back to plain, which fails the same way.
  const refused = nextRefusal()
  const link = await dial({ host: '127.0.0.1', port: l.port, level: basicLevel([ihA]), wireInfoHash: ihA, policy: 'allow-plain', knownTls: false })
  t.equal(link.transport, 'plain')
  link.wire.handshake(ihA, randomBytes(20), {})
  t.equal((await refused).error.name, 'TlsHandshakeError')
  const err = await link.remoteHandshake.then(() => new Error('resolved'), (e: Error) => e)
  t.equal(err.name, 'PeerClosedError', 'the plain peer sees the connection closed before any handshake')
})

t.test('TLS first, falls back to MSE against a peer that does not speak TLS', async t => {
  // A legacy peer: our listener under allow-plain accepts MSE; emulate "does not speak TLS" with a
  // raw server that answers a ClientHello with random bytes (like an MSE responder's Yb).
  const legacy = net.createServer(s => { s.once('data', () => { s.write(randomBytes(200)); s.end() }); s.on('error', () => {}) })
  await new Promise<void>(r => legacy.listen(0, '127.0.0.1', r))
  t.teardown(() => legacy.close())
  const port = (legacy.address() as net.AddressInfo).port
  const link = await dial({ host: '127.0.0.1', port, level: basicLevel([ihA]), wireInfoHash: ihA, policy: 'prefer-tls' })
  t.equal(link.transport, 'plain', 'TLS failed, MSE failed, plain is what is left')
  link.close()
  const err = await dial({ host: '127.0.0.1', port, level: basicLevel([ihA]), wireInfoHash: ihA, policy: 'require-tls' }).catch(e => e)
  t.equal(err.name, 'DialError', 'require-tls never falls back')
  t.same(err.attempts.map((a: { transport: string }) => a.transport), ['tls'])
  t.equal(err.attempts[0].error.name, 'TlsHandshakeError')
})
