/**
 * A magnet link's metadata (BEP 9): asks peers that offer it for the info dict, one peer at a time
 * (metadata-fetcher.ts), checks every hash the link names, parses it, and hands the swarm a metainfo
 * it can trust. A peer serving bytes that do not hash to the infohash is banned; one serving a dict
 * that does hash but does not parse or does not fit the engine is closed.
 */
import { createHash } from 'node:crypto'
import type Wire from 'bittorrent-protocol'
import type { PieceStore } from '../storage/piece-store.js'
import type { Metainfo } from '../torrent/metainfo.js'
import { MetadataMismatchError } from '../torrent/errors.js'
import type { UtMetadataHost } from '../wire/ut-metadata.js'
import { MetadataFetcher } from './metadata-fetcher.js'
import type { Peer } from './peer.js'
import { noop, type SwarmContext } from './swarm-context.js'
import type { SwarmMagnetSource } from './swarm-api.js'

/** Largest piece length a magnet's metadata may name: a piece is buffered whole before it is verified. */
const MAX_BUFFERED_PIECE_LENGTH = 64 * 1024 * 1024

/**
 * Where the metadata goes: first the verified metainfo; then what the storage needs besides it (a v2
 * torrent's piece layers); then the storage opened for the completed metainfo.
 */
export interface MetadataSink {
  verified: (metainfo: Metainfo) => void
  prepared: (metainfo: Metainfo) => Promise<Metainfo>
  opened: (metainfo: Metainfo, store: PieceStore) => void
}

/**
 * The swarm's BEP 9 host, one for all its peers (each found from its wire): serves our info dict once
 * we know it (every swarm does), and feeds what a peer offers and sends to a magnet link's source.
 */
export function metadataHost (
  peerOf: (wire: Wire) => Peer | undefined, maxMetadataSize: number, infoBytes: () => Buffer | undefined,
  magnet: MagnetSource | undefined, guard: SwarmContext['guard']
): UtMetadataHost {
  return {
    maxMetadataSize,
    infoBytes,
    onOffer: (ext, size) => {
      const peer = peerOf(ext.wire)
      if (peer === undefined) return
      peer.ut = ext
      peer.metadataOffer = size
      if (peer.phase === 'ready') magnet?.offer(peer, size)
    },
    onData: (ext, piece, totalSize, data) => {
      const peer = peerOf(ext.wire)
      if (peer !== undefined) guard(peer, () => magnet?.data(peer, piece, totalSize, data))
    },
    onReject: ext => {
      const peer = peerOf(ext.wire)
      if (peer !== undefined) magnet?.reject(peer)
    },
    onProtocolError: (ext, err) => peerOf(ext.wire)?.close(err)
  }
}

export class MagnetSource {
  private readonly fetcher = new MetadataFetcher<Peer>((peer, piece) => peer.ut?.request(piece))

  /** `infoHash` is the one the swarm's links carry. */
  constructor (
    readonly source: SwarmMagnetSource,
    private readonly infoHash: Buffer,
    private readonly ctx: SwarmContext,
    private readonly to: MetadataSink
  ) {}

  /** The peer offers the metadata (its extended handshake), and its own handshake is checked. */
  offer (peer: Peer, size: number): void {
    this.fetcher.offer(peer, size)
  }

  data (peer: Peer, piece: number, totalSize: number, data: Uint8Array): void {
    const whole = this.fetcher.data(peer, piece, totalSize, data)
    if (whole !== undefined) this.onMetadata(peer, whole)
  }

  reject (peer: Peer): void {
    this.fetcher.reject(peer)
  }

  remove (peer: Peer): void {
    this.fetcher.remove(peer)
  }

  tick (requestTimeoutMs: number): void {
    this.fetcher.tick(requestTimeoutMs)
  }

  private onMetadata (peer: Peer, infoBytes: Buffer): void {
    let metainfo: Metainfo
    try {
      if (!this.metadataHashes(infoBytes)) {
        // Only a hostile peer serves bytes that do not hash to the infohash: ban it, not only its id.
        const err = new MetadataMismatchError('metadata does not hash to the infohash')
        this.fetcher.mismatch(peer)
        this.ctx.emit('metadata-rejected', peer.info, err)
        this.ctx.ban(peer, err)
        return
      }
      metainfo = this.parseMetadata(infoBytes)
    } catch (err) {
      const typed = err instanceof MetadataMismatchError ? err : new MetadataMismatchError('peer served metadata that does not parse', { cause: err })
      this.fetcher.mismatch(peer)
      this.ctx.emit('metadata-rejected', peer.info, typed)
      peer.close(typed)
      return
    }
    this.fetcher.succeeded()
    this.to.verified(metainfo)
    this.to.prepared(metainfo).then(async complete => {
      const store = await this.source.openStore(complete)
      if (this.ctx.destroyed()) {
        store.close().catch(noop)
        return
      }
      this.to.opened(complete, store)
    }).catch(err => this.ctx.fail(err as Error))
  }

  /** The infohash is the only trust anchor of a magnet link: check every hash it names ourselves. */
  private metadataHashes (infoBytes: Buffer): boolean {
    const m = this.source.magnet
    const sha1 = createHash('sha1').update(infoBytes).digest()
    const sha256 = createHash('sha256').update(infoBytes).digest()
    return (m.infoHashV1 === undefined || sha1.equals(m.infoHashV1)) &&
      (m.infoHashV2 === undefined || sha256.equals(m.infoHashV2)) &&
      (sha1.equals(m.wireInfoHash) || sha256.subarray(0, 20).equals(m.wireInfoHash))
  }

  /** Parse metadata that hashes to the infohash (metadataHashes) and check what the engine needs of it. */
  private parseMetadata (infoBytes: Buffer): Metainfo {
    const metainfo = this.source.parseInfo(infoBytes)
    if (!Buffer.from(metainfo.wireInfoHash).equals(this.infoHash)) {
      throw new MetadataMismatchError('parsed metadata names another infohash')
    }
    if (metainfo.pieceLength > MAX_BUFFERED_PIECE_LENGTH) {
      throw new MetadataMismatchError(`piece length ${metainfo.pieceLength} exceeds what we buffer`)
    }
    return metainfo
  }
}
