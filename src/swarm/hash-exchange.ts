/**
 * BEP 52 hash messages in the swarm: answering `hash request` from the piece layers we hold and from
 * our verified data (hash-server.ts); for a v2-only magnet link, fetching the piece layers after the
 * metadata and before the storage opens (hash-requester.ts); and fetching the block hashes of a v2 piece
 * that failed with blocks from several peers, to blame the sender of the bad block (block-hash-fetcher.ts).
 * bittorrent-protocol passes the messages on as unknown messages; their lengths are already checked
 * (wire/message-limits.ts).
 */
import { MalformedMessageError } from '../errors.js'
import type { Metainfo } from '../torrent/metainfo.js'
import { BLOCK_SIZE } from '../torrent/merkle.js'
import { fileTreeShape, pieceBlocksRequest } from '../torrent/merkle-proof.js'
import { fileIndexAtPiece, type ParsedTorrent } from '../torrent/parsed-torrent.js'
import { HASH_REJECT_ID, HASH_REQUEST_ID, HASHES_ID, decodeHashMessage, isHashMessageId, sendHashMessage } from '../wire/hash-messages.js'
import type { PieceLeaves } from './bad-pieces.js'
import { BlockHashFetcher } from './block-hash-fetcher.js'
import type { BlockHashSource } from './downloader.js'
import { HashesMismatchError } from './errors.js'
import { HashRequester, filesNeedingLayers } from './hash-requester.js'
import { HashServer, type HashAnswer, type HashServerStats } from './hash-server.js'
import type { Peer } from './peer.js'
import type { SwarmContext } from './swarm-context.js'

export class HashExchange implements BlockHashSource {
  private readonly server = new HashServer<Peer>()
  private requester: HashRequester<Peer> | undefined
  private readonly blocks: BlockHashFetcher<Peer>
  private readonly blockBytes = new Map<number, number>()

  constructor (private readonly ctx: SwarmContext, private readonly progressed: (now: number) => void,
    leaves: (index: number, leaves: PieceLeaves) => void) {
    this.blocks = new BlockHashFetcher<Peer>(
      index => [...ctx.peers].filter(p => p.phase === 'active' && p.has(index)),
      (peer, request) => ctx.guard(peer, () => sendHashMessage(peer.wire, HASH_REQUEST_ID, request)),
      (index, hashes) => {
        const bytes = this.blockBytes.get(index)
        this.blockBytes.delete(index)
        if (bytes !== undefined) leaves(index, { leaves: hashes, bytes })
      })
  }

  /** Piece `index` of a v2 file failed with blocks from several peers: fetch its block hashes. */
  want (index: number, contributors: readonly Peer[]): void {
    const meta = this.ctx.torrent()?.metainfo
    if (meta === undefined || meta.version === 'v1') return
    const file = meta.files[fileIndexAtPiece(meta.files, meta.pieceLength, index)]
    if (file?.piecesRoot === undefined || file.pad) return
    const shape = fileTreeShape(file.length, meta.pieceLength)
    const inFile = index * meta.pieceLength - file.offset
    const request = pieceBlocksRequest(Buffer.from(file.piecesRoot), shape, inFile / meta.pieceLength)
    if (request === undefined) return
    const bytes = Math.min(meta.pieceLength, file.length - inFile)
    this.blockBytes.set(index, bytes)
    this.blocks.want(index, { request, shape, blocks: Math.ceil(bytes / BLOCK_SIZE) }, contributors)
  }

  forget (index: number): void {
    this.blocks.forget(index)
    this.blockBytes.delete(index)
  }

  get stats (): HashServerStats {
    return { ...this.server.stats }
  }

  /**
   * The metainfo a magnet download opens its storage with: at once, unless the torrent is v2-only with
   * files longer than a piece, whose layers are fetched first. (A hybrid's pieces are verified by SHA-1
   * against info.pieces, which the infohash covers.) Peers already waiting are asked at once.
   */
  withPieceLayers (metainfo: Metainfo): Promise<Metainfo> {
    if (metainfo.version !== 'v2' || filesNeedingLayers(metainfo.files, metainfo.pieceLength).length === 0) return Promise.resolve(metainfo)
    return new Promise(resolve => {
      this.requester = new HashRequester<Peer>(metainfo.files, metainfo.pieceLength,
        (peer, request) => this.ctx.guard(peer, () => sendHashMessage(peer.wire, HASH_REQUEST_ID, request)),
        pieceLayers => resolve(withLayers(metainfo, pieceLayers)))
      for (const p of [...this.ctx.peers]) if (p.phase === 'ready') this.requester.offer(p)
    })
  }

  /** A peer whose handshake is checked, while the swarm waits for the metadata or the layers. */
  offer (peer: Peer): void {
    this.requester?.offer(peer)
  }

  remove (peer: Peer): void {
    this.requester?.remove(peer)
    this.blocks.remove(peer)
  }

  tick (requestTimeoutMs: number): void {
    this.requester?.tick(requestTimeoutMs)
    this.blocks.tick(requestTimeoutMs)
  }

  /** Any message bittorrent-protocol does not know; `metainfo` is what we serve layers from. */
  onMessage (peer: Peer, message: Uint8Array, metainfo: Metainfo | undefined): void {
    if (!isHashMessageId(message[0]!)) return
    const m = decodeHashMessage(message)
    if (m.id === HASH_REQUEST_ID) {
      const answer = this.server.answer(metainfo, m.request, this.ctx.torrent()?.store, peer)
      const send = (a: HashAnswer): void => {
        if (peer.closed) return
        if ('hashes' in a) sendHashMessage(peer.wire, HASHES_ID, m.request, a.hashes)
        else sendHashMessage(peer.wire, HASH_REJECT_ID, m.request)
      }
      if (answer instanceof Promise) void answer.then(a => this.ctx.guard(peer, () => send(a)))
      else send(answer)
      return
    }
    let expected: boolean | undefined
    // Block hashes (base layer 0) from a peer we asked for some; anything else answers the layer requests.
    const to = m.request.baseLayer === 0 && this.blocks.expects(peer) ? this.blocks : this.requester
    try {
      expected = m.id === HASHES_ID ? to?.hashes(peer, m.request, m.hashes) : to?.reject(peer, m.request)
    } catch (err) {
      // Hashes that do not lead to the root the infohash covers: only a hostile peer sends them.
      if (!(err instanceof HashesMismatchError)) throw err
      this.ctx.ban(peer, err)
      return
    }
    if (expected !== true) throw new MalformedMessageError(`unsolicited ${m.id === HASHES_ID ? 'hashes' : 'hash reject'} message`)
    if (m.id === HASHES_ID) this.progressed(Date.now())
  }
}

/** The metainfo of a v2 magnet download once its piece layers are fetched (ParsedTorrent's field). */
function withLayers (metainfo: Metainfo, pieceLayers: ReadonlyMap<string, Buffer>): Metainfo & Pick<ParsedTorrent, 'pieceLayers'> {
  return { ...metainfo, pieceLayers }
}
