/**
 * Answering BEP 52 hash requests. The piece layer is answered from the layers we hold (a torrent opened
 * from its .torrent file, or a magnet download once its layers were fetched). A base layer below it,
 * down to the 16 KiB block hashes libtorrent asks for after a piece fails its check, is answered from
 * our own verified data: the blocks of the request's span (merkle-proof.ts, leafSpan) are read and
 * hashed on demand, and the answer is sent only if they still lead to the piece layer (or to a one-piece
 * file's root). BEP 52: "Clients are only required to support setting the base layer to the leaf and
 * piece layers", and they "must be able to service requests for hash blocks covering pieces which they
 * have announced": pieces we do not hold verified are refused.
 *
 * A request we cannot or will not serve gets a `hash reject`, as BEP 52 requires an answer to every
 * request. The work one link can cause is bounded: MAX_HASH_REQUEST_LENGTH blocks (8 MiB) hashed per
 * request, at most MAX_DATA_ANSWERS_PER_PEER such answers under way at once, and HASHING_RATE bytes a
 * second hashed on average; past these, requests are rejected, not queued.
 */
import type { PieceStore } from '../storage/piece-store.js'
import { TokenBucket } from '../token-bucket.js'
import type { Metainfo, TorrentFile } from '../torrent/metainfo.js'
import { BLOCK_SIZE, HASH_SIZE, blockHashes } from '../torrent/merkle.js'
import {
  answerFromLeaves, answerHashRequest, fileTreeShape, fromPieceLayer, leafSpan, pieceTree, unservableReason,
  type FileTreeShape, type HashRequest
} from '../torrent/merkle-proof.js'
import { isParsedTorrent } from '../torrent/parsed-torrent.js'

export type HashAnswer = { readonly hashes: Buffer } | { readonly reject: string }

export interface HashServerStats {
  served: number
  rejected: number
  /** Of `served`, answers below the piece layer, computed from our data. */
  fromData: number
}

/**
 * Answers computed from data under way for one peer at once. libtorrent keeps at most two hash requests
 * outstanding per peer (bt_peer_connection::maybe_send_hash_request), so it is never refused for this.
 */
export const MAX_DATA_ANSWERS_PER_PEER = 2
/** Bytes a link may have us hash a second, on average, with a burst of two full requests (16 MiB). */
export const HASHING_RATE = { burst: 2 * 512 * BLOCK_SIZE, perSecond: 4 * 1024 * 1024 }

interface PeerLoad {
  inProgress: number
  readonly hashing: TokenBucket
}

export class HashServer<P extends object = object> {
  /** Each file's tree above its piece layer, built on the first request for it. */
  private readonly trees = new Map<string, Buffer[][]>()
  private readonly load = new WeakMap<P, PeerLoad>()
  readonly stats: HashServerStats = { served: 0, rejected: 0, fromData: 0 }

  constructor (private readonly now: () => number = () => performance.now()) {}

  /**
   * The answer to `request` from `peer`: at once from a piece layer, or later when computed from the data
   * in `store` (undefined: no storage yet, so nothing below the piece layer can be served).
   */
  answer (metainfo: Metainfo | undefined, request: HashRequest, store?: PieceStore, peer?: P): HashAnswer | Promise<HashAnswer> {
    const answer = this.answerOf(metainfo, request, store, peer)
    if (answer instanceof Promise) return answer.then(a => this.count(a, true))
    return this.count(answer, false)
  }

  private count (answer: HashAnswer, fromData: boolean): HashAnswer {
    if ('hashes' in answer) {
      this.stats.served++
      if (fromData) this.stats.fromData++
    } else {
      this.stats.rejected++
    }
    return answer
  }

  private answerOf (metainfo: Metainfo | undefined, request: HashRequest, store: PieceStore | undefined, peer: P | undefined): HashAnswer | Promise<HashAnswer> {
    if (metainfo === undefined || !isParsedTorrent(metainfo)) return { reject: 'no piece layers yet' }
    const rootHex = request.piecesRoot.toString('hex')
    const file = metainfo.files.find(f => !f.pad && f.piecesRoot !== undefined && Buffer.from(f.piecesRoot).equals(request.piecesRoot))
    if (file === undefined) return { reject: 'no file with this root' }
    const shape = fileTreeShape(file.length, metainfo.pieceLength)
    const layer = metainfo.pieceLayers?.get(rootHex)
    if (shape.height > 0 && layer === undefined) return { reject: 'no piece layer for this root' }
    const reason = unservableReason(request, shape)
    if (reason !== undefined) return { reject: reason }
    let tree: Buffer[][] | undefined
    if (layer !== undefined) {
      tree = this.trees.get(rootHex)
      if (tree === undefined) {
        tree = pieceTree(layer, shape)
        this.trees.set(rootHex, tree)
      }
    }
    if (fromPieceLayer(request, shape)) return { hashes: answerHashRequest(request, tree!) }
    return this.fromData(request, shape, file, metainfo.pieceLength, tree, store, peer)
  }

  /** A request below the piece layer: checked against what we hold and the peer's bounds, then hashed. */
  private fromData (request: HashRequest, shape: FileTreeShape, file: TorrentFile, pieceLength: number,
    tree: Buffer[][] | undefined, store: PieceStore | undefined, peer: P | undefined): HashAnswer | Promise<HashAnswer> {
    if (store === undefined) return { reject: 'no data yet' }
    const span = leafSpan(request, shape)
    const perPiece = pieceLength / BLOCK_SIZE
    const firstPiece = file.offset / pieceLength
    const pieces: number[] = []
    for (let p = Math.floor(span.first / perPiece); p * perPiece < Math.min(span.first + span.count, shape.blocks); p++) pieces.push(p)
    const missing = pieces.find(p => !store.have.has(firstPiece + p))
    if (missing !== undefined) return { reject: `piece ${firstPiece + missing} is not verified here` }
    const bytes = Math.min(span.first + span.count, shape.blocks) * BLOCK_SIZE - span.first * BLOCK_SIZE
    let load: PeerLoad | undefined
    if (peer !== undefined) {
      load = this.load.get(peer)
      if (load === undefined) {
        load = { inProgress: 0, hashing: new TokenBucket(HASHING_RATE.burst, HASHING_RATE.perSecond, this.now) }
        this.load.set(peer, load)
      }
      if (load.inProgress >= MAX_DATA_ANSWERS_PER_PEER) return { reject: `${MAX_DATA_ANSWERS_PER_PEER} answers from data already under way for this peer` }
      if (!load.hashing.tryTake(bytes)) return { reject: `over the ${HASHING_RATE.perSecond} bytes a second we hash for one peer` }
      load.inProgress++
    }
    const leaves = async (): Promise<HashAnswer> => {
      const hashes: Buffer[] = []
      for (const p of pieces) {
        const inFile = p * pieceLength
        const data = await store.readBlock(firstPiece + p, 0, Math.min(pieceLength, file.length - inFile))
        hashes.push(...blockHashes(data))
      }
      // The span starts on a piece (or is a one-piece file's whole tree): its leaves are these, then zeros.
      while (hashes.length < span.count) hashes.push(Buffer.alloc(HASH_SIZE))
      const answer = answerFromLeaves(request, shape, span, hashes, { pieceTree: tree, root: Buffer.from(file.piecesRoot!) })
      return answer === undefined ? { reject: 'our data no longer matches its hashes' } : { hashes: answer }
    }
    return leaves().catch((err: Error) => ({ reject: `reading the data failed: ${err.message}` })).finally(() => {
      if (load !== undefined) load.inProgress--
    })
  }
}
