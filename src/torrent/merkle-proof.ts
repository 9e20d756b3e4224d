/**
 * BEP 52 hash requests over the piece layer of one file's merkle tree: which requests fetch a whole
 * piece layer, how a holder of the layer answers one (the requested hashes, then the uncle hashes up
 * to the root), and how an answer is checked against the file's pieces root.
 *
 * Layers are numbered from the leaves (16 KiB blocks) as layer 0; the piece layer is
 * log2(pieceLength / 16 KiB). "Proof layers" counts ancestor layers above the base layer; the uncles
 * of the first log2(length) - 1 of them lie inside the requested hashes and are omitted (BEP 52), so
 * an answer holds `length` hashes and then proofLayers - log2(length) + 1 uncles, lowest first.
 * libtorrent 2.0.8 builds and reads answers the same way (merkle_tree::get_hashes).
 */
import { timingSafeEqual } from 'node:crypto'
import { BLOCK_SIZE, HASH_SIZE, hashPair, log2, merkleRoot, nextPowerOfTwo, padHash } from './merkle.js'

/** BEP 52: "Length SHOULD NOT be greater than 512". Our requests use it, and we serve no more. */
export const MAX_HASH_REQUEST_LENGTH = 512

export interface HashRequest {
  readonly piecesRoot: Buffer
  readonly baseLayer: number
  readonly index: number
  readonly length: number
  readonly proofLayers: number
}

/** The shape of one file's tree, from its length and the torrent's piece length. */
export interface FileTreeShape {
  /** Layer of the piece hashes (0 when a piece is one block). */
  readonly pieceLayer: number
  /** Pieces of the file, i.e. hashes in its piece layer. */
  readonly pieces: number
  /** Layers above the piece layer up to the root: the piece layer padded to 2^height hashes. */
  readonly height: number
}

export function fileTreeShape (fileLength: number, pieceLength: number): FileTreeShape {
  const pieces = Math.ceil(fileLength / pieceLength)
  return { pieceLayer: log2(pieceLength / BLOCK_SIZE), pieces, height: log2(nextPowerOfTwo(pieces)) }
}

/**
 * The requests that fetch a file's whole piece layer, each proven up to the pieces root: aligned runs
 * of at most MAX_HASH_REQUEST_LENGTH hashes, the last one padded to a power of two (as libtorrent asks).
 * Only for files longer than one piece (height >= 1); a shorter file's piece hash is its root.
 */
export function pieceLayerRequests (piecesRoot: Buffer, shape: FileTreeShape): HashRequest[] {
  const requests: HashRequest[] = []
  for (let index = 0; index < shape.pieces; index += MAX_HASH_REQUEST_LENGTH) {
    // At least 2 (BEP 52), even for a last run of one piece: libtorrent 2.0.8 answers a length of 1 with
    // one uncle too few.
    const length = Math.min(MAX_HASH_REQUEST_LENGTH, Math.max(2, nextPowerOfTwo(shape.pieces - index)))
    requests.push({ piecesRoot, baseLayer: shape.pieceLayer, index, length, proofLayers: shape.height - 1 })
  }
  return requests
}

/** Uncle hashes an answer to `req` carries. */
export function uncleCount (req: HashRequest): number {
  return Math.max(0, req.proofLayers - log2(req.length) + 1)
}

/**
 * Why we will not serve `req` from a piece layer of this shape, or undefined if we can. Only the piece
 * layer is served (the leaf layer would need the file's data hashed on demand).
 */
export function unservableReason (req: HashRequest, shape: FileTreeShape): string | undefined {
  if (shape.height === 0) return 'the file has no piece layer'
  if (req.baseLayer !== shape.pieceLayer) return `base layer ${req.baseLayer} is not the piece layer ${shape.pieceLayer}`
  if (req.length < 1 || req.length > MAX_HASH_REQUEST_LENGTH || (req.length & (req.length - 1)) !== 0) {
    return `length ${req.length} is not a power of two in 1..${MAX_HASH_REQUEST_LENGTH}`
  }
  // BEP 52 allows fewer than 2 only where the layer ends: libtorrent asks so for a last run of one piece.
  if (req.length === 1 && req.index !== shape.pieces - 1) return 'a length of 1 is only for the last hash of the layer'
  if (req.index % req.length !== 0) return `index ${req.index} is not a multiple of length ${req.length}`
  if (req.index + req.length > 2 ** shape.height) return `hashes ${req.index}+${req.length} are past the end of the layer`
  if (req.proofLayers >= shape.height) return `${req.proofLayers} proof layers reach past the root`
  return undefined
}

/**
 * The padded piece layer and every layer above it, bottom first (the last holds the root): what a
 * holder of the layer answers requests from. Built once per file, since each answer needs all of it.
 */
export function pieceTree (pieceLayer: Buffer, shape: FileTreeShape): Buffer[][] {
  const bottom: Buffer[] = []
  for (let i = 0; i < 2 ** shape.height; i++) {
    bottom.push(i < shape.pieces ? pieceLayer.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE) : padHash(shape.pieceLayer))
  }
  const layers = [bottom]
  for (let layer = bottom; layer.length > 1;) {
    const next: Buffer[] = []
    for (let i = 0; i < layer.length; i += 2) next.push(hashPair(layer[i]!, layer[i + 1]!))
    layers.push(next)
    layer = next
  }
  return layers
}

/** The answer to a servable request (unservableReason undefined): the hashes, then the uncles. */
export function answerHashRequest (req: HashRequest, tree: readonly Buffer[][]): Buffer {
  const out = tree[0]!.slice(req.index, req.index + req.length)
  for (let k = log2(req.length); k <= req.proofLayers; k++) out.push(tree[k]![(req.index >> k) ^ 1]!)
  return Buffer.concat(out)
}

/**
 * Whether `hashes` answers `req` (a request from pieceLayerRequests) for the file whose root is
 * `req.piecesRoot`: the requested hashes with their uncles must hash to the root (which also pins the
 * padding past the file's last piece). Returns the requested hashes, padding included, when they do.
 */
export function verifyHashes (req: HashRequest, hashes: Buffer, shape: FileTreeShape): Buffer | undefined {
  const uncles = uncleCount(req)
  if (hashes.length !== (req.length + uncles) * HASH_SIZE) return undefined
  if (log2(req.length) + uncles !== shape.height) return undefined
  const base: Buffer[] = []
  for (let i = 0; i < req.length; i++) base.push(hashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE))
  let node = merkleRoot(base, req.length)
  let position = req.index >> log2(req.length)
  for (let u = 0; u < uncles; u++) {
    const uncle = hashes.subarray((req.length + u) * HASH_SIZE, (req.length + u + 1) * HASH_SIZE)
    node = (position & 1) === 0 ? hashPair(node, uncle) : hashPair(uncle, node)
    position >>= 1
  }
  if (node.length !== req.piecesRoot.length || !timingSafeEqual(node, req.piecesRoot)) return undefined
  return hashes.subarray(0, req.length * HASH_SIZE)
}
