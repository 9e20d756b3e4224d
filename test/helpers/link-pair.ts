/**
 * Two connected PeerLinks over a real loopback TCP connection, with bittorrent-protocol Wires
 * piped straight onto the sockets (transport 'plain'): lets the swarm engine be tested without
 * the TLS connection layer.
 */
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import Wire from 'bittorrent-protocol'
import type { PeerLink, RemoteHandshake } from '../../src/wire/peer-link.js'
import { batchWrites, queuedBytes } from '../../src/wire/write-batching.js'

export interface TestLink extends PeerLink {
  readonly socket: net.Socket
}

export function makeLink (socket: net.Socket, direction: 'inbound' | 'outbound', infoHash: Buffer): TestLink {
  const wire = new Wire(direction === 'outbound' ? 'tcpOutgoing' : 'tcpIncoming')
  let closeError: Error | undefined
  const closed = new Promise<Error | undefined>(resolve => socket.once('close', () => resolve(closeError)))
  // Subscribed at creation, as the contract requires: the peer's handshake may be the first bytes.
  const remoteHandshake = new Promise<RemoteHandshake>((resolve, reject) => {
    wire.once('handshake', (infoHashHex: string, peerIdHex: string, extensions: Record<string, boolean>) => {
      resolve({ infoHash: Buffer.from(infoHashHex, 'hex'), peerId: Buffer.from(peerIdHex, 'hex'), extensions })
    })
    void closed.then(() => reject(new Error('link closed before the handshake')))
  })
  remoteHandshake.catch(() => {})
  socket.on('error', err => { closeError ??= err })
  wire.on('error', (err: Error) => { closeError ??= err; socket.destroy() })
  wire.on('close', () => socket.destroy())
  socket.pipe(wire as unknown as NodeJS.WritableStream)
  batchWrites(wire, socket) // the write path of every real link
  wire.pipe(socket)
  return {
    wire,
    socket,
    transport: 'plain',
    direction,
    remoteAddress: socket.remoteAddress ?? '127.0.0.1',
    remotePort: socket.remotePort ?? 0,
    infoHash,
    remoteHandshake,
    closed,
    queuedBytes: () => queuedBytes(socket),
    close (err?: Error) {
      closeError ??= err
      socket.destroy()
      wire.destroy()
    }
  }
}

/** [outbound, inbound] links of one loopback TCP connection. */
export async function linkPair (infoHash: Buffer): Promise<[TestLink, TestLink]> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  const accepted = once(server, 'connection') as Promise<[net.Socket]>
  const client = net.connect(port, '127.0.0.1')
  await once(client, 'connect')
  const [inbound] = await accepted
  server.close()
  for (const s of [client, inbound]) s.setNoDelay(true)
  return [makeLink(client, 'outbound', infoHash), makeLink(inbound, 'inbound', infoHash)]
}

/** Connect two link consumers (swarms) over a fresh loopback connection; `a` dials. */
export async function connect (a: { addLink: (l: PeerLink) => void }, b: { addLink: (l: PeerLink) => void }, infoHash: Buffer): Promise<[TestLink, TestLink]> {
  const links = await linkPair(infoHash)
  a.addLink(links[0])
  b.addLink(links[1])
  return links
}

/** A peer that shakes hands with `swarm`, then stops reading: what it writes straight to `raw.socket` floods. */
export async function deafPeer (swarm: { addLink: (l: PeerLink) => void }, infoHash: Buffer): Promise<{ raw: TestLink, theirs: TestLink }> {
  const [raw, theirs] = await linkPair(infoHash)
  swarm.addLink(theirs)
  raw.wire.handshake(infoHash, randomBytes(20), { dht: false, fast: true, extended: true })
  await raw.remoteHandshake
  raw.socket.unpipe()
  raw.socket.pause()
  return { raw, theirs }
}

/** An interested and a not-interested message: cheap to send, and each earns a reply. */
export const INTERESTED_PAIR = Buffer.from([0, 0, 0, 1, 2, 0, 0, 0, 1, 3])

/**
 * What the swarm engine does with each accepted link, for tests that listen without one: it writes its
 * BitTorrent handshake at once. A bttls responder's AuthReply waits for it (the BEP puts both in one
 * record), so a listener whose links nobody answers would leave every initiator without an AuthReply.
 */
export function answerLinks (listener: { on: (event: 'link', f: (link: PeerLink) => void) => unknown }): void {
  listener.on('link', link => link.wire.handshake(link.infoHash, randomBytes(20), { dht: false }))
}
