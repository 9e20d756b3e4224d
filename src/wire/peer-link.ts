/**
 * What the connection layer hands the swarm engine: a bittorrent-protocol Wire already running over a
 * secured (or, where policy allows, plain/MSE) channel whose swarm is known. The engine never learns
 * how the channel was secured beyond `transport` (for statistics and logs).
 *
 * Engine rules, whatever the transport:
 * - Send our BitTorrent handshake at once on receiving a link (bttls: the responder speaks first,
 *   which saves a round trip; plain/MSE inbound links arrive after the peer's handshake).
 * - Await `remoteHandshake` and drop the link with InfohashMismatchError if its infohash is not
 *   `infoHash`.
 */
import type Wire from 'bittorrent-protocol'
import type { TlsDetails } from '../handshake/secure-channel.js'

export type { TlsDetails }

export type TransportKind = 'tls' | 'plain' | 'mse'

export interface RemoteHandshake {
  readonly infoHash: Buffer
  readonly peerId: Buffer
  readonly extensions: Readonly<Record<string, boolean>>
}

export interface PeerLink {
  readonly wire: Wire
  readonly transport: TransportKind
  readonly direction: 'inbound' | 'outbound'
  readonly remoteAddress: string
  readonly remotePort: number
  /** 20-byte wire infohash of the swarm this link was established for. */
  readonly infoHash: Buffer
  readonly tls?: TlsDetails
  /** Outbound links: the transports tried before this one and why each failed (a fallback happened). */
  readonly fallbackFrom?: ReadonlyArray<{ readonly transport: string, readonly error: Error }>
  /** Resolves with the peer's BitTorrent handshake (already resolved for plain/MSE inbound links). */
  readonly remoteHandshake: Promise<RemoteHandshake>
  /** Resolves once when the link closes, with the error that closed it, if any. */
  readonly closed: Promise<Error | undefined>
  /** Close the underlying socket; `err` is reported through `closed`. */
  close (err?: Error): void
  /** Bytes sent to the peer that have not reached the kernel yet (see write-batching.ts). */
  queuedBytes (): number
}
