/**
 * Requirement 4 of the Basic level: an active man in the middle who does not know the infohash is
 * detected before any BitTorrent message is accepted, on both sides. The proxy here terminates TLS
 * towards the initiator (with its own certificate) and opens its own TLS session to the responder,
 * which is all an attacker on the path can do without the infohash.
 */
import t, { type Test } from 'tap'
import net from 'node:net'
import tls from 'node:tls'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { basicLevel } from '../../src/levels/basic.js'
import { dial } from '../../src/wire/dialer.js'
import { PeerListener, type Refusal } from '../../src/wire/listener.js'
import { createResponderCertificate } from '../../src/pki/responder-certificate.js'
import { readFirstRecord } from '../../src/handshake/bounded-read.js'
import { Deadline } from '../../src/handshake/deadline.js'
import { answerLinks } from '../helpers/link-pair.js'
import type { PeerLink } from '../../src/wire/peer-link.js'

const ih = randomBytes(20)

type Behaviour = 'relay' | 'forge'

/**
 * A TLS-terminating proxy in front of `target`. 'relay' forwards the proofs; 'forge' answers with a
 * random AuthReply. `firstAnswer` is what the responder sent the proxy first (empty if nothing).
 */
async function mitm (target: number, behaviour: Behaviour): Promise<{ port: number, close: () => void, firstAnswer: Promise<Buffer> }> {
  const { cert, key } = await createResponderCertificate()
  let resolveReply!: (v: Buffer) => void
  const firstAnswer = new Promise<Buffer>(resolve => { resolveReply = resolve })
  const server = tls.createServer({ cert, key, minVersion: 'TLSv1.3' }, async victim => {
    victim.on('error', () => {})
    try {
      const hello = await readFirstRecord(victim, Deadline.after(5000))
      if (hello === undefined) throw new Error('no AuthHello')
      if (behaviour === 'forge') {
        victim.write(Buffer.concat([hello.subarray(0, 4), randomBytes(32), Buffer.alloc(2)]))
        resolveReply(Buffer.alloc(0))
        return
      }
      const upstream = tls.connect({ port: target, host: '127.0.0.1', rejectUnauthorized: false, minVersion: 'TLSv1.3' })
      upstream.on('error', () => victim.destroy())
      await once(upstream, 'secureConnect')
      upstream.write(hello)
      upstream.once('data', (d: Buffer) => resolveReply(d))
      upstream.once('close', () => { resolveReply(Buffer.alloc(0)); victim.destroy() })
      upstream.pipe(victim).pipe(upstream)
    } catch { victim.destroy() }
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close(), firstAnswer }
}

async function responder (t: Test): Promise<{ port: number, refusals: Refusal[], links: PeerLink[], nextRefusal: Promise<Refusal> }> {
  const l = await PeerListener.listen({ policy: 'prefer-tls', swarms: () => [{ wireInfoHashes: [ih], level: basicLevel([ih]) }] })
  t.teardown(() => l.close())
  const refusals: Refusal[] = []
  const links: PeerLink[] = []
  l.on('refused', r => refusals.push(r))
  answerLinks(l)
  l.on('link', link => links.push(link))
  return { port: l.port, refusals, links, nextRefusal: new Promise(resolve => l.once('refused', resolve)) }
}

t.test('relaying MITM: the responder finds no swarm and shows its web site, the initiator gets no AuthReply, no fallback to plaintext', async t => {
  const r = await responder(t)
  const proxy = await mitm(r.port, 'relay')
  t.teardown(proxy.close)
  const err = await dial({ host: '127.0.0.1', port: proxy.port, level: basicLevel([ih]), wireInfoHash: ih, policy: 'prefer-tls' }).then(() => null, (e: unknown) => e as Error & { attempts: Array<{ transport: string, error: Error }> })
  t.ok(err, 'the dial fails')
  t.equal(err!.name, 'DialError')
  t.same(err!.attempts.map(a => a.transport), ['tls'], 'detection is not mistaken for "peer lacks TLS": no MSE or plaintext retry')
  t.equal(err!.attempts[0]!.error.name, 'DecoyAnswerError', 'initiator: the responder answered as a web site, without an AuthReply')
  const refusal = await r.nextRefusal
  t.equal(refusal.error.name, 'UnknownSwarmError', 'responder: the relayed proof is bound to another TLS session')
  t.equal(refusal.decoy, true, 'responder: the MITM was handed to the decoy')
  t.match((await proxy.firstAnswer).toString('latin1'), /^HTTP\/1\.1 400 /, 'the MITM received a web server\'s 400, never a responder proof')
  t.equal(r.links.length, 0, 'no BitTorrent link was established on either side')
})

t.test('forging MITM: the initiator rejects the AuthReply with ProofMismatchError', async t => {
  const r = await responder(t)
  const proxy = await mitm(r.port, 'forge')
  t.teardown(proxy.close)
  const err = await dial({ host: '127.0.0.1', port: proxy.port, level: basicLevel([ih]), wireInfoHash: ih, policy: 'prefer-tls' }).then(() => null, (e: unknown) => e as Error & { attempts: Array<{ transport: string, error: Error }> })
  t.equal(err?.name, 'DialError')
  t.equal(err!.attempts[0]!.error.name, 'ProofMismatchError')
  t.same(err!.attempts.map(a => a.transport), ['tls'], 'no fallback after a failed proof')
})

t.test('a TCP relay that does not terminate TLS is transparent (control)', async t => {
  const r = await responder(t)
  const relay = net.createServer(c => { const u = net.connect(r.port, '127.0.0.1'); c.pipe(u).pipe(c); c.on('error', () => u.destroy()); u.on('error', () => c.destroy()) })
  await new Promise<void>(resolve => relay.listen(0, '127.0.0.1', resolve))
  t.teardown(() => relay.close())
  const link = await dial({ host: '127.0.0.1', port: (relay.address() as net.AddressInfo).port, level: basicLevel([ih]), wireInfoHash: ih, policy: 'require-tls' })
  t.equal(link.transport, 'tls')
  link.close()
})
