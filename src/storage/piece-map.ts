/**
 * Where the bytes of a piece live: piece space (see metainfo.ts) cut into per-file segments. A v1 piece
 * may span many files; a v2 or hybrid piece lies in one file (plus, in a hybrid, the pad file after it).
 */
import type { TorrentFile } from '../torrent/metainfo.js'

export interface Segment {
  /** Index into Metainfo.files. */
  readonly fileIndex: number
  /** Position of the segment within its file. */
  readonly fileOffset: number
  /** Position of the segment within the requested range. */
  readonly rangeOffset: number
  readonly length: number
  /** A BEP 47 pad file: zeros, never on disk. */
  readonly pad: boolean
}

export class PieceMap {
  /** Files that hold bytes, in piece-space order (empty files own no bytes). */
  private readonly spans: Array<{ index: number, start: number, end: number, pad: boolean }>

  constructor (files: readonly TorrentFile[], private readonly pieceLength: number) {
    this.spans = []
    files.forEach((f, index) => {
      if (f.length > 0) this.spans.push({ index, start: f.offset, end: f.offset + f.length, pad: f.pad })
    })
  }

  /** Segments covering bytes [offset, offset + length) of piece `index`. */
  segments (index: number, offset: number, length: number): Segment[] {
    const start = index * this.pieceLength + offset
    const end = start + length
    // First span that ends after `start`.
    let lo = 0
    let hi = this.spans.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.spans[mid]!.end <= start) lo = mid + 1
      else hi = mid
    }
    const out: Segment[] = []
    for (let i = lo; i < this.spans.length && this.spans[i]!.start < end; i++) {
      const s = this.spans[i]!
      const from = Math.max(start, s.start)
      const to = Math.min(end, s.end)
      out.push({ fileIndex: s.index, fileOffset: from - s.start, rangeOffset: from - start, length: to - from, pad: s.pad })
    }
    return out
  }
}
