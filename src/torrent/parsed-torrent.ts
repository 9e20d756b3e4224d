/**
 * What parseTorrent and metainfoFromInfoDict return: the Metainfo contract plus what storage needs to
 * verify pieces. Kept as a separate type so the contract in metainfo.ts stays small.
 */
import type { Metainfo, TorrentFile } from './metainfo.js'

export interface ParsedTorrent extends Metainfo {
  /**
   * True when the torrent is one file stored as dir/name; false when name is a directory holding
   * `files` (even if it holds only one file).
   */
  readonly singleFile: boolean
  /** Bytes of real content (pad files and v2 implicit padding excluded): what a download transfers. */
  readonly contentLength: number
  /** v1/hybrid: `info.pieces`, 20 bytes of SHA-1 per piece. */
  readonly pieceHashesV1?: Buffer
  /**
   * v2/hybrid: the piece layer of every file longer than one piece, keyed by the file's pieces root
   * in hex, already checked against that root. Undefined when the torrent came from a magnet link
   * (BEP 9 transfers only the info dict).
   */
  readonly pieceLayers?: ReadonlyMap<string, Buffer>
  /** Strict secret mode: the secret from the file's top-level `bttls secret` (never in the info dict). */
  readonly strictSecret?: Buffer
  /** The file's top-level `comment` (free text, outside the info dict), if it is UTF-8. */
  readonly comment?: string
}

export function isParsedTorrent (m: Metainfo): m is ParsedTorrent {
  return typeof (m as Partial<ParsedTorrent>).singleFile === 'boolean'
}

/** SHA-1 of piece `index` of a v1 or hybrid torrent. */
export function pieceHashV1 (t: ParsedTorrent, index: number): Buffer | undefined {
  return t.pieceHashesV1?.subarray(index * 20, index * 20 + 20)
}

/**
 * Index in `files` of the one real file a piece belongs to in a v2 or hybrid torrent (every file starts
 * on a piece boundary there), or -1. Binary search: files are in piece-space order.
 */
export function fileIndexAtPiece (files: readonly TorrentFile[], pieceLength: number, index: number): number {
  const offset = index * pieceLength
  let lo = 0
  let hi = files.length - 1
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    if (files[mid]!.offset <= offset) {
      found = mid
      lo = mid + 1
    } else {
      hi = mid - 1
    }
  }
  // Empty files share their offset with the next file; step back to the one that holds bytes.
  while (found >= 0 && (files[found]!.length === 0 || files[found]!.pad)) {
    const f = files[found]!
    if (f.pad && offset >= f.offset && offset < f.offset + f.length) return -1
    found--
  }
  if (found < 0) return -1
  const f = files[found]!
  return offset < f.offset + f.length ? found : -1
}
