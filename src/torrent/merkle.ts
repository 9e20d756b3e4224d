/**
 * BEP 52 merkle trees: SHA-256 over 16 KiB blocks of one file. Leaves past the end of the file are
 * 32 zero bytes (not the hash of a zero block), so a subtree made only of padding hashes to
 * padHash(height), never to anything computed from data.
 *
 * Two widths matter (checked against libtorrent 2.0.8, test/fixtures/torrent):
 * - a file longer than one piece: the piece layer has one hash per piece, each over exactly
 *   pieceLength / 16 KiB leaves (the last piece padded with zero leaves), and the root is the tree over
 *   the piece layer padded to a power of two with padHash(log2(leaves per piece));
 * - a file of at most one piece: no piece layer; the root is the tree over its own blocks padded only to
 *   the next power of two (so a one-block file's root is the hash of that block).
 */
import { createHash } from 'node:crypto'

export const BLOCK_SIZE = 16384
export const HASH_SIZE = 32

const padHashes: Buffer[] = [Buffer.alloc(HASH_SIZE)]

/** Root of a subtree of 2^height padding leaves. */
export function padHash (height: number): Buffer {
  while (padHashes.length <= height) {
    const below = padHashes[padHashes.length - 1]!
    padHashes.push(hashPair(below, below))
  }
  return padHashes[height]!
}

export function hashPair (left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(left).update(right).digest()
}

/** Smallest power of two >= n (n >= 1). */
export function nextPowerOfTwo (n: number): number {
  let p = 1
  while (p < n) p *= 2
  return p
}

/** log2 of a power of two. */
export function log2 (powerOfTwo: number): number {
  return Math.round(Math.log2(powerOfTwo))
}

/**
 * Root of a tree whose bottom layer is `nodes`, extended to `width` (a power of two >= nodes.length)
 * with `fill`, the root of a padding subtree of the same height as the nodes.
 */
export function merkleRoot (nodes: readonly Uint8Array[], width: number, fill: Uint8Array = padHash(0)): Buffer {
  if (nodes.length > width) throw new RangeError(`${nodes.length} nodes do not fit a tree of width ${width}`)
  let layer: Uint8Array[] = nodes.slice()
  let pad: Uint8Array = fill
  for (let w = width; w > 1; w /= 2) {
    const next: Uint8Array[] = []
    for (let i = 0; i < layer.length; i += 2) next.push(hashPair(layer[i]!, layer[i + 1] ?? pad))
    layer = next
    pad = hashPair(pad, pad)
  }
  return Buffer.from(layer[0] ?? pad)
}

/** SHA-256 of each 16 KiB block of `data` (the last one may be short). */
export function blockHashes (data: Uint8Array): Buffer[] {
  const hashes: Buffer[] = []
  for (let off = 0; off < data.length; off += BLOCK_SIZE) {
    hashes.push(createHash('sha256').update(data.subarray(off, Math.min(off + BLOCK_SIZE, data.length))).digest())
  }
  return hashes
}

/**
 * The hash that verifies one piece of a file: its piece-layer entry for a file longer than one piece
 * (`fileLength > pieceLength`), else the file's pieces root. `data` is the piece's bytes of that file only.
 */
export function pieceMerkleHash (data: Uint8Array, pieceLength: number, fileLength: number): Buffer {
  const leaves = blockHashes(data)
  const width = fileLength > pieceLength ? pieceLength / BLOCK_SIZE : nextPowerOfTwo(leaves.length)
  return merkleRoot(leaves, width)
}

/** Root of a file longer than one piece, from its piece layer. */
export function rootFromPieceLayer (layer: readonly Uint8Array[], pieceLength: number): Buffer {
  return merkleRoot(layer, nextPowerOfTwo(layer.length), padHash(log2(pieceLength / BLOCK_SIZE)))
}

/**
 * Streams one file's bytes into its BEP 52 hashes: feed it with update() in any chunking, then
 * digest() (call it once) gives the pieces root and the piece layer (empty unless the file is longer than a piece).
 */
export class FileMerkleHasher {
  private readonly leavesPerPiece: number
  private leaves: Buffer[] = []
  private readonly layer: Buffer[] = []
  private readonly partial = Buffer.allocUnsafe(BLOCK_SIZE)
  private partialLength = 0
  private length = 0

  constructor (private readonly pieceLength: number) {
    this.leavesPerPiece = pieceLength / BLOCK_SIZE
  }

  update (data: Uint8Array): void {
    this.length += data.length
    let off = 0
    if (this.partialLength > 0) {
      const take = Math.min(BLOCK_SIZE - this.partialLength, data.length)
      this.partial.set(data.subarray(0, take), this.partialLength)
      this.partialLength += take
      off = take
      if (this.partialLength === BLOCK_SIZE) {
        this.addLeaf(createHash('sha256').update(this.partial).digest())
        this.partialLength = 0
      }
    }
    for (; off + BLOCK_SIZE <= data.length; off += BLOCK_SIZE) {
      this.addLeaf(createHash('sha256').update(data.subarray(off, off + BLOCK_SIZE)).digest())
    }
    if (off < data.length) {
      this.partial.set(data.subarray(off), 0)
      this.partialLength = data.length - off
    }
  }

  /** Pieces root (undefined for an empty file) and piece layer of everything fed so far. */
  digest (): { root: Buffer | undefined, pieceLayer: Buffer[] } {
    if (this.partialLength > 0) {
      this.addLeaf(createHash('sha256').update(this.partial.subarray(0, this.partialLength)).digest())
      this.partialLength = 0
    }
    if (this.length === 0) return { root: undefined, pieceLayer: [] }
    if (this.length <= this.pieceLength) {
      // A file of exactly one piece was already folded by addLeaf; its one layer entry is the root.
      const root = this.layer[0] ?? merkleRoot(this.leaves, nextPowerOfTwo(this.leaves.length))
      return { root, pieceLayer: [] }
    }
    if (this.leaves.length > 0) {
      this.layer.push(merkleRoot(this.leaves, this.leavesPerPiece))
      this.leaves = []
    }
    return { root: rootFromPieceLayer(this.layer, this.pieceLength), pieceLayer: this.layer }
  }

  private addLeaf (leaf: Buffer): void {
    this.leaves.push(leaf)
    // Fold each complete piece at once so memory stays at one piece layer, whatever the file size.
    if (this.leaves.length === this.leavesPerPiece) {
      this.layer.push(merkleRoot(this.leaves, this.leavesPerPiece))
      this.leaves = []
    }
  }
}
