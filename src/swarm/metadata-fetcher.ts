/**
 * Fetching the info dict over BEP 9 for a magnet link. One peer at a time supplies the whole
 * dict: metadata is small, and a single source makes a bad copy attributable to exactly one peer
 * (which the swarm then closes) instead of a guessing game over mixed pieces. A peer that rejects
 * or stalls is set aside for a while and the next one is asked.
 */
import { metadataPieceCount } from '../wire/ut-metadata.js'

/** A peer that rejected or stalled is asked again only after this long. */
const RETRY_AFTER_MS = 5_000

interface Attempt<S> {
  readonly source: S
  readonly size: number
  readonly pieces: Array<Uint8Array | undefined>
  received: number
  lastProgress: number
}

export class MetadataFetcher<S> {
  private readonly offers = new Map<S, { size: number, retryAt: number }>()
  private current: Attempt<S> | undefined
  private finished = false

  constructor (
    private readonly send: (source: S, piece: number) => void,
    private readonly now: () => number = Date.now
  ) {}

  get done (): boolean {
    return this.finished
  }

  /** The source now being asked, if any. */
  get source (): S | undefined {
    return this.current?.source
  }

  offer (source: S, size: number): void {
    if (this.finished) return
    this.offers.set(source, { size, retryAt: 0 })
    this.startNext()
  }

  remove (source: S): void {
    this.offers.delete(source)
    if (this.current?.source === source) {
      this.current = undefined
      this.startNext()
    }
  }

  /** Returns the whole dict when this piece completes it; the caller verifies it. */
  data (source: S, piece: number, totalSize: number, data: Uint8Array): Buffer | undefined {
    const a = this.current
    // Late data from a peer we moved away from, or a size the peer did not advertise: not ours.
    if (this.finished || a === undefined || a.source !== source || totalSize !== a.size) return undefined
    if (a.pieces[piece] !== undefined || piece >= a.pieces.length) return undefined
    a.pieces[piece] = Buffer.from(data)
    a.received++
    a.lastProgress = this.now()
    if (a.received < a.pieces.length) return undefined
    return Buffer.concat(a.pieces as Uint8Array[], a.size)
  }

  /** The assembled dict verified: stop fetching. */
  succeeded (): void {
    this.finished = true
    this.current = undefined
    this.offers.clear()
  }

  /** The dict from `source` failed verification: never ask it again. */
  mismatch (source: S): void {
    this.remove(source)
  }

  reject (source: S): void {
    this.setAside(source)
  }

  /** Set aside a source that has not delivered for `timeoutMs`. */
  tick (timeoutMs: number): void {
    const a = this.current
    if (a !== undefined && this.now() - a.lastProgress > timeoutMs) this.setAside(a.source)
    else if (a === undefined) this.startNext()
  }

  private setAside (source: S): void {
    const offer = this.offers.get(source)
    if (offer !== undefined) offer.retryAt = this.now() + RETRY_AFTER_MS
    if (this.current?.source === source) {
      this.current = undefined
      this.startNext()
    }
  }

  private startNext (): void {
    if (this.finished || this.current !== undefined) return
    const now = this.now()
    for (const [source, offer] of this.offers) {
      if (offer.retryAt > now) continue
      const count = metadataPieceCount(offer.size)
      this.current = { source, size: offer.size, pieces: new Array(count).fill(undefined), received: 0, lastProgress: now }
      for (let p = 0; p < count; p++) this.send(source, p)
      return
    }
  }
}
