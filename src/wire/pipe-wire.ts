/**
 * A PeerLink over a connected socket: a guarded wire (guarded-wire.ts) fed by the socket, its writes
 * batched onto the socket (write-batching.ts). TLS links in both directions and the dialer's legacy
 * transports use it; the listener's legacy accepts build their wire first, since only the peer's
 * handshake names the swarm.
 */
import type net from 'node:net'
import type { Duplex } from 'node:stream'
import type Wire from 'bittorrent-protocol'
import type { Deadline } from '../handshake/deadline.js'
import { lendReads, type BorrowedReader } from '../handshake/borrowed-reads.js'
import { expectExtensionProtocol } from './capabilities.js'
import { createGuardedWire, MSE_RC4_ONLY, NO_MSE } from './guarded-wire.js'
import { createLink, type LinkControl } from './link.js'
import type { PeerLink, TransportKind } from './peer-link.js'
import { batchWrites, type BatchOptions } from './write-batching.js'

export interface WireOverSocket {
  /** What the wire reads and writes: the TLS socket, or the TCP socket itself for plain and MSE. */
  readonly socket: net.Socket
  /** The TCP connection under it, whose address names the peer. */
  readonly raw: net.Socket
  readonly direction: 'inbound' | 'outbound'
  readonly transport: TransportKind
  readonly infoHash: Buffer
  readonly tls?: PeerLink['tls']
  /** The connection's deadline, for the peer's BitTorrent handshake. */
  readonly deadline: Deadline
}

export function pipeWire ({ socket, raw, direction, transport, infoHash, tls, deadline }: WireOverSocket): LinkControl {
  let control: LinkControl | undefined
  const type = direction === 'inbound' ? 'tcpIncoming' : 'tcpOutgoing'
  const wire = createGuardedWire(type, transport === 'mse' ? MSE_RC4_ONLY : NO_MSE, err => control?.fail(err))
  control = createLink({
    socket, wire, transport, direction, infoHash, tls, deadline,
    remoteAddress: raw.remoteAddress ?? '', remotePort: raw.remotePort ?? 0
  })
  if (transport === 'tls' && direction === 'inbound' && tls?.profile === undefined) expectExtensionProtocol(wire)
  connectWire(socket, wire, { fullRecords: transport === 'tls' })
  return control
}

/** The wire each socket feeds, and the socket feeding each wire, for the shared listeners below. */
const wireFedBy = new WeakMap<Duplex, Wire>()
const socketFeeding = new WeakMap<Wire, Duplex>()

/**
 * Runs `wire` over `socket`: what the socket reads goes to the wire's parser, with back-pressure (the
 * socket pauses while the wire's write buffer is full, as under a pipe), and the end of the socket's
 * stream ends the wire's; what the wire sends leaves in batches (write-batching.ts), which also end
 * the socket after the wire's last message. Not a pipe each way: two pipes cost an idle link about
 * 1 KiB of closures and listener tables; these listeners are shared by every link.
 */
export function connectWire (socket: Duplex, wire: Wire, batch: BatchOptions = {}): void {
  wireFedBy.set(socket, wire)
  socketFeeding.set(wire, socket)
  // A TLS or plaintext socket hands its reads to the wire directly (borrowed-reads.ts); any other feeds it.
  if (!(isBorrowedReader(wire) && lendReads(socket as net.Socket, wire))) socket.on('data', feedWire)
  socket.on('end', endWire)
  wire.on('drain', resumeSocket)
  batchWrites(wire, socket, batch)
  // A socket read in paused mode before (the AuthHello, the first bytes) does not flow by itself.
  socket.resume()
}

function isBorrowedReader (wire: Wire): wire is Wire & BorrowedReader {
  return typeof (wire as Partial<BorrowedReader>).readBorrowed === 'function'
}

function feedWire (this: Duplex, chunk: Buffer): void {
  const wire = wireFedBy.get(this)
  // A closed link's socket may still be read to its end (close-notify.ts): what comes is dropped.
  if (wire === undefined || (wire as Partial<{ readsDropped: boolean }>).readsDropped === true) return
  if (!wire.write(chunk)) this.pause()
}

function resumeSocket (this: Wire): void {
  socketFeeding.get(this)?.resume()
}

function endWire (this: Duplex): void {
  wireFedBy.get(this)?.end()
}
