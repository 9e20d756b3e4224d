/**
 * The responder lets node:tls send the end of its handshake flight, the session tickets, before it acts
 * on the AuthHello, as a web server does (docs/design.md, "Session tickets before the AuthHello is
 * handled"). Seen in the kernel, so without any timing: when the responder asks for its swarms (which
 * it does only once it has read the AuthHello), the tickets already wait, unread, in the initiator's
 * receive queue. Both ends run in this process, so the initiator cannot have read them in between.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import { basicLevel } from '../../src/levels/basic.js'
import { secureOutbound } from '../../src/handshake/secure-outbound.js'
import { TlsResponder } from '../../src/handshake/secure-inbound.js'
import { flushBatchedWrites } from '../../src/wire/write-batching.js'
import { tcpPair } from '../helpers/tcp.js'

/** Bytes delivered to `socket` and not yet read by it: /proc/net/tcp's rx_queue (Linux, IPv4). */
function unreadBytes (socket: Socket): number {
  const port = (n: number | undefined): string => (n ?? -1).toString(16).toUpperCase().padStart(4, '0')
  const row = readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1).map(l => l.trim().split(/\s+/))
    .find(f => f[1]?.endsWith(`:${port(socket.localPort)}`) === true && f[2]?.endsWith(`:${port(socket.remotePort)}`) === true)
  if (row === undefined) throw new Error('the socket is not in /proc/net/tcp')
  return parseInt(row[4]!.split(':')[1]!, 16)
}

t.test('the session tickets reach the initiator before the responder handles its AuthHello', { skip: process.platform === 'linux' ? false : 'reads /proc/net/tcp (Linux)' }, async t => {
  const responder = await TlsResponder.create()
  t.teardown(() => responder.close())
  const infoHash = randomBytes(20)
  const { client, server } = await tcpPair()
  let unreadWhenHandled = -1
  const candidates = (): Array<{ level: ReturnType<typeof basicLevel>, swarm: string }> => {
    if (unreadWhenHandled < 0) unreadWhenHandled = unreadBytes(client)
    return [{ level: basicLevel([infoHash]), swarm: 'A' }]
  }
  const [out, outcome] = await Promise.all([
    secureOutbound(client, basicLevel([infoHash])),
    responder.accept(server, candidates).then(o => { if (o.kind === 'peer') flushBatchedWrites(o.channel.socket); return o })
  ])
  t.equal(outcome.kind, 'peer', 'the proofs still verify')
  // Two NewSessionTicket records of node:tls's defaults, each a 282-byte record body plus its 5-byte header.
  t.ok(unreadWhenHandled >= 2 * (5 + 282), `the tickets were in the initiator's receive queue (${unreadWhenHandled} bytes unread)`)
  out.socket.destroy()
  if (outcome.kind === 'peer') outcome.channel.socket.destroy()
})
