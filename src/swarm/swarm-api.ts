/**
 * The swarm's public types: its options, the two ways to start it (a torrent, a magnet link), its
 * statistics and its events. swarm.ts re-exports them with the Swarm.
 */
import type { PieceStore } from '../storage/piece-store.js'
import type { MagnetLink, Metainfo } from '../torrent/metainfo.js'
import type { TransportKind } from '../wire/peer-link.js'
import type { PeerInfo } from './peer.js'
import type { HashServerStats } from './hash-server.js'
import type { SendQueueLimits } from './send-queue.js'
import type { RateLimits } from './rate-limiter.js'
import type { SendBudget } from './send-budget.js'

export interface SwarmOptions {
  /** 20 bytes; default PEER_ID_PREFIX and 12 random bytes. */
  peerId?: Uint8Array
  /** Requests kept outstanding per peer. Loopback/LAN rates need a deep pipeline. Default 128. */
  pipelineDepth?: number
  /**
   * A peer that delivers nothing for this long has its requests reassigned to others and is snubbed
   * (one request at a time until it delivers again). Default 20 s.
   */
  requestTimeoutMs?: number
  /**
   * A peer we are interested in that sends no block for this long is closed (PeerTimeoutError): it
   * chokes us, claims pieces it never sends, or is frozen. Default 60 s.
   */
  peerTimeoutMs?: number
  /** No block from anyone for this long while incomplete: the swarm is 'stalled'. Default 20 s. */
  stallTimeoutMs?: number
  /** Peers we upload to at once (one of them optimistic). Default 8. */
  uploadSlots?: number
  /** Default 10 s. */
  chokeIntervalMs?: number
  /** Requests a peer may have queued at us; more are rejected. Default 512. */
  maxQueuedRequests?: number
  /** Largest info dict we fetch over BEP 9. Default 16 MiB. */
  maxMetadataSize?: number
  /** Close links to peers that are seeds once we are one too (neither needs the other). Default true. */
  closeSeedLinks?: boolean
  /** What may be queued for a peer that does not read before its link is closed (send-queue.ts). */
  sendQueue?: SendQueueLimits
  /** Piece data limits, shared by every swarm of a session (rate-limiter.ts). Default none. */
  rateLimits?: RateLimits
  /** What may be queued for all peers together, shared with other swarms (send-budget.ts). */
  sendBudget?: SendBudget
}

/** A torrent whose metainfo we have: seed it, or download into `store`. */
export interface SwarmTorrentSource {
  metainfo: Metainfo
  /** `have` must already reflect what is on disk (call verifyExisting first when resuming). */
  store: PieceStore
}

/** A magnet link: fetch the info dict over BEP 9, then download. */
export interface SwarmMagnetSource {
  magnet: MagnetLink
  /** Parse a verified info dict (the torrent module's parser). Throwing rejects the peer's copy. */
  parseInfo: (infoBytes: Buffer) => Metainfo
  /** Open storage for the torrent once its metainfo is known; `have` filled. The swarm closes it on destroy. */
  openStore: (metainfo: Metainfo) => Promise<PieceStore>
}

export type SwarmSource = SwarmTorrentSource | SwarmMagnetSource

export interface TransportStats {
  peers: number
  downloaded: number
  uploaded: number
}

export interface SwarmStats {
  /** Payload bytes of blocks we used (duplicates and unusable blocks are `wasted`). */
  downloaded: number
  uploaded: number
  wasted: number
  piecesDone: number
  /** 0 until the metadata is known. */
  piecesTotal: number
  peers: number
  hashFailures: number
  /** Requests outstanding at peers, and the same count as seen from the pieces' side (equal unless a bug leaks blocks). */
  outstandingRequests: number
  blocksInFlight: number
  transports: Record<TransportKind, TransportStats>
  /** No block for the stall timeout while incomplete (see the 'stalled' event). */
  stalled: boolean
  /** BEP 52 hash requests we answered with hashes, and with a hash reject. */
  hashRequests: HashServerStats
  /**
   * Passes of the piece picker over every piece (rarest first): about one per piece started. A peer's
   * choke churn, rejects or haves must not add to it (scan-memory.ts).
   */
  pieceScans: number
  /**
   * Pieces started and not yet handed to storage. A piece nobody is asked for and of which nothing
   * arrived goes back to the pool, so this stays within the peers' pipelines and the pieces partly received.
   */
  activePieces: number
  /** Bytes those pieces hold: a piece's buffer is allocated at its first block. */
  activePieceBytes: number
}

export interface StallInfo {
  /** Milliseconds since the last block (or since the download started). */
  readonly sinceMs: number
  /** Peers connected, and how many of them could give us something (unchoking us, with a piece we need). */
  readonly peers: number
  readonly unchokedWithPieces: number
}

export interface SwarmEvents {
  metadata: [metainfo: Metainfo]
  'metadata-rejected': [peer: PeerInfo, error: Error]
  piece: [index: number]
  complete: []
  peer: [peer: PeerInfo]
  'peer-closed': [peer: PeerInfo, error: Error | undefined]
  'bad-piece': [index: number, peers: PeerInfo[]]
  'peer-banned': [peer: PeerInfo, error: Error]
  /** No block arrived for the stall timeout while the download is incomplete. */
  stalled: [info: StallInfo]
  /** A block arrived after 'stalled'. */
  resumed: []
  /** destroy() was called. */
  destroyed: []
  /**
   * The download cannot go on: storage failed other than by verification (disk full, read-only or
   * unsafe output path, a store that cannot open). Emitted once; the swarm stops requesting blocks.
   */
  failed: [error: Error]
  /** The same failure, for listeners of the conventional event. Only emitted when listened to. */
  error: [error: Error]
}
