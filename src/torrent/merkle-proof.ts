/**
 * BEP 52 hash requests over one file's merkle tree: which requests fetch a whole piece layer, or the
 * block hashes of one piece; how a holder answers one (the requested hashes, then the uncle hashes up
 * to the root), from the piece layer or from block hashes of its own verified data; and how an answer
 * is checked against the file's pieces root.
 *
 * Layers are numbered from the leaves (16 KiB blocks) as layer 0; the piece layer is
 * log2(pieceLength / 16 KiB). "Proof layers" counts ancestor layers above the base layer; the uncles
 * of the first log2(length) - 1 of them lie inside the requested hashes and are omitted (BEP 52), so
 * an answer holds `length` hashes and then proofLayers - log2(length) + 1 uncles, lowest first.
 * libtorrent 2.0.8 builds and reads answers the same way (merkle_tree::get_hashes, hash_picker::add_hashes).
 *
 * The whole tree has nextPowerOfTwo(blocks) leaves, zero past the file's last block (BEP 52, "pieces
 * root"); for a file longer than a piece that is the piece layer padded to a power of two, each piece
 * over pieceLength / 16 KiB leaves. libtorrent sizes it the same way (validate_hash_request).
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

/** Whether an answer's header repeats `a` (BEP 52: a `hashes` or `hash reject` message correlates with a request). */
export function sameRequest (a: HashRequest, b: HashRequest): boolean {
  return a.piecesRoot.equals(b.piecesRoot) && a.baseLayer === b.baseLayer && a.index === b.index &&
    a.length === b.length && a.proofLayers === b.proofLayers
}

/** The shape of one file's tree, from its length and the torrent's piece length. */
export interface FileTreeShape {
  /** Layer of the piece hashes (0 when a piece is one block). */
  readonly pieceLayer: number
  /** Pieces of the file, i.e. hashes in its piece layer. */
  readonly pieces: number
  /** Layers above the piece layer up to the root: the piece layer padded to 2^height hashes. */
  readonly height: number
  /** 16 KiB blocks of the file (the last may be shorter). */
  readonly blocks: number
  /** The root's layer: the leaves padded to 2^rootLayer (0 for a file of one block, whose hash is its root). */
  readonly rootLayer: number
}

export function fileTreeShape (fileLength: number, pieceLength: number): FileTreeShape {
  const pieces = Math.ceil(fileLength / pieceLength)
  const blocks = Math.ceil(fileLength / BLOCK_SIZE)
  return { pieceLayer: log2(pieceLength / BLOCK_SIZE), pieces, height: log2(nextPowerOfTwo(pieces)), blocks, rootLayer: log2(nextPowerOfTwo(blocks)) }
}

/** Whether `req` is answered from the piece layer (a file longer than a piece), not from block hashes. */
export function fromPieceLayer (req: HashRequest, shape: FileTreeShape): boolean {
  return shape.height > 0 && req.baseLayer === shape.pieceLayer
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
 * Why we will not serve `req` for a file of this shape, or undefined if we can. We serve base layers
 * from the leaves up to the piece layer (BEP 52 requires the leaf and piece layers). Below the piece
 * layer the answer is computed from our data, so the request must also keep within MAX_HASH_REQUEST_LENGTH
 * blocks hashed (leafSpan): the block hashes of one piece of up to 8 MiB, which is what libtorrent asks
 * after a piece fails (hash_picker::pick_hashes).
 */
export function unservableReason (req: HashRequest, shape: FileTreeShape): string | undefined {
  if (req.baseLayer >= shape.rootLayer) {
    return shape.height === 0 && req.baseLayer >= shape.pieceLayer ? 'the file has no piece layer' : `base layer ${req.baseLayer} is not below the root (layer ${shape.rootLayer})`
  }
  if (req.baseLayer > shape.pieceLayer) return `base layer ${req.baseLayer} is above the piece layer ${shape.pieceLayer}`
  if (req.length < 1 || req.length > MAX_HASH_REQUEST_LENGTH || (req.length & (req.length - 1)) !== 0) {
    return `length ${req.length} is not a power of two in 1..${MAX_HASH_REQUEST_LENGTH}`
  }
  // BEP 52 allows fewer than 2 only where the layer ends: libtorrent asks so for a last run of one piece.
  const lastReal = Math.ceil(shape.blocks / 2 ** req.baseLayer) - 1
  if (req.length === 1 && req.index !== lastReal) return 'a length of 1 is only for the last hash of the layer'
  if (req.index % req.length !== 0) return `index ${req.index} is not a multiple of length ${req.length}`
  if (req.index + req.length > 2 ** (shape.rootLayer - req.baseLayer)) return `hashes ${req.index}+${req.length} are past the end of the layer`
  if (req.proofLayers >= shape.rootLayer - req.baseLayer) return `${req.proofLayers} proof layers reach past the root`
  if (fromPieceLayer(req, shape)) return undefined
  const span = leafSpan(req, shape)
  if (span.count > MAX_HASH_REQUEST_LENGTH) {
    return `the answer needs ${span.count} blocks hashed, more than the ${MAX_HASH_REQUEST_LENGTH} we hash for one request`
  }
  return undefined
}

/** A run of leaves: blocks first..first+count-1 of the file, count a power of two (past the file: padding). */
export interface LeafSpan {
  readonly first: number
  readonly count: number
}

/**
 * The leaves whose hashes answer a request below the piece layer: the aligned run that holds the
 * requested hashes and whole pieces (the whole tree, for a file of one piece), so every uncle below
 * the piece layer is computed from them and each piece's node can be checked against the piece layer.
 */
export function leafSpan (req: HashRequest, shape: FileTreeShape): LeafSpan {
  const unit = 2 ** Math.min(shape.pieceLayer, shape.rootLayer)
  const count = Math.max(req.length * 2 ** req.baseLayer, unit)
  return { first: Math.floor(req.index * 2 ** req.baseLayer / count) * count, count }
}

/**
 * The answer to a servable request below the piece layer, from `leaves` (the span's block hashes, zero
 * past the file) and, for a file longer than a piece, its tree above the piece layer (pieceTree). Undefined
 * when the leaves do not lead to what the torrent says (a piece's hash, or a one-piece file's root):
 * data changed on disk since it was verified, and an answer from it would be a lie.
 */
export function answerFromLeaves (req: HashRequest, shape: FileTreeShape, span: LeafSpan, leaves: readonly Buffer[],
  known: { readonly pieceTree?: readonly Buffer[][] | undefined, readonly root: Buffer }): Buffer | undefined {
  if (leaves.length !== span.count) throw new RangeError(`${leaves.length} leaves for a span of ${span.count}`)
  const layers: Buffer[][] = [leaves.slice()]
  for (let layer = layers[0]!; layer.length > 1;) {
    const next: Buffer[] = []
    for (let i = 0; i < layer.length; i += 2) next.push(hashPair(layer[i]!, layer[i + 1]!))
    layers.push(next)
    layer = next
  }
  if (shape.height > 0) {
    const pieces = layers[shape.pieceLayer]!
    const first = span.first >> shape.pieceLayer
    if (known.pieceTree === undefined || pieces.some((h, i) => !h.equals(known.pieceTree![0]![first + i]!))) return undefined
  } else if (!layers[shape.rootLayer]![0]!.equals(known.root)) {
    return undefined
  }
  const b = req.baseLayer
  const out = layers[b]!.slice(req.index - (span.first >> b), req.index - (span.first >> b) + req.length)
  for (let k = log2(req.length); k <= req.proofLayers; k++) {
    const layer = b + k
    const position = (req.index >> k) ^ 1
    // Below the span's root the uncle is inside the span; from there up, in the tree above the piece layer.
    out.push(layer < layers.length - 1
      ? layers[layer]![position - (span.first >> layer)]!
      : known.pieceTree![layer - shape.pieceLayer]![position]!)
  }
  return Buffer.concat(out)
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
 * The request for the block hashes of piece `piece` of a file (counted from the file's first piece),
 * proven up to the root, as libtorrent asks after a piece fails (hash_picker::pick_hashes): undefined when
 * the piece is one block (its hash is the piece's) or has more blocks than one request may carry.
 */
export function pieceBlocksRequest (piecesRoot: Buffer, shape: FileTreeShape, piece: number): HashRequest | undefined {
  const length = 2 ** Math.min(shape.pieceLayer, shape.rootLayer)
  if (length < 2 || length > MAX_HASH_REQUEST_LENGTH) return undefined
  return { piecesRoot, baseLayer: 0, index: piece * 2 ** shape.pieceLayer, length, proofLayers: shape.rootLayer - 1 }
}

/**
 * Whether `hashes` answers `req` (a request from pieceLayerRequests or pieceBlocksRequest) for the file whose root is
 * `req.piecesRoot`: the requested hashes with their uncles must hash to the root (which also pins the
 * padding past the file's last piece). Returns the requested hashes, padding included, when they do.
 */
export function verifyHashes (req: HashRequest, hashes: Buffer, shape: FileTreeShape): Buffer | undefined {
  const uncles = uncleCount(req)
  if (hashes.length !== (req.length + uncles) * HASH_SIZE) return undefined
  if (log2(req.length) + uncles !== shape.rootLayer - req.baseLayer) return undefined
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
