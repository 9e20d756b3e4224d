/**
 * Whole verified pieces recently read to serve requests, least recently used first out.
 *
 * Peers ask for a piece 16 KiB at a time, block after block. Reading each block on its own costs a
 * file system call through the libuv pool and a promise per block, 65,536 per GiB; a seeder spent
 * more time on that than on sending. Reading the piece once and serving its blocks from memory makes
 * it one read per piece. Only verified pieces are cached, and their bytes never change.
 *
 * A piece read into a fresh buffer is as many bytes of memory outside V8's heap as the seeder sends,
 * and V8 paces its full collections by that: the seeder spent a fifth of its main thread collecting.
 * So an evicted piece's buffer is read into again, once none of the blocks it lent out is still to be
 * sent (lent-views.ts), and not before the next turn of the event loop: a caller that awaited the
 * piece before its eviction takes its view in a microtask, before that turn.
 */
import { track, viewsOutstanding } from './lent-views.js'

/** Evicted buffers kept for reuse at most: in number, and beyond the first, as a share of the cache's bytes (with 16 MiB pieces in the default 64 MiB, one). */
export const MAX_RETIRED = 16
export const MAX_RETIRED_SHARE = 1 / 4

export class PieceReadCache {
  private readonly entries = new Map<number, Promise<Buffer | undefined>>()
  private readonly sizes = new Map<number, number>()
  private readonly loaded = new Map<number, Buffer>()
  private bytes = 0
  /** Evicted this turn. */
  private cooling: Buffer[] = []
  private coolingScheduled = false
  /** Evicted before this turn: reusable once none of their views is outstanding. */
  private retired: Buffer[] = []

  constructor (readonly maxBytes: number) {}

  /** Whether a piece of this size is worth caching at all. */
  fits (size: number): boolean {
    return size <= this.maxBytes
  }

  /**
   * The piece from the cache, or read by `load` (concurrent callers share one read). A load that
   * resolves undefined or fails is not kept: the caller falls back to reading the block itself.
   */
  get (index: number, size: number, load: () => Promise<Buffer | undefined>): Promise<Buffer | undefined> {
    const hit = this.entries.get(index)
    if (hit !== undefined) {
      this.entries.delete(index)
      this.entries.set(index, hit)
      return hit
    }
    const loading = load().then(piece => {
      if (piece === undefined) this.forget(index, loading)
      else if (this.entries.get(index) === loading) this.loaded.set(index, piece)
      // Evicted while it was read: its readers take their views now, in microtasks, before it may be reused.
      else this.retire(piece)
      return piece
    }, () => {
      this.forget(index, loading)
      return undefined
    })
    this.entries.set(index, loading)
    this.sizes.set(index, size)
    this.bytes += size
    this.evict()
    return loading
  }

  delete (index: number): void {
    const entry = this.entries.get(index)
    if (entry !== undefined) this.forget(index, entry)
  }

  clear (): void {
    this.entries.clear()
    this.sizes.clear()
    this.loaded.clear()
    this.bytes = 0
    this.cooling = []
    this.retired = []
  }

  /** A buffer of `size` bytes for a piece to be read into: an evicted one if one is free, its views counted from now on. */
  buffer (size: number): Buffer {
    const i = this.retired.findIndex(b => b.length === size && viewsOutstanding(b) === 0)
    const buf = i >= 0 ? this.retired.splice(i, 1)[0]! : Buffer.allocUnsafeSlow(size)
    track(buf)
    return buf
  }

  /** Evicted buffers waiting to be read into again. */
  get spareCount (): number {
    return this.cooling.length + this.retired.length
  }

  private forget (index: number, entry: Promise<Buffer | undefined>): void {
    if (this.entries.get(index) !== entry) return
    this.entries.delete(index)
    this.bytes -= this.sizes.get(index) ?? 0
    this.sizes.delete(index)
    const buf = this.loaded.get(index)
    this.loaded.delete(index)
    if (buf !== undefined) this.retire(buf)
  }

  private retire (buf: Buffer): void {
    this.cooling.push(buf)
    if (this.coolingScheduled) return
    this.coolingScheduled = true
    setImmediate(() => {
      this.coolingScheduled = false
      this.retired.push(...this.cooling)
      this.cooling = []
      this.trimRetired()
    })
  }

  /**
   * Spare memory is bounded beside the cache's own. Those still lending views go first, oldest first
   * (some never get them all back: a cancelled request, a closed link), then the oldest free ones.
   */
  private trimRetired (): void {
    let bytes = this.retired.reduce((n, b) => n + b.length, 0)
    const over = (): boolean => this.retired.length > MAX_RETIRED || (this.retired.length > 1 && bytes > this.maxBytes * MAX_RETIRED_SHARE)
    for (let i = 0; i < this.retired.length && over();) {
      if (viewsOutstanding(this.retired[i]!) > 0) bytes -= this.retired.splice(i, 1)[0]!.length
      else i++
    }
    while (over()) bytes -= this.retired.shift()!.length
  }

  private evict (): void {
    for (const [index, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break
      this.forget(index, entry)
    }
  }
}
