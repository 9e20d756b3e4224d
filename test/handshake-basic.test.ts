import t from 'tap'
import { randomBytes } from 'node:crypto'
import { basicLevel } from '../src/levels/basic.js'
import { secureOutbound } from '../src/handshake/secure-outbound.js'
import { TlsResponder } from '../src/handshake/secure-inbound.js'
import { closed, rejection, tcpPair } from './helpers/tcp.js'

const ihA = randomBytes(20)
const ihB = randomBytes(32)
const served = [{ level: basicLevel([ihA]), swarm: 'A' }, { level: basicLevel([ihB]), swarm: 'B' }]

t.test('initiator and responder agree on swarm, TLS 1.3, and the wire flows after the proofs', async t => {
  const responder = await TlsResponder.create()
  for (const [ih, name] of [[ihA, 'A'], [ihB, 'B']] as const) {
    const { client, server } = await tcpPair()
    const [out, inc] = await Promise.all([secureOutbound(client, basicLevel([ih])), responder.accept(server, () => served)])
    t.equal(inc.swarm, name, 'responder found the swarm from the proof alone')
    t.equal(out.details.protocol, 'TLSv1.3')
    t.equal(inc.details.cipher, out.details.cipher)
    t.same(Buffer.from(inc.swarmKey.infoHash), ih)
    inc.socket.write('hello')
    const got = await new Promise<Buffer>(resolve => out.socket.once('data', resolve))
    t.equal(got.toString(), 'hello')
    out.socket.destroy(); inc.socket.destroy()
  }
})

t.test('wrong infohash: responder refuses with UnknownSwarmError, initiator sees the close', async t => {
  const responder = await TlsResponder.create()
  const { client, server } = await tcpPair()
  const [outErr, inErr] = await Promise.all([
    rejection(secureOutbound(client, basicLevel([randomBytes(20)]))),
    rejection(responder.accept(server, () => served))
  ])
  t.equal(inErr.name, 'UnknownSwarmError')
  t.equal(outErr.name, 'PeerClosedError')
  await Promise.all([closed(client), closed(server)])
})

t.test('TLS 1.3 only: a TLS 1.2 client is refused during the handshake', async t => {
  const tls = await import('node:tls')
  const responder = await TlsResponder.create()
  const { client, server } = await tcpPair()
  const legacy = tls.connect({ socket: client, maxVersion: 'TLSv1.2', rejectUnauthorized: false })
  legacy.on('error', () => {})
  const inErr = await rejection(responder.accept(server, () => served))
  t.equal(inErr.name, 'TlsHandshakeError')
  t.match(inErr.message, /protocol|version/i)
  legacy.destroy()
})

t.test('the negotiated-version guard refuses anything but TLS 1.3 (defence in depth behind minVersion)', async t => {
  const { negotiatedDetails } = await import('../src/handshake/secure-channel.js')
  const fake = { getProtocol: () => 'TLSv1.2', getCipher: () => ({ standardName: 'x' }) } as unknown as import('node:tls').TLSSocket
  t.throws(() => negotiatedDetails(fake, basicLevel([ihA])), { name: 'TlsVersionError' })
})
