/**
 * The download side of the swarm: which blocks to ask which peer for (rarest first, then endgame
 * duplicates), what to do with a block that arrives, writing a finished piece (the store verifies it
 * first), blaming and avoiding the senders of a piece that fails, interest in peers, and the clocks
 * that notice a peer or the whole swarm delivering nothing.
 */
import { MalformedMessageError } from '../errors.js'
import { PieceHashMismatchError } from '../storage/errors.js'
import { ActivePiece, BLOCK_SIZE } from './active-piece.js'
import { BadPieces, type PieceLeaves } from './bad-pieces.js'
import { blockKey, keyBlock, keyIndex } from './block-requests.js'
import { PieceBuffers } from './piece-buffers.js'
import { BadPeerError, PeerTimeoutError, RequestsRejectedError } from './errors.js'
import type { Peer } from './peer.js'
import type { PieceAnnouncement } from './peer-pieces.js'
import type { PiecePicker } from './piece-picker.js'
import { RefetchSources } from './refetch-sources.js'
import { ScanMemory } from './scan-memory.js'
import { noop, type SwarmContext } from './swarm-context.js'
import type { RateLimiter } from './rate-limiter.js'

export interface DownloaderOptions {
  readonly pipelineDepth: number
  readonly requestTimeoutMs: number
  readonly peerTimeoutMs: number
  readonly stallTimeoutMs: number
  /** --max-download-rate: the session's download bucket. */
  readonly rateLimit?: RateLimiter | undefined
  /** Where a v2 piece that failed with blocks from several peers gets its block hashes (hash-exchange.ts). */
  readonly blockHashes?: BlockHashSource | undefined
}

/** Fetches the block hashes of failed pieces, and hands them to Downloader.blockHashesArrived. */
export interface BlockHashSource {
  want (index: number, contributors: readonly Peer[]): void
  forget (index: number): void
}

/**
 * A peer that unchokes us is closed (RequestsRejectedError) once it has rejected this many pipelines'
 * worth of requests (pipelineDepth each) since its last block. An honest peer rejects what was queued
 * when it chokes us (not counted: it chokes first), at its request-queue limit, or a piece it cannot
 * read, and serves the rest; one that serves nothing would cost us a piece picked per reject for ever.
 */
export const MAX_REJECTED_PIPELINES = 4


export class Downloader {
  private readonly active = new Map<number, ActivePiece<Peer>>()
  private readonly buffers = new PieceBuffers()
  private readonly badPieces = new BadPieces<Peer>(p => p.id)
  /** Who may be asked for the pieces that failed verification. */
  private readonly refetch = new RefetchSources(() => this.ctx.peers, id => this.badPieces.isBanned(id))
  /** Peers whose last full scan found nothing to start, and what they may start since (pickFor). */
  private readonly scans = new ScanMemory<Peer>()
  /** Last block from any peer (or the start): the stall clock. */
  private lastDataAt = Date.now()
  private stalledValue = false
  /** A wake-up is queued at the download limiter (one per swarm). */
  private awaitingTokens = false

  constructor (private readonly ctx: SwarmContext, private readonly options: DownloaderOptions) {}

  get stalled (): boolean {
    return this.stalledValue
  }

  /** Whether the peer id was banned for its share in pieces that failed. */
  isBanned (peerId: string): boolean {
    return this.badPieces.isBanned(peerId)
  }

  /** Pieces started and not yet handed to the store (SwarmStats.activePieces). */
  activePieces (): number {
    return this.active.size
  }

  /** Bytes the started pieces hold for their received blocks (SwarmStats.activePieceBytes). */
  activePieceBytes (): number {
    let n = 0
    for (const ap of this.active.values()) n += ap.bufferBytes
    return n
  }

  /** Blocks requested, counted from the pieces' side (SwarmStats.blocksInFlight). */
  blocksInFlight (): number {
    let n = 0
    for (const ap of this.active.values()) for (const r of ap.requesters) n += r
    return n
  }

  /** Progress that is not a block (the metadata of a magnet link): restarts the stall clock. */
  progressed (now: number): void {
    this.lastDataAt = now
  }

  /** Stop: forget the pieces under way (destroy). */
  clear (): void {
    this.active.clear()
  }

  /** Its outstanding blocks go back to the pool at once, so the other peers pick them up now. */
  peerClosed (peer: Peer): void {
    for (const key of peer.requests.giveUpAll(Date.now())) this.release(key)
    this.refetch.peerClosed(peer)
  }

  /** The download failed for good: every outstanding request goes back. */
  giveUpAll (): void {
    for (const p of this.ctx.peers) {
      for (const key of p.requests.giveUpAll(Date.now())) this.release(key)
    }
  }

  /** What the peer has changed (PeerPieces.apply returned true): interest, then its pipeline. */
  onAnnouncement (peer: Peer, message: PieceAnnouncement): void {
    this.scans.announced(peer, message)
    this.updateInterest(peer)
    this.fill(peer)
  }

  updateInterest (peer: Peer): void {
    if (peer.pieces.need > 0) {
      // The peer timeout runs from the moment we want something of it.
      if (!peer.wire.amInterested) peer.lastBlockAt = Date.now()
      peer.wire.interested()
    } else {
      peer.wire.uninterested()
    }
  }

  onChoke (peer: Peer): void {
    // With BEP 6 the peer rejects what it will not serve; without it, a choke drops every request.
    if (peer.wire.hasFast) return
    for (const key of peer.requests.giveUpAll(Date.now())) this.release(key)
    this.fillAll()
  }

  onReject (peer: Peer, index: number, offset: number, _length: number): void {
    if (offset % BLOCK_SIZE !== 0) return
    const key = blockKey(index, offset / BLOCK_SIZE)
    if (!peer.requests.drop(key)) return
    this.release(key)
    // Rejected while unchoked: it will not serve that piece now, so asking again would loop.
    if (!peer.wire.peerChoking) {
      peer.refused.add(index)
      const bound = MAX_REJECTED_PIPELINES * this.options.pipelineDepth
      if (++peer.rejectsSinceBlock >= bound) {
        throw new RequestsRejectedError(`the peer unchoked us, then rejected ${peer.rejectsSinceBlock} requests without sending a block (bound ${bound})`)
      }
    }
    this.fillAll()
  }

  onBlock (peer: Peer, index: number, offset: number, block: Uint8Array): void {
    const torrent = this.ctx.torrent()
    if (torrent === undefined || peer.phase !== 'active') throw new MalformedMessageError('piece message before we requested anything')
    const n = torrent.picker.pieceCount
    if (index >= n || offset % BLOCK_SIZE !== 0) throw new MalformedMessageError(`piece message at ${index}:${offset} is off the block grid`)
    const b = offset / BLOCK_SIZE
    const size = torrent.metainfo.pieceSize(index)
    const expected = Math.min(BLOCK_SIZE, size - offset)
    if (expected <= 0 || block.length !== expected) throw new MalformedMessageError(`piece message ${index}:${offset} has ${block.length} bytes`)

    const key = blockKey(index, b)
    const arrival = peer.requests.take(key)
    if (arrival === 'unrequested') throw new MalformedMessageError(`piece ${index}:${offset} was never requested`)
    const now = Date.now()
    peer.lastProgress = now
    peer.lastBlockAt = now
    peer.snubbed = false
    peer.rejectsSinceBlock = 0
    if (peer.refused.size > 0) this.forgive(peer)
    this.lastDataAt = now
    if (this.stalledValue) {
      this.stalledValue = false
      this.ctx.emit('resumed')
    }
    const counters = this.ctx.counters
    if (this.ctx.failure() !== undefined) {
      counters.wasted += block.length
      return
    }
    // A block we gave up on may find its piece back in the pool (nobody else was asked): it starts the piece again.
    const ap = this.active.get(index) ?? (arrival === 'cancelled' ? this.restart(peer, index) : undefined)
    if (arrival === 'requested') ap?.release(b)
    if (ap === undefined || !ap.receive(b, block, peer)) {
      counters.wasted += block.length
      this.fill(peer)
      return
    }
    peer.downloaded += block.length
    peer.roundDownloaded += block.length
    counters.downloaded += block.length
    counters.transports[peer.link.transport].downloaded += block.length

    // Endgame duplicates of this block are now useless.
    if (ap.requesters[b]! > 0) {
      for (const other of this.ctx.peers) {
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

  fillAll (): void {
    for (const p of this.ctx.peers) {
      if (p.phase === 'active') this.ctx.guard(p, () => this.fill(p))
    }
  }

  /** Keep `peer`'s pipeline full: blocks of started pieces, then new rarest pieces; then one endgame duplicate. */
  fill (peer: Peer): void {
    const torrent = this.ctx.torrent()
    if (torrent === undefined || this.ctx.destroyed() || this.ctx.failure() !== undefined || peer.phase !== 'active' || peer.wire.peerChoking || peer.requestsHeld || torrent.picker.complete) return
    // Nothing of its we lack: picking would scan every piece for nothing, on each unchoke or reject it sends.
    if (peer.pieces.need === 0) return
    const picker = torrent.picker
    let room = Math.min((peer.snubbed ? 1 : Math.min(this.options.pipelineDepth, peer.requestQueueLimit)) - peer.requests.size, this.budget())
    if (room <= 0) return
    const now = Date.now()

    for (const ap of this.active.values()) {
      if (!this.mayAsk(peer, ap.index) || !this.refetch.mayTake(peer, ap.index)) continue
      for (let b = ap.nextFree(); b >= 0 && room > 0; b = ap.nextFree()) {
        this.send(peer, ap, b, now)
        room--
      }
      if (room === 0) return
    }

    while (room > 0) {
      const index = this.pickFor(peer, picker)
      if (index < 0) break
      const ap = this.start(index)
      for (let b = ap.nextFree(); b >= 0 && room > 0; b = ap.nextFree()) {
        this.send(peer, ap, b, now)
        room--
      }
    }
    // Endgame: nothing left that nobody was asked for, so a peer with nothing outstanding races a holder
    // for one block (libtorrent's rule). Filling its whole pipeline with duplicates fetched much of a
    // small torrent twice once the peers' pipelines together covered it: half of what a 32-peer
    // swarm delivered (bench/README.md, swarm-scale).
    if (peer.requests.size > 0) return
    for (const ap of this.active.values()) {
      if (!this.mayAsk(peer, ap.index) || !this.refetch.mayTake(peer, ap.index)) continue
      for (let b = 0; b < ap.blockCount; b++) {
        if (!ap.isRequested(b) || ap.requesters[b]! >= 2) continue
        this.send(peer, ap, b, now)
        return
      }
    }
  }

  /**
   * Peer and swarm clocks, on the swarm's tick: a peer we want data from that sends none is closed; one
   * whose requests stall is snubbed; no block from anyone for the stall timeout is a 'stalled' swarm.
   */
  tick (now: number): void {
    const torrent = this.ctx.torrent()
    const downloading = torrent !== undefined && !torrent.picker.complete && this.ctx.failure() === undefined
    for (const p of [...this.ctx.peers]) {
      if (p.phase !== 'active') continue
      if (downloading && p.wire.amInterested && now - p.lastBlockAt > this.options.peerTimeoutMs) {
        p.close(new PeerTimeoutError(`no block in ${Math.round((now - p.lastBlockAt) / 1000)} s from a peer we want data from ` +
          `(${p.wire.peerChoking ? 'it keeps us choked' : `${p.requests.size} requests unanswered`})`))
        continue
      }
      if (p.requests.size === 0 || now - p.lastProgress <= this.options.requestTimeoutMs) continue
      // Stalled: hand its blocks to the others; it keeps one request so it can prove itself again.
      this.ctx.guard(p, () => {
        p.snubbed = true
        for (const key of p.requests.giveUpAll(now)) {
          // Its length before the release, which may return the piece to the pool.
          const length = this.active.get(keyIndex(key))?.blockLength(keyBlock(key)) ?? BLOCK_SIZE
          this.release(key)
          p.wire.cancel(keyIndex(key), keyBlock(key) * BLOCK_SIZE, length)
        }
      })
      this.fillAll()
    }
    this.checkStall(now)
  }

  private checkStall (now: number): void {
    const complete = this.ctx.torrent()?.picker.complete ?? false
    if (this.stalledValue || complete || this.ctx.failure() !== undefined || now - this.lastDataAt < this.options.stallTimeoutMs) return
    this.stalledValue = true
    let unchokedWithPieces = 0
    for (const p of this.ctx.peers) if (p.phase === 'active' && !p.wire.peerChoking && p.pieces.need > 0) unchokedWithPieces++
    this.ctx.emit('stalled', { sinceMs: now - this.lastDataAt, peers: this.ctx.peers.size, unchokedWithPieces })
  }

  /** The next piece to start from `peer`, rarest first; -1 when there is none (scan-memory.ts spares the full scans). */
  private pickFor (peer: Peer, picker: PiecePicker): number {
    return this.scans.pick(peer, picker, i => peer.has(i), i => this.mayAsk(peer, i) && this.refetch.mayTake(peer, i), () => this.refetch.pieces())
  }

  /** It sent a block: what it rejected before may be asked of it again (a queue limit, a read it retried). */
  private forgive (peer: Peer): void {
    this.scans.add(peer, peer.refused)
    peer.refused.clear()
  }

  private mayAsk (peer: Peer, index: number): boolean {
    return peer.has(index) && !peer.refused.has(index) && this.refetch.mayAsk(peer, index)
  }

  private start (index: number): ActivePiece<Peer> {
    const { metainfo, picker } = this.ctx.torrent()!
    const ap = new ActivePiece<Peer>(index, metainfo.pieceSize(index), this.buffers)
    this.active.set(index, ap)
    picker.markActive(index)
    return ap
  }

  /** The piece of a late block, started again if it is in the pool and the sender may take it. */
  private restart (peer: Peer, index: number): ActivePiece<Peer> | undefined {
    if (!this.ctx.torrent()!.picker.isMissing(index) || !this.refetch.mayTake(peer, index)) return undefined
    this.refetch.claim(peer, index)
    return this.start(index)
  }

  /** Blocks we may request now under --max-download-rate; at 0, fill every pipeline again when tokens return. */
  private budget (): number {
    const limiter = this.options.rateLimit
    if (limiter === undefined) return Infinity
    const blocks = Math.floor(limiter.available() / BLOCK_SIZE)
    if (blocks === 0 && !this.awaitingTokens) {
      this.awaitingTokens = true
      limiter.whenAvailable(BLOCK_SIZE, () => { this.awaitingTokens = false; if (!this.ctx.destroyed()) this.fillAll() })
    }
    return blocks
  }

  private send (peer: Peer, ap: ActivePiece<Peer>, b: number, now: number): void {
    this.refetch.claim(peer, ap.index)
    const key = blockKey(ap.index, b)
    if (peer.requests.size === 0) peer.lastProgress = now
    peer.requests.add(key, now)
    ap.markRequested(b)
    this.options.rateLimit?.charge(ap.blockLength(b))
    peer.wire.request(ap.index, b * BLOCK_SIZE, ap.blockLength(b), noop)
  }

  /**
   * One requester gave up the block. A piece that is then asked of nobody, and of which nothing arrived,
   * goes back to the pool: a started piece costs memory and a place in every fill's loops, and one
   * that nobody serves (rejected, its peer gone) would otherwise stay started for ever.
   */
  private release (key: number): void {
    const ap = this.active.get(keyIndex(key))
    if (ap === undefined) return
    ap.release(keyBlock(key))
    if (!ap.idle) return
    this.active.delete(ap.index)
    this.refetch.released(ap.index)
    this.ctx.torrent()?.picker.markMissing(ap.index)
  }

  private async writePiece (ap: ActivePiece<Peer>): Promise<void> {
    const { store, picker } = this.ctx.torrent()!
    try {
      await store.writePiece(ap.index, ap.data)
    } catch (err) {
      if (this.ctx.destroyed()) return
      picker.markMissing(ap.index)
      if (!(err instanceof PieceHashMismatchError)) {
        // Not the peer's fault and not going away: fetching the piece again would fail the same way,
        // for ever (a read-only --out, a planted symlink). Stop and say so.
        this.ctx.fail(err as Error)
        return
      }
      this.onBadPiece(ap)
      this.fillAll()
      return
    }
    if (this.ctx.destroyed()) return
    picker.markDone(ap.index)
    this.options.blockHashes?.forget(ap.index)
    this.refetch.verified(ap.index)
    for (const bad of this.badPieces.success(ap.index, ap.data)) this.ctx.ban(bad)
    ap.recycle()
    this.ctx.emit('piece', ap.index)
    for (const p of this.ctx.peers) {
      if (p.phase !== 'active') continue
      this.ctx.guard(p, () => {
        if (p.pieces.completed(ap.index)) {
          if (p.pieces.need === 0) p.wire.uninterested()
        } else {
          p.wire.have(ap.index)
        }
      })
    }
    if (picker.complete) this.ctx.completed()
  }

  private onBadPiece (ap: ActivePiece<Peer>): void {
    this.ctx.counters.hashFailures++
    const verdict = this.badPieces.failure(ap.index, ap.data, ap.sources)
    this.refetch.failed(ap.index, verdict.contributors)
    this.ctx.emit('bad-piece', ap.index, verdict.contributors.map(p => p.info))
    for (const p of verdict.banned) this.ctx.ban(p)
    if (verdict.contributors.length > 1 && !verdict.byBlockHashes) this.options.blockHashes?.want(ap.index, verdict.contributors)
  }

  /** The verified block hashes of failed piece `index`: ban whoever sent a block that differs. */
  blockHashesArrived (index: number, leaves: PieceLeaves): void {
    for (const p of this.badPieces.blockHashes(index, leaves)) {
      this.ctx.ban(p, new BadPeerError(`peer ${p.id.slice(0, 16)}… sent a block of piece ${index} whose SHA-256 is not its BEP 52 block hash`))
    }
  }
}
