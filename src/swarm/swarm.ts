/**
 * The swarm engine: downloads and seeds one torrent over the PeerLinks the connection layer hands
 * it. It never sees sockets or TLS; it trusts nothing a peer sends (every index, offset and length
 * is checked against the torrent before use) and nothing it downloads (PieceStore.writePiece
 * verifies each piece before a byte reaches disk).
 *
 * Containment: every wire event runs under `guard`, so a peer that sends something we cannot
 * handle only closes its own link, with a typed error.
 */
import { EventEmitter } from 'node:events'
import { createHash, randomBytes } from 'node:crypto'
import type { PieceStore } from '../storage/piece-store.js'
import type { MagnetLink, Metainfo } from '../torrent/metainfo.js'
import type { PeerLink, RemoteHandshake, TransportKind } from '../wire/peer-link.js'
import { InfohashMismatchError, MalformedMessageError } from '../errors.js'
import { DEFAULT_MAX_METADATA_SIZE, utMetadataExtension } from '../wire/ut-metadata.js'
import type { UtMetadataHost } from '../wire/ut-metadata.js'
import { ActivePiece, BLOCK_SIZE } from './active-piece.js'
import { BadPieces } from './bad-pieces.js'
import { BanList } from './ban-list.js'
import { Bitfield } from './bitfield.js'
import { blockKey, keyBlock, keyIndex } from './block-requests.js'
import { Choker } from './choker.js'
import { BadPeerError, DuplicateLinkError, PeerTimeoutError, SelfConnectionError, SwarmDestroyedError } from './errors.js'
import { PieceHashMismatchError } from '../storage/errors.js'
import { MetadataMismatchError } from '../torrent/errors.js'
import { MetadataFetcher } from './metadata-fetcher.js'
import { boundSendQueue, type SendQueueLimits } from './send-queue.js'
import { Peer } from './peer.js'
import type { PieceAnnouncement } from './peer-pieces.js'
import { PiecePicker } from './piece-picker.js'
import { isStillRequested, type RateLimits } from './rate-limiter.js'
import type { PeerInfo } from './peer.js'
import { VERSION } from '../version.js'

export type { PeerInfo } from './peer.js'

/**
 * Largest block we serve. BEP 3: "All current implementations use 2^14 (16 kiB), and close
 * connections which request an amount greater than that." Every client we interoperate with
 * requests 16 KiB, and a larger cap would let one queued request pin 8x more of our memory.
 */
export const MAX_REQUEST_LENGTH = BLOCK_SIZE

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

/** Requests for pieces we never announced that we tolerate before closing the link. */
const MAX_UNAVAILABLE_REQUESTS = 64
const KEEP_ALIVE_MS = 60_000
const MAX_PIECE_LENGTH = 64 * 1024 * 1024

function noop (): void {}

function isMagnet (source: SwarmSource): source is SwarmMagnetSource {
  return 'magnet' in source
}

function wireInfoHashesOf (t: { wireInfoHash: Buffer, infoHashV1?: Buffer, infoHashV2?: Buffer }): Buffer[] {
  const forms = [t.wireInfoHash, t.infoHashV1, t.infoHashV2?.subarray(0, 20)].filter((h): h is Buffer => h !== undefined)
  return forms.filter((h, i) => forms.findIndex(o => o.equals(h)) === i).map(h => Buffer.from(h))
}

/**
 * Azureus-style client code (BEP 20): '-', two letters, four version digits, '-'. "BQ" is in neither
 * BEP 20's list nor the lists trackers and clients decode with (Vuze's, webtorrent's bittorrent-peerid);
 * "BT", used before, is mainline BitTorrent's. Version 0.1.0 gives "-BQ0100-".
 */
export const PEER_ID_PREFIX = `-BQ${VERSION.split('.').map(n => Number(n).toString(36)).join('').padEnd(4, '0').slice(0, 4)}-`

function defaultPeerId (): Buffer {
  return Buffer.concat([Buffer.from(PEER_ID_PREFIX, 'latin1'), randomBytes(12)])
}

export class Swarm extends EventEmitter<SwarmEvents> {
  readonly peerId: Buffer
  readonly infoHash: Buffer
  /**
   * Every 20-byte infohash a handshake for this torrent may carry: a hybrid torrent is reached by its
   * v1 infohash and by its truncated v2 infohash (BEP 52). A link names the one its peer uses.
   */
  readonly wireInfoHashes: readonly Buffer[]
  private metainfoValue: Metainfo | undefined
  private store: PieceStore | undefined
  private readonly ownsStore: boolean
  private readonly magnet: SwarmMagnetSource | undefined
  private readonly fetcher: MetadataFetcher<Peer> | undefined

  private readonly pipelineDepth: number
  private readonly requestTimeoutMs: number
  private readonly peerTimeoutMs: number
  private readonly stallTimeoutMs: number
  /** Last block from any peer (or the start): the stall clock. */
  private lastDataAt = Date.now()
  private stalled = false
  private readonly chokeIntervalMs: number
  private readonly maxQueuedRequests: number
  private readonly maxMetadataSize: number
  private readonly closeSeedLinks: boolean
  private readonly uploadSlots: number
  private readonly sendQueue: SendQueueLimits
  private readonly rateLimits: RateLimits
  /** A wake-up is queued at the download limiter (one per swarm). */
  private awaitingDownloadTokens = false

  private readonly peers = new Set<Peer>()
  private picker: PiecePicker | undefined
  private readonly active = new Map<number, ActivePiece<Peer>>()
  /** Pieces that failed verification, and the ids of the peers whose copies failed. */
  private readonly avoid = new Map<number, Set<string>>()
  private readonly badPieces = new BadPieces<Peer>(p => p.id)
  /**
   * Pieces whose last copy failed with blocks from several peers: the next copy comes from one peer
   * alone, so its verdict names one sender (bad-pieces.ts). Maps to the peer id that took it, or
   * undefined while nobody has.
   */
  private readonly singleSource = new Map<number, string | undefined>()
  private readonly bans = new BanList()
  private readonly choker: Choker<Peer>
  private readonly timer: NodeJS.Timeout
  private lastChoke = Date.now()
  private lastKeepAlive = Date.now()
  private destroyed = false
  private failure: Error | undefined
  private counters = { downloaded: 0, uploaded: 0, wasted: 0, hashFailures: 0 }
  private readonly transportBytes: Record<TransportKind, { downloaded: number, uploaded: number }> = {
    tls: { downloaded: 0, uploaded: 0 },
    plain: { downloaded: 0, uploaded: 0 },
    mse: { downloaded: 0, uploaded: 0 }
  }

  constructor (source: SwarmSource, options: SwarmOptions = {}) {
    super()
    this.peerId = options.peerId !== undefined ? Buffer.from(options.peerId) : defaultPeerId()
    if (this.peerId.length !== 20) throw new RangeError('peerId must be 20 bytes')
    this.pipelineDepth = options.pipelineDepth ?? 128
    this.requestTimeoutMs = options.requestTimeoutMs ?? 20_000
    this.peerTimeoutMs = options.peerTimeoutMs ?? 60_000
    this.stallTimeoutMs = options.stallTimeoutMs ?? 20_000
    this.chokeIntervalMs = options.chokeIntervalMs ?? 10_000
    this.maxQueuedRequests = options.maxQueuedRequests ?? 512
    this.maxMetadataSize = options.maxMetadataSize ?? DEFAULT_MAX_METADATA_SIZE
    this.closeSeedLinks = options.closeSeedLinks ?? true
    this.uploadSlots = options.uploadSlots ?? 8
    this.sendQueue = options.sendQueue ?? {}
    this.rateLimits = options.rateLimits ?? {}
    this.choker = new Choker(this.uploadSlots)

    if (isMagnet(source)) {
      this.magnet = source
      this.infoHash = Buffer.from(source.magnet.wireInfoHash)
      this.wireInfoHashes = wireInfoHashesOf(source.magnet)
      this.ownsStore = true
      this.fetcher = new MetadataFetcher<Peer>((peer, piece) => peer.ut?.request(piece))
    } else {
      this.infoHash = Buffer.from(source.metainfo.wireInfoHash)
      this.wireInfoHashes = wireInfoHashesOf(source.metainfo)
      this.ownsStore = false
      this.init(source.metainfo, source.store)
    }
    // The tick drives timeouts, choking and keep-alives; it must never keep the process alive.
    const tickMs = Math.max(50, Math.min(1000, Math.floor(Math.min(this.requestTimeoutMs, this.peerTimeoutMs, this.stallTimeoutMs) / 4)))
    this.timer = setInterval(() => this.tick(), tickMs)
    this.timer.unref()
  }

  get metainfo (): Metainfo | undefined {
    return this.metainfoValue
  }

  get complete (): boolean {
    return this.picker?.complete ?? false
  }

  /** Why the download stopped for good (see the 'failed' event), if it did. */
  get failed (): Error | undefined {
    return this.failure
  }

  /**
   * Resolves once every piece is verified, at once if that is already so (a second run on complete
   * data); rejects with the failure if the download cannot finish, or if the swarm is destroyed first.
   * Unlike a 'complete' listener, it cannot miss an event that fired before it was called.
   */
  whenComplete (): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.complete) { resolve(); return }
      if (this.failure !== undefined) { reject(this.failure); return }
      if (this.destroyed) { reject(new SwarmDestroyedError('swarm destroyed before the download completed')); return }
      const settle = (err?: Error): void => {
        this.off('complete', onComplete)
        this.off('failed', onFailed)
        this.off('destroyed', onDestroyed)
        if (err === undefined) resolve()
        else reject(err)
      }
      const onComplete = (): void => settle()
      const onFailed = (err: Error): void => settle(err)
      const onDestroyed = (): void => settle(new SwarmDestroyedError('swarm destroyed before the download completed'))
      this.on('complete', onComplete)
      this.on('failed', onFailed)
      this.on('destroyed', onDestroyed)
    })
  }

  /** Take over a connected link (see PeerLink for the rules it follows). */
  addLink (link: PeerLink): void {
    if (this.destroyed) {
      link.close(new SwarmDestroyedError('swarm destroyed'))
      return
    }
    const peer = new Peer(link)
    this.peers.add(peer)
    // Closed asynchronously: the overflow is noticed inside a send, in the middle of our own bookkeeping.
    boundSendQueue(link, this.sendQueue, err => queueMicrotask(() => peer.close(err)))
    link.closed.then(err => this.onClosed(peer, err), err => this.onClosed(peer, err as Error))
    this.emit('peer', peer.info)
    this.guard(peer, () => {
      if (!this.wireInfoHashes.some(h => h.equals(link.infoHash))) {
        throw new InfohashMismatchError('link was established for another torrent')
      }
      if (link.direction === 'outbound' && this.isBanned(link.remoteAddress, link.remotePort)) {
        throw new BadPeerError(`${link.remoteAddress}:${link.remotePort} is banned for sending bad data`)
      }
      this.attach(peer)
      // Registered before our handshake, which carries the extended handshake's "m" dictionary.
      peer.wire.use(utMetadataExtension(this.metadataHost(peer)))
      peer.wire.handshake(link.infoHash, this.peerId, { dht: false, fast: true, extended: true })
      // A bttls responder speaks first and its peer is already authenticated: announcing our pieces and
      // offering a slot now, not after the peer's handshake, saves the round trip the BEP counts on.
      if (link.transport === 'tls' && link.direction === 'inbound') this.announceEarly(peer)
    })
    link.remoteHandshake.then(
      hs => this.guard(peer, () => this.onHandshake(peer, hs)),
      err => peer.close(err as Error)
    )
  }

  stats (): SwarmStats {
    const transports = {} as Record<TransportKind, TransportStats>
    for (const kind of ['tls', 'plain', 'mse'] as const) {
      transports[kind] = { peers: 0, ...this.transportBytes[kind] }
    }
    let outstandingRequests = 0
    for (const p of this.peers) {
      transports[p.link.transport].peers++
      outstandingRequests += p.requests.size
    }
    let blocksInFlight = 0
    for (const ap of this.active.values()) for (const r of ap.requesters) blocksInFlight += r
    return {
      outstandingRequests,
      blocksInFlight,
      ...this.counters,
      piecesDone: this.picker?.doneCount ?? 0,
      piecesTotal: this.picker?.pieceCount ?? 0,
      peers: this.peers.size,
      transports,
      stalled: this.stalled
    }
  }

  peerInfos (): PeerInfo[] {
    return [...this.peers].map(p => p.info)
  }

  /** Close every link and stop every timer. Closes the store only if the swarm opened it (magnet). */
  async destroy (): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    clearInterval(this.timer)
    for (const p of this.peers) p.close()
    this.active.clear()
    this.safeEmit('destroyed')
    if (this.ownsStore && this.store !== undefined) await this.store.close()
  }

  // --- peer lifecycle ---

  private attach (peer: Peer): void {
    const w = peer.wire
    // Each Wire event has its own argument types; the guard passes them through untouched.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const on = (event: string, fn: (...args: any[]) => void): void => {
      w.on(event, (...args: unknown[]) => this.guard(peer, () => fn(...args)))
    }
    w.on('error', (err: Error) => peer.close(err))
    on('extended', (ext: string) => {
      if (ext === 'handshake' && this.listenPorts(peer).some(port => this.isBanned(peer.link.remoteAddress, port))) {
        throw new BadPeerError('the peer listens at an endpoint banned for sending bad data')
      }
    })
    on('bitfield', (bf: { buffer: Uint8Array }) => this.onAnnouncement(peer, { kind: 'bitfield', bytes: bf.buffer }))
    on('have', (index: number) => this.onAnnouncement(peer, { kind: 'have', index }))
    on('have-all', () => this.onAnnouncement(peer, { kind: 'have-all' }))
    on('unchoke', () => this.fill(peer))
    on('choke', () => this.onChoke(peer))
    on('reject', (index: number, offset: number, length: number) => this.onReject(peer, index, offset, length))
    on('piece', (index: number, offset: number, block: Uint8Array) => this.onBlock(peer, index, offset, block))
    on('request', (index: number, offset: number, length: number, respond: (err: Error | null, buf?: Uint8Array) => void) =>
      this.onRequest(peer, index, offset, length, respond))
    on('interested', () => this.onInterest(peer))
    on('uninterested', () => this.onInterest(peer))
    on('upload', (length: number) => {
      peer.uploaded += length
      peer.roundUploaded += length
      this.counters.uploaded += length
      this.transportBytes[peer.link.transport].uploaded += length
    })
  }

  private onHandshake (peer: Peer, hs: RemoteHandshake): void {
    if (peer.closed) return
    if (!Buffer.from(hs.infoHash).equals(peer.link.infoHash)) {
      throw new InfohashMismatchError('peer handshake names another infohash than the one its link was established for')
    }
    if (Buffer.from(hs.peerId).equals(this.peerId)) throw new SelfConnectionError('the peer is this client itself')
    peer.id = Buffer.from(hs.peerId).toString('hex')
    if (this.badPieces.isBanned(peer.id) || this.bans.hasId(peer.id)) throw new BadPeerError('peer is banned for sending bad data')
    const twin = [...this.peers].find(p => p !== peer && !p.closed && p.id === peer.id)
    if (twin !== undefined) {
      const err = new DuplicateLinkError(`already connected to peer ${peer.id.slice(0, 16)}… (${twin.link.remoteAddress}:${twin.link.remotePort})`)
      if (!this.keepsNewLink(twin, peer)) throw err
      twin.close(err)
    }
    peer.phase = 'ready'
    if (this.picker !== undefined) {
      this.activate(peer)
    } else {
      // BEP 6: with fast, something must state our pieces first; without it, silence means none.
      if (peer.wire.hasFast) peer.wire.haveNone()
      peer.sentInitialPieces = true
      if (peer.metadataOffer !== undefined) this.fetcher?.offer(peer, peer.metadataOffer)
    }
  }

  /**
   * Of two links to one peer, whether to keep the new one. TLS beats a legacy transport (an upgrade);
   * otherwise the link initiated by the side with the lower peer id wins, a rule the peer computes
   * alike, so a simultaneous dial in both directions keeps one link, not none. Two links we both
   * initiated (the peer under two addresses): the older stays.
   */
  private keepsNewLink (old: Peer, fresh: Peer): boolean {
    if ((old.link.transport === 'tls') !== (fresh.link.transport === 'tls')) return fresh.link.transport === 'tls'
    if (old.link.direction === fresh.link.direction) return false
    const weAreLower = Buffer.compare(this.peerId, Buffer.from(fresh.id, 'hex')) < 0
    // Keep the link the lower id initiated: ours is the outbound one.
    return (fresh.link.direction === 'outbound') === weAreLower
  }

  /** Metadata and handshake both known: adopt the peer's announcements and announce ours. */
  private activate (peer: Peer): void {
    const picker = this.picker
    const store = this.store
    if (picker === undefined || store === undefined || peer.phase !== 'ready') return
    const n = picker.pieceCount
    peer.phase = 'active'
    peer.lastBlockAt = Date.now()

    peer.pieces.attach(picker)

    const w = peer.wire
    if (peer.announcedEarly !== undefined) {
      // Pieces finished between the early bitfield and now.
      for (const i of store.have) if (!peer.announcedEarly.get(i)) w.have(i)
      peer.announcedEarly = undefined
    } else if (!peer.sentInitialPieces) {
      peer.sentInitialPieces = true
      if (picker.complete && w.hasFast) w.haveAll()
      else if (picker.doneCount === 0 && w.hasFast) w.haveNone()
      else if (picker.doneCount > 0) w.bitfield(this.ourBitfield(n))
    } else if (picker.complete && w.hasFast) {
      w.haveAll()
    } else {
      for (const i of store.have) w.have(i)
    }
    if (this.dropIfBothSeeds(peer)) return
    this.updateInterest(peer)
    this.onInterest(peer)
    this.fill(peer)
  }

  /**
   * Our bitfield (a plain bitfield: whether the peer has BEP 6 is not known before its handshake) and,
   * if a slot is free, an unchoke, sent right after our handshake.
   */
  private announceEarly (peer: Peer): void {
    const picker = this.picker
    if (picker === undefined || this.store === undefined || picker.doneCount === 0) return
    const n = picker.pieceCount
    const bits = new Bitfield(n)
    for (let i = 0; i < n; i++) if (picker.isDone(i)) bits.set(i)
    peer.wire.bitfield(bits.bytes)
    peer.sentInitialPieces = true
    peer.announcedEarly = bits
    let unchoked = 0
    for (const p of this.peers) if (!p.wire.amChoking) unchoked++
    if (unchoked < this.uploadSlots) peer.wire.unchoke()
  }

  private ourBitfield (n: number): Uint8Array {
    const bits = new Bitfield(n)
    for (let i = 0; i < n; i++) if (this.picker?.isDone(i) === true) bits.set(i)
    return bits.bytes
  }

  private onClosed (peer: Peer, err: Error | undefined): void {
    if (peer.closed) return
    const wasActive = peer.phase === 'active'
    peer.phase = 'closed'
    this.peers.delete(peer)
    // Its outstanding blocks go back to the pool at once, so the other peers pick them up now.
    for (const key of peer.requests.giveUpAll(Date.now())) this.release(key)
    for (const [index, owner] of this.singleSource) if (owner === peer.id) this.singleSource.set(index, undefined)
    if (wasActive) peer.pieces.detach()
    this.fetcher?.remove(peer)
    this.safeEmit('peer-closed', peer.info, peer.closeError ?? err)
    if (!this.destroyed) {
      this.fillAll()
      if (!peer.wire.amChoking) this.rechoke(false)
    }
  }

  // --- what peers have ---

  /** A bitfield, have or have-all: held until the peer is active, then applied, and acted on if it changed. */
  private onAnnouncement (peer: Peer, message: PieceAnnouncement): void {
    if (!peer.pieces.apply(message)) return
    if (this.dropIfBothSeeds(peer)) return
    this.updateInterest(peer)
    this.fill(peer)
  }

  private updateInterest (peer: Peer): void {
    if (peer.pieces.need > 0) {
      // The peer timeout runs from the moment we want something of it.
      if (!peer.wire.amInterested) peer.lastBlockAt = Date.now()
      peer.wire.interested()
    } else {
      peer.wire.uninterested()
    }
  }

  private dropIfBothSeeds (peer: Peer): boolean {
    if (!this.closeSeedLinks || !this.complete || !peer.isSeed) return false
    peer.close()
    return true
  }

  // --- downloading ---

  private onChoke (peer: Peer): void {
    // With BEP 6 the peer rejects what it will not serve; without it, a choke drops every request.
    if (peer.wire.hasFast) return
    for (const key of peer.requests.giveUpAll(Date.now())) this.release(key)
    this.fillAll()
  }

  private onReject (peer: Peer, index: number, offset: number, _length: number): void {
    if (offset % BLOCK_SIZE !== 0) return
    const key = blockKey(index, offset / BLOCK_SIZE)
    if (!peer.requests.drop(key)) return
    // Rejected while unchoked: it will not serve that piece, so asking again would loop.
    if (!peer.wire.peerChoking) peer.refused.add(index)
    this.release(key)
    this.fillAll()
  }

  private onBlock (peer: Peer, index: number, offset: number, block: Uint8Array): void {
    const picker = this.picker
    if (picker === undefined || peer.phase !== 'active') throw new MalformedMessageError('piece message before we requested anything')
    const n = picker.pieceCount
    if (index >= n || offset % BLOCK_SIZE !== 0) throw new MalformedMessageError(`piece message at ${index}:${offset} is off the block grid`)
    const b = offset / BLOCK_SIZE
    const size = this.metainfoValue!.pieceSize(index)
    const expected = Math.min(BLOCK_SIZE, size - offset)
    if (expected <= 0 || block.length !== expected) throw new MalformedMessageError(`piece message ${index}:${offset} has ${block.length} bytes`)

    const key = blockKey(index, b)
    const arrival = peer.requests.take(key)
    if (arrival === 'unrequested') throw new MalformedMessageError(`piece ${index}:${offset} was never requested`)
    const now = Date.now()
    peer.lastProgress = now
    peer.lastBlockAt = now
    peer.snubbed = false
    this.lastDataAt = now
    if (this.stalled) {
      this.stalled = false
      this.safeEmit('resumed')
    }
    if (this.failure !== undefined) {
      this.counters.wasted += block.length
      return
    }
    const ap = this.active.get(index)
    if (arrival === 'requested') ap?.release(b)
    if (ap === undefined || !ap.receive(b, block, peer)) {
      this.counters.wasted += block.length
      this.fill(peer)
      return
    }
    peer.downloaded += block.length
    peer.roundDownloaded += block.length
    this.counters.downloaded += block.length
    this.transportBytes[peer.link.transport].downloaded += block.length

    // Endgame duplicates of this block are now useless.
    if (ap.requesters[b]! > 0) {
      for (const other of this.peers) {
        if (other === peer || !other.requests.giveUp(key, now)) continue
        ap.release(b)
        other.wire.cancel(index, offset, expected)
        this.fill(other)
      }
    }
    if (ap.complete) {
      this.active.delete(index)
      void this.writePiece(ap)
    }
    this.fill(peer)
  }

  private fillAll (): void {
    for (const p of this.peers) {
      if (p.phase === 'active') this.guard(p, () => this.fill(p))
    }
  }

  /** Keep `peer`'s pipeline full: blocks of started pieces, then new rarest pieces, then endgame duplicates. */
  private fill (peer: Peer): void {
    const picker = this.picker
    if (picker === undefined || this.destroyed || this.failure !== undefined || peer.phase !== 'active' || peer.wire.peerChoking || picker.complete) return
    let room = Math.min((peer.snubbed ? 1 : this.pipelineDepth) - peer.requests.size, this.downloadBudget())
    if (room <= 0) return
    const now = Date.now()

    for (const ap of this.active.values()) {
      if (!this.mayAsk(peer, ap.index) || !this.mayTake(peer, ap.index)) continue
      for (let b = ap.nextFree(); b >= 0 && room > 0; b = ap.nextFree()) {
        this.send(peer, ap, b, now)
        room--
      }
      if (room === 0) return
    }

    while (room > 0) {
      const index = picker.pick(i => peer.has(i), i => this.mayAsk(peer, i) && this.mayTake(peer, i))
      if (index < 0) break
      const ap = new ActivePiece<Peer>(index, this.metainfoValue!.pieceSize(index))
      this.active.set(index, ap)
      picker.markActive(index)
      for (let b = ap.nextFree(); b >= 0 && room > 0; b = ap.nextFree()) {
        this.send(peer, ap, b, now)
        room--
      }
    }
    if (room === 0) return

    // Endgame: nothing left that nobody was asked for, so race the slowest holders for their blocks.
    for (const ap of this.active.values()) {
      if (!this.mayAsk(peer, ap.index) || !this.mayTake(peer, ap.index)) continue
      for (let b = 0; b < ap.blockCount && room > 0; b++) {
        if (!ap.isRequested(b) || ap.requesters[b]! >= 2 || peer.requests.has(blockKey(ap.index, b))) continue
        this.send(peer, ap, b, now)
        room--
      }
      if (room === 0) return
    }
  }

  private mayAsk (peer: Peer, index: number): boolean {
    if (!peer.has(index) || peer.refused.has(index)) return false
    const avoid = this.avoid.get(index)
    if (avoid === undefined || !avoid.has(peer.id)) return true
    // Its copy of this piece failed before: use it again only if no other peer can serve the piece.
    for (const other of this.peers) {
      if (other !== peer && other.phase === 'active' && !other.wire.peerChoking && other.has(index) && !avoid.has(other.id)) return false
    }
    return true
  }

  /** A piece fetched from one peer alone (singleSource) is that peer's once it has asked for a block. */
  private mayTake (peer: Peer, index: number): boolean {
    if (!this.singleSource.has(index)) return true
    const owner = this.singleSource.get(index)
    return owner === undefined || owner === peer.id
  }

  private send (peer: Peer, ap: ActivePiece<Peer>, b: number, now: number): void {
    if (this.singleSource.has(ap.index) && this.singleSource.get(ap.index) === undefined) this.singleSource.set(ap.index, peer.id)
    const key = blockKey(ap.index, b)
    if (peer.requests.size === 0) peer.lastProgress = now
    peer.requests.add(key, now)
    ap.markRequested(b)
    this.rateLimits.download?.charge(ap.blockLength(b))
    peer.wire.request(ap.index, b * BLOCK_SIZE, ap.blockLength(b), noop)
  }

  /** Blocks we may request now under --max-download-rate; at 0, fill every pipeline again when tokens return. */
  private downloadBudget (): number {
    const limiter = this.rateLimits.download
    if (limiter === undefined) return Infinity
    const blocks = Math.floor(limiter.available() / BLOCK_SIZE)
    if (blocks === 0 && !this.awaitingDownloadTokens) {
      this.awaitingDownloadTokens = true
      limiter.whenAvailable(BLOCK_SIZE, () => { this.awaitingDownloadTokens = false; if (!this.destroyed) this.fillAll() })
    }
    return blocks
  }

  private release (key: number): void {
    this.active.get(keyIndex(key))?.release(keyBlock(key))
  }

  private async writePiece (ap: ActivePiece<Peer>): Promise<void> {
    const store = this.store!
    const picker = this.picker!
    try {
      await store.writePiece(ap.index, ap.data)
    } catch (err) {
      if (this.destroyed) return
      picker.markMissing(ap.index)
      if (!(err instanceof PieceHashMismatchError)) {
        // Not the peer's fault and not going away: fetching the piece again would fail the same way,
        // for ever (a read-only --out, a planted symlink). Stop and say so.
        this.fail(err as Error)
        return
      }
      this.onBadPiece(ap)
      this.fillAll()
      return
    }
    if (this.destroyed) return
    picker.markDone(ap.index)
    this.avoid.delete(ap.index)
    this.singleSource.delete(ap.index)
    for (const bad of this.badPieces.success(ap.index, ap.data)) this.ban(bad)
    this.safeEmit('piece', ap.index)
    for (const p of this.peers) {
      if (p.phase !== 'active') continue
      this.guard(p, () => {
        if (p.pieces.completed(ap.index)) {
          if (p.pieces.need === 0) p.wire.uninterested()
        } else {
          p.wire.have(ap.index)
        }
      })
    }
    if (picker.complete) {
      this.safeEmit('complete')
      for (const p of [...this.peers]) if (p.phase === 'active') this.dropIfBothSeeds(p)
    }
  }

  private onBadPiece (ap: ActivePiece<Peer>): void {
    this.counters.hashFailures++
    const verdict = this.badPieces.failure(ap.index, ap.data, ap.sources)
    if (verdict.contributors.length > 1) this.singleSource.set(ap.index, undefined)
    else this.singleSource.delete(ap.index)
    const avoid = this.avoid.get(ap.index) ?? new Set<string>()
    for (const p of verdict.contributors) avoid.add(p.id)
    this.avoid.set(ap.index, avoid)
    this.safeEmit('bad-piece', ap.index, verdict.contributors.map(p => p.info))
    for (const p of verdict.banned) this.ban(p)
  }

  private ban (peer: Peer, err: Error = new BadPeerError(`peer ${peer.id} sent data that failed verification`)): void {
    this.bans.ban(peer.id, peer.link.remoteAddress, this.listenPorts(peer))
    this.safeEmit('peer-banned', peer.info, err)
    peer.close(err)
  }

  /** Where the peer can be dialed: the port we dialed, or the one it announced (BEP 10 `p`). */
  private listenPorts (peer: Peer): number[] {
    const ports: number[] = []
    if (peer.link.direction === 'outbound') ports.push(peer.link.remotePort)
    const p = (peer.wire as unknown as { peerExtendedHandshake?: { p?: unknown } }).peerExtendedHandshake?.p
    if (typeof p === 'number' && Number.isInteger(p)) ports.push(p)
    return ports
  }

  /** Whether the peer at this endpoint was banned (dialers skip it; a link to it is closed). */
  isBanned (address: string, port: number): boolean {
    return this.bans.hasEndpoint(address, port)
  }

  // --- seeding ---

  private onRequest (peer: Peer, index: number, offset: number, length: number, respond: (err: Error | null, buf?: Uint8Array) => void): void {
    const store = this.store
    const meta = this.metainfoValue
    if (store === undefined || meta === undefined) {
      respond(new Error('no metadata yet'))
      return
    }
    if (index >= meta.pieceCount || length === 0 || length > MAX_REQUEST_LENGTH || offset + length > meta.pieceSize(index)) {
      throw new MalformedMessageError(`request ${index}:${offset}+${length} is outside the torrent or over 16 KiB`)
    }
    if (!store.have.has(index)) {
      if (++peer.unavailableRequests > MAX_UNAVAILABLE_REQUESTS) throw new MalformedMessageError('requests for pieces we never announced')
      respond(new Error('piece not available'))
      return
    }
    if (peer.wire.peerRequests.length > this.maxQueuedRequests) {
      respond(new Error('request queue full'))
      return
    }
    const serve = (): void => {
      store.readBlock(index, offset, length).then(
        buf => this.guard(peer, () => respond(null, buf)),
        err => this.guard(peer, () => respond(err as Error))
      )
    }
    const limiter = this.rateLimits.upload
    if (limiter === undefined) serve()
    // Under --max-upload-rate the block is read once its turn comes, and only if still wanted.
    else limiter.take(length, () => { if (peer.closed || !isStillRequested(peer.wire, index, offset, length)) return false; serve(); return true })
  }

  private onInterest (peer: Peer): void {
    const w = peer.wire
    if (this.store === undefined || peer.phase !== 'active') return
    if (!w.peerInterested) {
      if (!w.amChoking) {
        w.choke()
        this.rechoke(false)
      }
      return
    }
    if (!w.amChoking) return
    let unchoked = 0
    for (const p of this.peers) if (!p.wire.amChoking) unchoked++
    if (unchoked < this.uploadSlots) w.unchoke()
  }

  /** Periodic (full) rounds re-rank everyone; otherwise only free slots are filled. */
  private rechoke (full: boolean): void {
    if (this.store === undefined) return
    const candidates = [...this.peers].filter(p => p.phase === 'active')
    if (!full) {
      for (const p of candidates) this.guard(p, () => this.onInterest(p))
      return
    }
    const seeding = this.complete
    const unchoke = this.choker.decide(candidates.map(p => ({
      key: p,
      interested: p.wire.peerInterested,
      rate: seeding ? p.roundUploaded : p.roundDownloaded
    })))
    for (const p of candidates) {
      p.roundDownloaded = 0
      p.roundUploaded = 0
      this.guard(p, () => {
        if (unchoke.has(p)) p.wire.unchoke()
        else p.wire.choke()
      })
    }
  }

  // --- metadata (BEP 9) ---

  private metadataHost (peer: Peer): UtMetadataHost {
    return {
      maxMetadataSize: this.maxMetadataSize,
      infoBytes: () => this.metainfoValue?.infoBytes,
      onOffer: (ext, size) => {
        peer.ut = ext
        peer.metadataOffer = size
        if (peer.phase === 'ready') this.fetcher?.offer(peer, size)
      },
      onData: (ext, piece, totalSize, data) => this.guard(peer, () => {
        const whole = this.fetcher?.data(peer, piece, totalSize, data)
        if (whole !== undefined) this.onMetadata(peer, whole)
      }),
      onReject: () => this.fetcher?.reject(peer),
      onProtocolError: (_ext, err) => peer.close(err)
    }
  }

  private onMetadata (peer: Peer, infoBytes: Buffer): void {
    const magnet = this.magnet!
    let metainfo: Metainfo
    try {
      if (!this.metadataHashes(magnet, infoBytes)) {
        // Only a hostile peer serves bytes that do not hash to the infohash: ban it, not only its id.
        const err = new MetadataMismatchError('metadata does not hash to the infohash')
        this.fetcher!.mismatch(peer)
        this.safeEmit('metadata-rejected', peer.info, err)
        this.ban(peer, err)
        return
      }
      metainfo = this.parseMetadata(magnet, infoBytes)
    } catch (err) {
      const typed = err instanceof MetadataMismatchError ? err : new MetadataMismatchError('peer served metadata that does not parse', { cause: err })
      this.fetcher!.mismatch(peer)
      this.safeEmit('metadata-rejected', peer.info, typed)
      peer.close(typed)
      return
    }
    this.fetcher!.succeeded()
    this.lastDataAt = Date.now()
    this.metainfoValue = metainfo
    this.safeEmit('metadata', metainfo)
    magnet.openStore(metainfo).then(store => {
      if (this.destroyed) {
        store.close().catch(noop)
        return
      }
      this.init(metainfo, store)
      for (const p of [...this.peers]) {
        if (p.phase === 'ready') this.guard(p, () => this.activate(p))
      }
      if (this.complete) this.safeEmit('complete')
    }, err => this.fail(err as Error))
  }

  /** The infohash is the only trust anchor of a magnet link: check every hash it names ourselves. */
  private metadataHashes (magnet: SwarmMagnetSource, infoBytes: Buffer): boolean {
    const m = magnet.magnet
    const sha1 = createHash('sha1').update(infoBytes).digest()
    const sha256 = createHash('sha256').update(infoBytes).digest()
    return (m.infoHashV1 === undefined || sha1.equals(m.infoHashV1)) &&
      (m.infoHashV2 === undefined || sha256.equals(m.infoHashV2)) &&
      (sha1.equals(m.wireInfoHash) || sha256.subarray(0, 20).equals(m.wireInfoHash))
  }

  /** Parse metadata that hashes to the infohash (metadataHashes) and check what the engine needs of it. */
  private parseMetadata (magnet: SwarmMagnetSource, infoBytes: Buffer): Metainfo {
    const metainfo = magnet.parseInfo(infoBytes)
    if (!Buffer.from(metainfo.wireInfoHash).equals(this.infoHash)) {
      throw new MetadataMismatchError('parsed metadata names another infohash')
    }
    if (metainfo.pieceLength > MAX_PIECE_LENGTH) {
      throw new MetadataMismatchError(`piece length ${metainfo.pieceLength} exceeds what we buffer`)
    }
    return metainfo
  }

  private init (metainfo: Metainfo, store: PieceStore): void {
    this.metainfoValue = metainfo
    this.store = store
    this.picker = new PiecePicker(metainfo.pieceCount, store.have)
  }

  // --- housekeeping ---

  private tick (): void {
    if (this.destroyed) return
    const now = Date.now()
    const downloading = this.picker !== undefined && !this.picker.complete && this.failure === undefined
    for (const p of [...this.peers]) {
      if (p.phase !== 'active') continue
      if (downloading && p.wire.amInterested && now - p.lastBlockAt > this.peerTimeoutMs) {
        p.close(new PeerTimeoutError(`no block in ${Math.round((now - p.lastBlockAt) / 1000)} s from a peer we want data from ` +
          `(${p.wire.peerChoking ? 'it keeps us choked' : `${p.requests.size} requests unanswered`})`))
        continue
      }
      if (p.requests.size === 0 || now - p.lastProgress <= this.requestTimeoutMs) continue
      // Stalled: hand its blocks to the others; it keeps one request so it can prove itself again.
      this.guard(p, () => {
        p.snubbed = true
        for (const key of p.requests.giveUpAll(now)) {
          this.release(key)
          const ap = this.active.get(keyIndex(key))
          p.wire.cancel(keyIndex(key), keyBlock(key) * BLOCK_SIZE, ap?.blockLength(keyBlock(key)) ?? BLOCK_SIZE)
        }
      })
      this.fillAll()
    }
    this.checkStall(now)
    this.fetcher?.tick(this.requestTimeoutMs)
    if (now - this.lastChoke >= this.chokeIntervalMs) {
      this.lastChoke = now
      this.rechoke(true)
    }
    if (now - this.lastKeepAlive >= KEEP_ALIVE_MS) {
      this.lastKeepAlive = now
      for (const p of this.peers) this.guard(p, () => (p.wire as unknown as { keepAlive: () => void }).keepAlive())
    }
  }

  private checkStall (now: number): void {
    if (this.stalled || this.complete || this.failure !== undefined || now - this.lastDataAt < this.stallTimeoutMs) return
    this.stalled = true
    let unchokedWithPieces = 0
    for (const p of this.peers) if (p.phase === 'active' && !p.wire.peerChoking && p.pieces.need > 0) unchokedWithPieces++
    this.safeEmit('stalled', { sinceMs: now - this.lastDataAt, peers: this.peers.size, unchokedWithPieces })
  }

  /** The download cannot finish: stop asking for blocks (what we hold is still served) and report it once. */
  private fail (err: Error): void {
    if (this.failure !== undefined || this.destroyed) return
    this.failure = err
    for (const p of this.peers) {
      for (const key of p.requests.giveUpAll(Date.now())) this.release(key)
    }
    this.safeEmit('failed', err)
    if (this.listenerCount('error') > 0) this.safeEmit('error', err)
  }

  /** Run `fn` for `peer`: whatever it throws closes that peer's link and nothing else. */
  private guard (peer: Peer, fn: () => void): void {
    try {
      fn()
    } catch (err) {
      peer.close(err instanceof Error ? err : new MalformedMessageError(String(err)))
    }
  }

  /** Listener bugs must not unwind into wire parsing (which would blame the peer) or the process. */
  private safeEmit<K extends keyof SwarmEvents> (event: K, ...args: SwarmEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: SwarmEvents[K]) => boolean)(event, ...args)
    } catch (err) {
      process.nextTick(() => { throw err })
    }
  }
}
