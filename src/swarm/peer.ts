/**
 * The swarm's view of one connected peer. Wire-level state (choking, interest) stays on the Wire;
 * what the engine decides with lives here, in typed fields instead of flags spread over the wire.
 */
import type Wire from 'bittorrent-protocol'
import type { PeerLink, TransportKind } from '../wire/peer-link.js'
import type { UtMetadata } from '../wire/ut-metadata.js'
import { type Bitfield } from './bitfield.js'
import { BlockRequests } from './block-requests.js'
import { PeerPieces } from './peer-pieces.js'

/** What events and stats say about a peer. */
export interface PeerInfo {
  readonly transport: TransportKind
  readonly direction: 'inbound' | 'outbound'
  readonly address: string
  readonly port: number
  /** Hex peer id, once the peer's handshake arrived. */
  readonly peerId: string | undefined
}

export type PeerPhase =
  /** Waiting for the peer's BitTorrent handshake. */
  | 'handshaking'
  /** Handshake checked; the swarm has no metadata yet. */
  | 'ready'
  /** Exchanging pieces. */
  | 'active'
  | 'closed'

export class Peer {
  readonly wire: Wire
  phase: PeerPhase = 'handshaking'
  id = ''
  /** What it has, and how much of it we still need. */
  readonly pieces = new PeerPieces()
  readonly requests = new BlockRequests()
  /** Last time it delivered a block, or started owing us one; the stall clock. */
  lastProgress = 0
  /** Last time it delivered a block, or we became interested in it; the peer timeout clock. */
  lastBlockAt = 0
  /** Stalled once: allowed a single request until it delivers again. */
  snubbed = false
  /**
   * None of our requests go to it while set: the session is replacing this legacy link with a TLS one
   * (Swarm.holdRequests), so no payload crosses the weaker transport in the meantime.
   */
  requestsHeld = false
  /**
   * Pieces it rejected while unchoking us since its last block: not asked of it again until it sends a
   * block (an honest peer rejects at its request-queue limit, or for a piece it cannot read, and serves on).
   */
  readonly refused = new Set<number>()
  /** Requests it rejected while unchoking us since its last block (downloader.ts closes it past a bound). */
  rejectsSinceBlock = 0
  /** Requests for pieces we do not have; an honest peer only asks for what we announced. */
  unavailableRequests = 0
  downloaded = 0
  uploaded = 0
  /** Bytes in either direction since the last choke round (the choker's rate). */
  roundDownloaded = 0
  roundUploaded = 0
  sentInitialPieces = false
  /** Pieces announced before the peer's handshake (bttls responder), to top up with haves on activation. */
  announcedEarly: Bitfield | undefined
  metadataOffer: number | undefined
  ut: UtMetadata | undefined
  closeError: Error | undefined

  constructor (readonly link: PeerLink) {
    this.wire = link.wire
  }

  get info (): PeerInfo {
    return {
      transport: this.link.transport,
      direction: this.link.direction,
      address: this.link.remoteAddress,
      port: this.link.remotePort,
      peerId: this.id === '' ? undefined : this.id
    }
  }

  has (index: number): boolean {
    return this.pieces.has(index)
  }

  get isSeed (): boolean {
    return this.pieces.isSeed
  }

  get closed (): boolean {
    return this.phase === 'closed'
  }

  /**
   * The requests it queues from us, if its extended handshake says (BEP 10 `reqq`): more would only be
   * rejected at its queue limit, and rejects count towards closing a peer (downloader.ts).
   */
  get requestQueueLimit (): number {
    const reqq = this.extendedHandshakeInteger('reqq')
    return reqq !== undefined && reqq > 0 ? reqq : Infinity
  }

  /** Where the peer can be dialed: the port we dialed, or the one it announced (BEP 10 `p`). */
  listenPorts (): number[] {
    const ports: number[] = []
    if (this.link.direction === 'outbound') ports.push(this.link.remotePort)
    const p = this.extendedHandshakeInteger('p')
    if (p !== undefined) ports.push(p)
    return ports
  }

  /** An integer field of the peer's BEP 10 extended handshake; undefined before it, or if not an integer. */
  private extendedHandshakeInteger (key: string): number | undefined {
    const value: unknown = this.wire.peerExtendedHandshake[key]
    return typeof value === 'number' && Number.isInteger(value) ? value : undefined
  }

  close (err?: Error): void {
    if (this.closed) return
    this.closeError ??= err
    this.link.close(err)
  }
}
