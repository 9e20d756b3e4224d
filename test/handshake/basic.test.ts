import tls, { type TLSSocket } from 'node:tls'
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { basicLevel } from '../../src/levels/basic.js'
import { secureOutbound } from '../../src/handshake/secure-outbound.js'
import { TlsResponder, type InboundChannel, type InboundOutcome } from '../../src/handshake/secure-inbound.js'
import { siteDecoy } from '../../src/wire/decoy-site.js'
import { closed, rejection, tcpPair } from '../helpers/tcp.js'
import { flushBatchedWrites } from '../../src/wire/write-batching.js'

const ihA = randomBytes(20)
const ihB = randomBytes(32)
const served = [{ level: basicLevel([ihA]), swarm: 'A' }, { level: basicLevel([ihB]), swarm: 'B' }]

function peerOf<T> (outcome: InboundOutcome<T>): InboundChannel<T> {
  if (outcome.kind !== 'peer') throw new Error(`expected a peer, got a decoy visit (${outcome.reason.name})`)
  return outcome.channel
}

/** The AuthReply waits for our first BitTorrent bytes (one record); with no wire here, release it as that write would. */
function releaseAuthReply<T> (outcome: InboundOutcome<T>): InboundOutcome<T> {
  if (outcome.kind === 'peer') flushBatchedWrites(outcome.channel.socket)
  return outcome
}

t.test('initiator and responder agree on swarm, TLS 1.3, and the wire flows after the proofs', async t => {
  const responder = await TlsResponder.create()
  t.teardown(() => responder.close())
  for (const [ih, name] of [[ihA, 'A'], [ihB, 'B']] as const) {
    const { client, server } = await tcpPair()
    const [out, outcome] = await Promise.all([secureOutbound(client, basicLevel([ih])), responder.accept(server, () => served).then(releaseAuthReply)])
    const inc = peerOf(outcome)
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

t.test('wrong infohash: the responder hands the connection to its decoy (UnknownSwarmError in its log), the initiator gets a web answer', async t => {
  const responder = await TlsResponder.create()
  const decoy = siteDecoy()
  t.teardown(async () => { responder.close(); await decoy.close() })
  const { client, server } = await tcpPair()
  const [outErr, outcome] = await Promise.all([
    rejection(secureOutbound(client, basicLevel([randomBytes(20)]))),
    responder.accept(server, () => served).then(o => { if (o.kind === 'decoy') decoy.take(o.socket, o.received); return o })
  ])
  t.equal(outcome.kind, 'decoy')
  if (outcome.kind === 'decoy') t.equal(outcome.reason.name, 'UnknownSwarmError')
  t.equal(outErr.name, 'DecoyAnswerError')
  t.match(outErr.message, /answered as a web server/)
  await Promise.all([closed(client), closed(server)])
})

t.test('a TLS 1.2 client completes the handshake as on any web server, and is a decoy visitor, never a peer', async t => {
  const responder = await TlsResponder.create()
  const decoy = siteDecoy()
  t.teardown(async () => { responder.close(); await decoy.close() })
  const { client, server } = await tcpPair()
  const legacy = tls.connect({ socket: client, maxVersion: 'TLSv1.2', rejectUnauthorized: false })
  legacy.on('error', () => {})
  const pending = responder.accept(server, () => served)
  await new Promise(resolve => legacy.once('secureConnect', resolve))
  t.equal(legacy.getProtocol(), 'TLSv1.2')
  legacy.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  const outcome = await pending
  t.equal(outcome.kind, 'decoy')
  if (outcome.kind === 'decoy') {
    t.equal(outcome.reason.name, 'TlsVersionError')
    decoy.take(outcome.socket, outcome.received)
  }
  const answer = await new Promise<string>(resolve => { let s = ''; legacy.on('data', d => { s += String(d) }); legacy.on('close', () => resolve(s)) })
  t.match(answer, /^HTTP\/1\.1 200 OK/)
})

t.test('the negotiated-version guard refuses anything but TLS 1.3', async t => {
  const { negotiatedDetails } = await import('../../src/handshake/secure-channel.js')
  const fake = { getProtocol: () => 'TLSv1.2', getCipher: () => ({ standardName: 'x' }) } as unknown as TLSSocket
  t.throws(() => negotiatedDetails(fake, basicLevel([ihA])), { name: 'TlsVersionError' })
})

t.test('a TLS 1.3 suite outside CIPHER_SUITES is refused: AES-128-CCM negotiated over real TLS', async t => {
  const { negotiatedDetails } = await import('../../src/handshake/secure-channel.js')
  const { createResponderCertificate } = await import('../../src/pki/responder-certificate.js')
  const { TlsCipherSuiteError } = await import('../../src/errors.js')
  const { key, cert } = await createResponderCertificate()
  // Both ends offer only an OpenSSL suite the BEP leaves out, so the stacks agree on it.
  const ccm = 'TLS_AES_128_CCM_SHA256'
  const { client, server } = await tcpPair()
  const tlsServer = new tls.TLSSocket(server, { isServer: true, secureContext: tls.createSecureContext({ key, cert, ciphers: ccm }) })
  tlsServer.on('error', () => {})
  const tlsClient = tls.connect({ socket: client, ciphers: ccm, rejectUnauthorized: false })
  t.teardown(() => { tlsClient.destroy(); tlsServer.destroy() })
  await new Promise(resolve => tlsClient.once('secureConnect', resolve))
  t.equal(tlsClient.getCipher().standardName, ccm)
  const err = (() => { try { negotiatedDetails(tlsClient, basicLevel([ihA])); return undefined } catch (e) { return e } })()
  t.ok(err instanceof TlsCipherSuiteError, 'a TlsCipherSuiteError')
  t.match(err, { name: 'TlsCipherSuiteError', code: 'ERR_TLS_CIPHER_SUITE', message: /TLS_AES_128_CCM_SHA256/ })
})

t.test('the AuthReply never leaves alone: nothing of ours to join it by the auth deadline, and the connection closes unanswered', async t => {
  const responder = await TlsResponder.create({ authTimeoutMs: 400 })
  t.teardown(() => responder.close())
  const { client, server } = await tcpPair()
  const outbound = secureOutbound(client, basicLevel([ihA]), { authTimeoutMs: 5000 })
  const outcome = await responder.accept(server, () => served)
  t.equal(outcome.kind, 'peer', 'the proof was right')
  const started = Date.now()
  const err = await rejection(outbound)
  t.equal(err.name, 'PeerClosedError', 'the initiator saw the connection close, with no AuthReply')
  t.match(err.message, /without an AuthReply/)
  t.ok(Date.now() - started < 3000, 'closed at the responder\'s auth deadline, not the initiator\'s')
})
