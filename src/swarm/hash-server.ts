/**
 * Answering BEP 52 hash requests from the piece layers we hold (a torrent opened from its .torrent
 * file, or a magnet download once its layers were fetched). A request we cannot or will not serve
 * (another layer than the piece layer, an unknown root, a range outside the layer, more than
 * MAX_HASH_REQUEST_LENGTH hashes) gets a `hash reject`, as BEP 52 requires an answer to every request.
 */
import type { Metainfo } from '../torrent/metainfo.js'
import { isParsedTorrent } from '../torrent/parsed-torrent.js'
import { answerHashRequest, fileTreeShape, pieceTree, unservableReason, type HashRequest } from '../torrent/merkle-proof.js'

export type HashAnswer = { readonly hashes: Buffer } | { readonly reject: string }

export interface HashServerStats {
  served: number
  rejected: number
}

export class HashServer {
  /** Each file's tree above its piece layer, built on the first request for it. */
  private readonly trees = new Map<string, Buffer[][]>()
  readonly stats: HashServerStats = { served: 0, rejected: 0 }

  answer (metainfo: Metainfo | undefined, request: HashRequest): HashAnswer {
    const answer = this.answerOf(metainfo, request)
    if ('hashes' in answer) this.stats.served++
    else this.stats.rejected++
    return answer
  }

  private answerOf (metainfo: Metainfo | undefined, request: HashRequest): HashAnswer {
    if (metainfo === undefined || !isParsedTorrent(metainfo)) return { reject: 'no piece layers yet' }
    const rootHex = request.piecesRoot.toString('hex')
    const layer = metainfo.pieceLayers?.get(rootHex)
    const file = metainfo.files.find(f => f.piecesRoot !== undefined && Buffer.from(f.piecesRoot).equals(request.piecesRoot))
    if (layer === undefined || file === undefined) return { reject: 'no piece layer for this root' }
    const shape = fileTreeShape(file.length, metainfo.pieceLength)
    const reason = unservableReason(request, shape)
    if (reason !== undefined) return { reject: reason }
    let tree = this.trees.get(rootHex)
    if (tree === undefined) {
      tree = pieceTree(layer, shape)
      this.trees.set(rootHex, tree)
    }
    return { hashes: answerHashRequest(request, tree) }
  }
}
