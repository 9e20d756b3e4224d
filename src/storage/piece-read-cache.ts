/**
 * Whole verified pieces recently read to serve requests, least recently used first out.
 *
 * Peers ask for a piece 16 KiB at a time, block after block. Reading each block on its own costs a
 * file system call through the libuv pool and a promise per block, 65,536 per GiB; a seeder spent
 * more time on that than on sending. Reading the piece once and serving its blocks from memory makes
 * it one read per piece. Only verified pieces are cached, and their bytes never change.
 */
export class PieceReadCache {
  private readonly entries = new Map<number, Promise<Buffer | undefined>>()
  private readonly sizes = new Map<number, number>()
  private bytes = 0

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
    this.bytes = 0
  }

  private forget (index: number, entry: Promise<Buffer | undefined>): void {
    if (this.entries.get(index) !== entry) return
    this.entries.delete(index)
    this.bytes -= this.sizes.get(index) ?? 0
    this.sizes.delete(index)
  }

  private evict (): void {
    for (const [index, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break
      this.forget(index, entry)
    }
  }
}
