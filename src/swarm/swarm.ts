/**
 * The swarm engine: downloads and seeds one torrent over the PeerLinks the connection layer hands
 * it. It never sees sockets or TLS; it trusts nothing a peer sends (every index, offset and length
 * is checked against the torrent before use) and nothing it downloads (PieceStore.writePiece
 * verifies each piece before a byte reaches disk).
 *
 * This file wires the parts: each peer's lifecycle (handshake, activation, close), what peers have
 * (peer-pieces.ts), bans, and the tick; downloading is downloader.ts, seeding and choking uploader.ts,
 * a magnet link's metadata magnet-source.ts. They share the context of swarm-context.ts.
 *
 * Containment: every wire event runs under `guard`, so a peer that sends something we cannot
 * handle only closes its own link, with a typed error.
 */
import { EventEmitter } from 'node:events'
import type { PieceStore } from '../storage/piece-store.js'
import type { Metainfo } from '../torrent/metainfo.js'
import type { PeerLink, RemoteHandshake, TransportKind } from '../wire/peer-link.js'
import { InfohashMismatchError, MalformedMessageError } from '../errors.js'
import { DEFAULT_MAX_METADATA_SIZE, UtMetadata, type UtMetadataHost } from '../wire/ut-metadata.js'
import { useExtension } from '../wire/wire-extension.js'
import { BanList } from './ban-list.js'
import { RedundantDials } from './redundant-dials.js'
import { Downloader } from './downloader.js'
import { keepsNewLink } from './duplicate-link.js'
import { BadPeerError, DuplicateLinkError, SelfConnectionError, SwarmDestroyedError } from './errors.js'
import { MagnetSource, metadataHost } from './magnet-source.js'
import { HashExchange } from './hash-exchange.js'
import { boundSendQueue, type SendQueueLimits } from './send-queue.js'
import type { SendBudget } from './send-budget.js'
import { Peer } from './peer.js'
import { defaultPeerId } from './peer-id.js'
import type { PieceAnnouncement } from './peer-pieces.js'
import { PiecePicker } from './piece-picker.js'
import type { PeerInfo } from './peer.js'
import type { SwarmEvents, SwarmMagnetSource, SwarmOptions, SwarmSource, SwarmStats, TransportStats } from './swarm-api.js'
import { type LoadedTorrent, type SwarmContext, type SwarmCounters } from './swarm-context.js'
import { Uploader } from './uploader.js'
import { WireEvents } from './wire-events.js'

export type { PeerInfo } from './peer.js'
export type {
  StallInfo, SwarmEvents, SwarmMagnetSource, SwarmOptions, SwarmSource, SwarmStats, SwarmTorrentSource, TransportStats
} from './swarm-api.js'

const KEEP_ALIVE_MS = 60_000

function isMagnet (source: SwarmSource): source is SwarmMagnetSource {
  return 'magnet' in source
}

function wireInfoHashesOf (t: { wireInfoHash: Buffer, infoHashV1?: Buffer, infoHashV2?: Buffer }): Buffer[] {
  const forms = [t.wireInfoHash, t.infoHashV1, t.infoHashV2?.subarray(0, 20)].filter((h): h is Buffer => h !== undefined)
  return forms.filter((h, i) => forms.findIndex(o => o.equals(h)) === i).map(h => Buffer.from(h))
}

export class Swarm extends EventEmitter<SwarmEvents> {
  readonly peerId: Buffer
  readonly infoHash: Buffer
  /**
   * Every 20-byte infohash a handshake for this torrent may carry: a hybrid torrent is reached by its
   * v1 infohash and by its truncated v2 infohash (BEP 52). A link names the one its peer uses.
   */
  readonly wireInfoHashes: readonly Buffer[]
  /** Known once the metadata is (a magnet link's before its storage opens). */
  private metainfoValue: Metainfo | undefined
  /** Metainfo, storage and picker, once all three are known. */
  private torrent: LoadedTorrent | undefined
  private readonly ownsStore: boolean
  private readonly magnet: MagnetSource | undefined

  private readonly requestTimeoutMs: number
  private readonly maxMetadataSize: number
  private readonly closeSeedLinks: boolean
  private readonly sendQueue: SendQueueLimits
  private readonly sendBudget: SendBudget | undefined

  private readonly peers = new Set<Peer>()
  /** Listens to every peer's wire (wire-events.ts). */
  private readonly wireEvents: WireEvents
  /** Serves and fetches metadata for every peer (BEP 9). */
  private readonly metadataHost: UtMetadataHost
  private readonly bans = new BanList()
  private readonly redundantDials = new RedundantDials(() => this.peers)
  private readonly downloader: Downloader
  private readonly uploader: Uploader
  /** BEP 52 hash messages: serving hashes, fetching a v2 magnet's layers and a failed piece's block hashes (hash-exchange.ts). */
  private readonly hashes: HashExchange
  private readonly timer: NodeJS.Timeout
  private lastKeepAlive = Date.now()
  private destroyed = false
  private failure: Error | undefined
  private readonly counters: SwarmCounters = {
    downloaded: 0,
    uploaded: 0,
    wasted: 0,
    hashFailures: 0,
    transports: { tls: { downloaded: 0, uploaded: 0 }, plain: { downloaded: 0, uploaded: 0 }, mse: { downloaded: 0, uploaded: 0 } }
  }

  constructor (source: SwarmSource, options: SwarmOptions = {}) {
    super()
    this.peerId = options.peerId !== undefined ? Buffer.from(options.peerId) : defaultPeerId()
    if (this.peerId.length !== 20) throw new RangeError('peerId must be 20 bytes')
    this.requestTimeoutMs = options.requestTimeoutMs ?? 20_000
    const peerTimeoutMs = options.peerTimeoutMs ?? 60_000
    const stallTimeoutMs = options.stallTimeoutMs ?? 20_000
    this.maxMetadataSize = options.maxMetadataSize ?? DEFAULT_MAX_METADATA_SIZE
    this.closeSeedLinks = options.closeSeedLinks ?? true
    this.sendQueue = options.sendQueue ?? {}
    this.sendBudget = options.sendBudget
    const context: SwarmContext = {
      peers: this.peers,
      counters: this.counters,
      torrent: () => this.torrent,
      destroyed: () => this.destroyed,
      failure: () => this.failure,
      guard: (peer, fn) => this.guard(peer, fn),
      emit: (event, ...args) => this.safeEmit(event, ...args),
      ban: (peer, err) => this.ban(peer, err),
      fail: err => this.fail(err),
      completed: () => this.onComplete()
    }
    this.hashes = new HashExchange(context, now => this.downloader.progressed(now), (index, leaves) => this.downloader.blockHashesArrived(index, leaves))
    this.downloader = new Downloader(context, {
      pipelineDepth: options.pipelineDepth ?? 128, requestTimeoutMs: this.requestTimeoutMs, peerTimeoutMs, stallTimeoutMs, rateLimit: options.rateLimits?.download, blockHashes: this.hashes
    })
    this.uploader = new Uploader(context, {
      uploadSlots: options.uploadSlots ?? 8, chokeIntervalMs: options.chokeIntervalMs ?? 10_000, maxQueuedRequests: options.maxQueuedRequests ?? 512, rateLimit: options.rateLimits?.upload
    })

    this.wireEvents = new WireEvents({
      downloader: this.downloader,
      uploader: this.uploader,
      guard: (peer, fn) => this.guard(peer, fn),
      announced: (peer, message) => this.onAnnouncement(peer, message),
      listensBanned: peer => peer.listenPorts().some(port => this.isBanned(peer.link.remoteAddress, port)),
      unknownMessage: (peer, message) => this.hashes.onMessage(peer, message, this.metainfoValue)
    })
    if (isMagnet(source)) {
      this.infoHash = Buffer.from(source.magnet.wireInfoHash)
      this.wireInfoHashes = wireInfoHashesOf(source.magnet)
      this.ownsStore = true
      this.magnet = new MagnetSource(source, this.infoHash, context, {
        verified: metainfo => this.metadataVerified(metainfo),
        prepared: metainfo => this.hashes.withPieceLayers(metainfo),
        opened: (metainfo, store) => this.storeOpened(metainfo, store)
      })
    } else {
      this.infoHash = Buffer.from(source.metainfo.wireInfoHash)
      this.wireInfoHashes = wireInfoHashesOf(source.metainfo)
      this.ownsStore = false
      this.init(source.metainfo, source.store)
    }
    this.metadataHost = metadataHost(wire => this.wireEvents.peerOf(wire), this.maxMetadataSize, () => this.metainfoValue?.infoBytes, this.magnet, this.guard.bind(this))
    // The tick drives timeouts, choking and keep-alives; it must never keep the process alive.
    const tickMs = Math.max(50, Math.min(1000, Math.floor(Math.min(this.requestTimeoutMs, peerTimeoutMs, stallTimeoutMs) / 4)))
    this.timer = setInterval(() => this.tick(), tickMs)
    this.timer.unref()
  }

  get metainfo (): Metainfo | undefined {
    return this.metainfoValue
  }

  get complete (): boolean {
    return this.torrent?.picker.complete ?? false
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
    boundSendQueue(link, this.sendQueue, err => queueMicrotask(() => peer.close(err)), this.sendBudget)
    void link.closed.then(err => this.onClosed(peer, err)) // it never rejects
    this.emit('peer', peer.info)
    this.guard(peer, () => {
      if (!this.wireInfoHashes.some(h => h.equals(link.infoHash))) {
        throw new InfohashMismatchError('link was established for another torrent')
      }
      if (link.direction === 'outbound' && this.isBanned(link.remoteAddress, link.remotePort)) {
        throw new BadPeerError(`${link.remoteAddress}:${link.remotePort} is banned for sending bad data`)
      }
      this.wireEvents.attach(peer)
      // Registered before our handshake, which carries the extended handshake's "m" dictionary.
      useExtension(peer.wire, UtMetadata, this.metadataHost)
      peer.wire.handshake(link.infoHash, this.peerId, { dht: false, fast: true, extended: true })
      // A bttls responder speaks first and its peer is already authenticated: announcing our pieces and
      // offering a slot now, not after the peer's handshake, saves the round trip the BEP counts on.
      if (link.transport === 'tls' && link.direction === 'inbound') this.uploader.announceEarly(peer)
    })
    link.remoteHandshake.then(
      hs => this.guard(peer, () => this.onHandshake(peer, hs)),
      err => peer.close(err as Error)
    )
  }

  /**
   * Holds our requests on `link`, or releases them (and asks at once). The session holds them while it
   * replaces a legacy link with TLS, so that no payload crosses the weaker transport meanwhile, and
   * releases them if the TLS dial fails and the legacy link stays.
   */
  holdRequests (link: PeerLink, held: boolean): void {
    for (const peer of this.peers) {
      if (peer.link !== link) continue
      peer.requestsHeld = held
      if (!held) this.guard(peer, () => this.downloader.fill(peer))
    }
  }

  stats (): SwarmStats {
    const transports = {} as Record<TransportKind, TransportStats>
    for (const kind of ['tls', 'plain', 'mse'] as const) {
      transports[kind] = { peers: 0, ...this.counters.transports[kind] }
    }
    let outstandingRequests = 0
    for (const p of this.peers) {
      transports[p.link.transport].peers++
      outstandingRequests += p.requests.size
    }
    const { downloaded, uploaded, wasted, hashFailures } = this.counters
    return {
      outstandingRequests,
      blocksInFlight: this.downloader.blocksInFlight(),
      downloaded,
      uploaded,
      wasted,
      hashFailures,
      piecesDone: this.torrent?.picker.doneCount ?? 0,
      piecesTotal: this.torrent?.picker.pieceCount ?? 0,
      peers: this.peers.size,
      transports,
      stalled: this.downloader.stalled,
      hashRequests: this.hashes.stats,
      pieceScans: this.torrent?.picker.scans ?? 0,
      activePieces: this.downloader.activePieces(),
      activePieceBytes: this.downloader.activePieceBytes()
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
    this.downloader.clear()
    this.safeEmit('destroyed')
    if (this.ownsStore && this.torrent !== undefined) await this.torrent.store.close()
  }

  /** Whether the peer at this endpoint was banned (dialers skip it; a link to it is closed). */
  isBanned (address: string, port: number): boolean {
    return this.bans.hasEndpoint(address, port)
  }

  /** Whether a dial to this endpoint would only make a link to drop (linked already, or a seed let go). */
  needsNoDial (address: string, port: number): boolean {
    return this.redundantDials.redundant(address, port, this.complete)
  }

  // --- peer lifecycle ---

  private onHandshake (peer: Peer, hs: RemoteHandshake): void {
    if (peer.closed) return
    if (!Buffer.from(hs.infoHash).equals(peer.link.infoHash)) {
      throw new InfohashMismatchError('peer handshake names another infohash than the one its link was established for')
    }
    if (Buffer.from(hs.peerId).equals(this.peerId)) throw new SelfConnectionError('the peer is this client itself')
    peer.id = Buffer.from(hs.peerId).toString('hex')
    if (this.downloader.isBanned(peer.id) || this.bans.hasId(peer.id)) throw new BadPeerError('peer is banned for sending bad data')
    const twin = [...this.peers].find(p => p !== peer && !p.closed && p.id === peer.id)
    if (twin !== undefined) {
      const err = new DuplicateLinkError(`already connected to peer ${peer.id.slice(0, 16)}… (${twin.link.remoteAddress}:${twin.link.remotePort})`)
      if (!keepsNewLink(this.peerId, twin, peer)) throw err
      twin.close(err)
    }
    peer.phase = 'ready'
    if (this.torrent !== undefined) {
      this.activate(peer)
    } else {
      // BEP 6: with fast, something must state our pieces first; without it, silence means none.
      if (peer.wire.hasFast) peer.wire.haveNone()
      peer.sentInitialPieces = true
      if (peer.metadataOffer !== undefined) this.magnet?.offer(peer, peer.metadataOffer)
      this.hashes.offer(peer)
    }
  }

  /** Metadata and handshake both known: adopt the peer's announcements and announce ours. */
  private activate (peer: Peer): void {
    const torrent = this.torrent
    if (torrent === undefined || peer.phase !== 'ready') return
    peer.phase = 'active'
    peer.lastBlockAt = Date.now()
    peer.pieces.attach(torrent.picker)
    this.uploader.announce(peer, torrent)
    if (this.dropIfBothSeeds(peer)) return
    this.downloader.updateInterest(peer)
    this.uploader.onInterest(peer)
    this.downloader.fill(peer)
  }

  private onClosed (peer: Peer, err: Error | undefined): void {
    if (peer.closed) return
    const wasActive = peer.phase === 'active'
    peer.phase = 'closed'
    this.peers.delete(peer)
    this.downloader.peerClosed(peer)
    if (wasActive) peer.pieces.detach()
    this.magnet?.remove(peer)
    this.hashes.remove(peer)
    this.safeEmit('peer-closed', peer.info, peer.closeError ?? err)
    if (!this.destroyed) {
      this.downloader.fillAll()
      if (!peer.wire.amChoking) this.uploader.rechoke(false)
    }
  }

  /** A bitfield, have or have-all: held until the peer is active, then applied, and acted on if it changed. */
  private onAnnouncement (peer: Peer, message: PieceAnnouncement): void {
    if (!peer.pieces.apply(message)) return
    if (this.dropIfBothSeeds(peer)) return
    this.downloader.onAnnouncement(peer, message)
  }

  private dropIfBothSeeds (peer: Peer): boolean {
    if (!this.closeSeedLinks || !this.complete || !peer.isSeed) return false
    this.redundantDials.letGoOfSeed(peer)
    peer.close()
    return true
  }

  /** Every piece verified: say so, and let go of peers that need nothing from us either. */
  private onComplete (): void {
    this.safeEmit('complete')
    for (const p of [...this.peers]) if (p.phase === 'active') this.dropIfBothSeeds(p)
  }

  private ban (peer: Peer, err: Error = new BadPeerError(`peer ${peer.id} sent data that failed verification`)): void {
    this.bans.ban(peer.id, peer.link.remoteAddress, peer.listenPorts())
    this.safeEmit('peer-banned', peer.info, err)
    peer.close(err)
  }

  // --- a magnet link's metadata (magnet-source.ts) ---

  /** Verified: the swarm knows (and serves) the metadata from now on; the magnet source opens the storage. */
  private metadataVerified (metainfo: Metainfo): void {
    this.downloader.progressed(Date.now())
    this.metainfoValue = metainfo
    this.safeEmit('metadata', metainfo)
  }

  /** The storage is open: activate the peers that waited for the metadata. */
  private storeOpened (metainfo: Metainfo, store: PieceStore): void {
    this.init(metainfo, store)
    for (const p of [...this.peers]) {
      if (p.phase === 'ready') this.guard(p, () => this.activate(p))
    }
    if (this.complete) this.safeEmit('complete')
  }

  private init (metainfo: Metainfo, store: PieceStore): void {
    this.metainfoValue = metainfo
    this.torrent = { metainfo, store, picker: new PiecePicker(metainfo.pieceCount, store.have) }
  }

  // --- housekeeping ---

  private tick (): void {
    if (this.destroyed) return
    const now = Date.now()
    this.downloader.tick(now)
    this.magnet?.tick(this.requestTimeoutMs)
    this.hashes.tick(this.requestTimeoutMs)
    this.uploader.tick(now)
    if (now - this.lastKeepAlive >= KEEP_ALIVE_MS) {
      this.lastKeepAlive = now
      for (const p of this.peers) this.guard(p, () => (p.wire as unknown as { keepAlive: () => void }).keepAlive())
    }
  }

  /** The download cannot finish: stop asking for blocks (what we hold is still served) and report it once. */
  private fail (err: Error): void {
    if (this.failure !== undefined || this.destroyed) return
    this.failure = err
    this.downloader.giveUpAll()
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
