/**
 * The upload side of the swarm: announcing our pieces to a peer, serving its requests (each checked
 * against the torrent and against what we announced), and choking: free slots are filled as peers
 * become interested, and a periodic round re-ranks everyone (choker.ts).
 */
import { MalformedMessageError } from '../errors.js'
import { BLOCK_SIZE } from './active-piece.js'
import { Bitfield } from './bitfield.js'
import { Choker } from './choker.js'
import type { Peer } from './peer.js'
import type { PiecePicker } from './piece-picker.js'
import type { LoadedTorrent, SwarmContext } from './swarm-context.js'
import { isStillRequested, type RateLimiter } from './rate-limiter.js'

/**
 * Largest block we serve. BEP 3: "All current implementations use 2^14 (16 kiB), and close
 * connections which request an amount greater than that." Every client we interoperate with
 * requests 16 KiB, and a larger cap would let one queued request pin 8x more of our memory.
 */
export const MAX_REQUEST_LENGTH = BLOCK_SIZE

/** Requests for pieces we never announced that we tolerate before closing the link. */
const MAX_UNAVAILABLE_REQUESTS = 64

export interface UploaderOptions {
  readonly uploadSlots: number
  readonly chokeIntervalMs: number
  readonly maxQueuedRequests: number
  /** --max-upload-rate: the session's upload bucket. */
  readonly rateLimit?: RateLimiter | undefined
}

export class Uploader {
  private readonly choker: Choker<Peer>
  private lastChoke = Date.now()

  constructor (private readonly ctx: SwarmContext, private readonly options: UploaderOptions) {
    this.choker = new Choker(options.uploadSlots)
  }

  /**
   * Our bitfield (a plain bitfield: whether the peer has BEP 6 is not known before its handshake) and,
   * if a slot is free, an unchoke, sent right after our handshake.
   */
  announceEarly (peer: Peer): void {
    const picker = this.ctx.torrent()?.picker
    if (picker === undefined || picker.doneCount === 0) return
    const bits = this.ourPieces(picker)
    peer.wire.bitfield(bits.bytes)
    peer.sentInitialPieces = true
    peer.announcedEarly = bits
    if (this.unchokedCount() < this.options.uploadSlots) peer.wire.unchoke()
  }

  /** Our pieces, to a peer that has just become active: whatever it has not been told yet. */
  announce (peer: Peer, { picker, store }: LoadedTorrent): void {
    const w = peer.wire
    if (peer.announcedEarly !== undefined) {
      // Pieces finished between the early bitfield and now.
      for (const i of store.have) if (!peer.announcedEarly.get(i)) w.have(i)
      peer.announcedEarly = undefined
    } else if (!peer.sentInitialPieces) {
      peer.sentInitialPieces = true
      if (picker.complete && w.hasFast) w.haveAll()
      else if (picker.doneCount === 0 && w.hasFast) w.haveNone()
      else if (picker.doneCount > 0) w.bitfield(this.ourPieces(picker).bytes)
    } else if (picker.complete && w.hasFast) {
      w.haveAll()
    } else {
      for (const i of store.have) w.have(i)
    }
  }

  onRequest (peer: Peer, index: number, offset: number, length: number, respond: (err: Error | null, buf?: Uint8Array) => void): void {
    const torrent = this.ctx.torrent()
    if (torrent === undefined) {
      respond(new Error('no metadata yet'))
      return
    }
    const { store, metainfo: meta } = torrent
    if (index >= meta.pieceCount || length === 0 || length > MAX_REQUEST_LENGTH || offset + length > meta.pieceSize(index)) {
      throw new MalformedMessageError(`request ${index}:${offset}+${length} is outside the torrent or over 16 KiB`)
    }
    if (!store.have.has(index)) {
      if (++peer.unavailableRequests > MAX_UNAVAILABLE_REQUESTS) throw new MalformedMessageError('requests for pieces we never announced')
      respond(new Error('piece not available'))
      return
    }
    if (peer.wire.peerRequests.length > this.options.maxQueuedRequests) {
      respond(new Error('request queue full'))
      return
    }
    const serve = (): void => {
      store.readBlock(index, offset, length).then(
        buf => this.ctx.guard(peer, () => respond(null, buf)),
        err => this.ctx.guard(peer, () => respond(err as Error))
      )
    }
    const limiter = this.options.rateLimit
    if (limiter === undefined) serve()
    // Under --max-upload-rate the block is read once its turn comes, and only if still wanted.
    else limiter.take(length, () => { if (peer.closed || !isStillRequested(peer.wire, index, offset, length)) return false; serve(); return true })
  }

  /** Payload the wire sent to the peer. */
  onUpload (peer: Peer, length: number): void {
    peer.uploaded += length
    peer.roundUploaded += length
    this.ctx.counters.uploaded += length
    this.ctx.counters.transports[peer.link.transport].uploaded += length
  }

  onInterest (peer: Peer): void {
    const w = peer.wire
    if (this.ctx.torrent() === undefined || peer.phase !== 'active') return
    if (!w.peerInterested) {
      if (!w.amChoking) {
        w.choke()
        this.rechoke(false)
      }
      return
    }
    if (!w.amChoking) return
    if (this.unchokedCount() < this.options.uploadSlots) w.unchoke()
  }

  /** On the swarm's tick: a full choke round every choke interval. */
  tick (now: number): void {
    if (now - this.lastChoke < this.options.chokeIntervalMs) return
    this.lastChoke = now
    this.rechoke(true)
  }

  /** Periodic (full) rounds re-rank everyone; otherwise only free slots are filled. */
  rechoke (full: boolean): void {
    const torrent = this.ctx.torrent()
    if (torrent === undefined) return
    const candidates = [...this.ctx.peers].filter(p => p.phase === 'active')
    if (!full) {
      for (const p of candidates) this.ctx.guard(p, () => this.onInterest(p))
      return
    }
    const seeding = torrent.picker.complete
    const unchoke = this.choker.decide(candidates.map(p => ({
      key: p,
      interested: p.wire.peerInterested,
      rate: seeding ? p.roundUploaded : p.roundDownloaded
    })))
    for (const p of candidates) {
      p.roundDownloaded = 0
      p.roundUploaded = 0
      this.ctx.guard(p, () => {
        if (unchoke.has(p)) p.wire.unchoke()
        else p.wire.choke()
      })
    }
  }

  private unchokedCount (): number {
    let unchoked = 0
    for (const p of this.ctx.peers) if (!p.wire.amChoking) unchoked++
    return unchoked
  }

  private ourPieces (picker: PiecePicker): Bitfield {
    const bits = new Bitfield(picker.pieceCount)
    for (let i = 0; i < picker.pieceCount; i++) if (picker.isDone(i)) bits.set(i)
    return bits
  }
}
