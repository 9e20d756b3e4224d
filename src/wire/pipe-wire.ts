/**
 * A PeerLink over a connected socket: a guarded wire (guarded-wire.ts) piped both ways, our writes
 * batched (write-batching.ts). TLS links in both directions and the dialer's legacy transports use it;
 * the listener's legacy accepts build their wire first, since only the peer's handshake names the swarm.
 */
import type net from 'node:net'
import type { Deadline } from '../handshake/deadline.js'
import { expectExtensionProtocol } from './capabilities.js'
import { createGuardedWire, MSE_RC4_ONLY, NO_MSE } from './guarded-wire.js'
import { createLink, type LinkControl } from './link.js'
import type { PeerLink, TransportKind } from './peer-link.js'
import { batchWrites } from './write-batching.js'

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
  socket.pipe(wire as unknown as NodeJS.WritableStream)
  batchWrites(wire, socket, { fullRecords: transport === 'tls' })
  wire.pipe(socket)
  return control
}
