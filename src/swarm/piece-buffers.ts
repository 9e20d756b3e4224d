/**
 * The buffers of pieces being downloaded, reused once a piece is on disk.
 *
 * A leecher fills one piece-length buffer per piece, so without reuse it allocates as many bytes as it
 * downloads. Those buffers live outside V8's heap, and V8 paces its full collections by how much such
 * memory is allocated: every GiB downloaded cost a GiB of it, and a run of mark-compacts with it. A
 * piece's buffer comes back here only after its bytes verified and reached the store (PieceStore
 * keeps nothing of what it is given once writePiece settles); a piece that failed, or was dropped part
 * way, keeps its buffer to itself and the collector takes it.
 */

/** Buffers kept for reuse at most, and bytes at most: enough for the pieces a swarm completes between two of its writes. */
export const MAX_SPARE_PIECE_BUFFERS = 8
export const MAX_SPARE_PIECE_BYTES = 32 * 2 ** 20

export class PieceBuffers {
  private readonly spare: Buffer[] = []
  private spareBytes = 0

  /** A buffer of `length` bytes, its contents undefined. */
  take (length: number): Buffer {
    for (let i = this.spare.length - 1; i >= 0; i--) {
      const buf = this.spare[i]!
      if (buf.length !== length) continue
      this.spare.splice(i, 1)
      this.spareBytes -= length
      return buf
    }
    return Buffer.allocUnsafe(length)
  }

  /** A buffer nobody reads or writes any more. */
  give (buf: Buffer): void {
    if (this.spare.length >= MAX_SPARE_PIECE_BUFFERS || this.spareBytes + buf.length > MAX_SPARE_PIECE_BYTES) return
    this.spare.push(buf)
    this.spareBytes += buf.length
  }

  /** Buffers held for reuse. */
  get spareCount (): number {
    return this.spare.length
  }
}
