/**
 * The parsed form of a torrent, whatever its version (BEP 3 v1, BEP 52 v2, hybrid).
 *
 * Piece space: pieces are numbered as on the wire. For v1 that is the concatenation of all files.
 * For v2 and hybrid every file starts on a piece boundary (hybrid torrents carry BEP 47 pad files to
 * make that true for v1 too; pure v2 torrents have implicit padding), so one model serves all three.
 */
import type { StrictInfo } from '../torrent/strict-info.js'

export type TorrentVersion = 'v1' | 'v2' | 'hybrid'

export interface TorrentFile {
  /** Path components below the torrent's root directory (single-file torrents: [name]). */
  readonly path: readonly string[]
  readonly length: number
  /** Offset of the file's first byte in piece space. */
  readonly offset: number
  /** BEP 47 padding file: never stored on disk, always zeros. */
  readonly pad: boolean
  /** v2/hybrid: the file's merkle root over 16 KiB blocks (absent for empty files and pad files). */
  readonly piecesRoot?: Uint8Array
}

export interface Metainfo {
  readonly version: TorrentVersion
  /** SHA-1 of the bencoded info dict (v1, hybrid). */
  readonly infoHashV1?: Buffer
  /** SHA-256 of the bencoded info dict (v2, hybrid). */
  readonly infoHashV2?: Buffer
  /** The 20 bytes carried in the BitTorrent handshake: infoHashV1, else infoHashV2 truncated (BEP 52). */
  readonly wireInfoHash: Buffer
  readonly name: string
  readonly pieceLength: number
  /** Size of piece space, pad files included. */
  readonly totalLength: number
  readonly pieceCount: number
  readonly files: readonly TorrentFile[]
  /** The exact bencoded info dictionary, as served over BEP 9. */
  readonly infoBytes: Buffer
  /** Tracker URLs (announce + announce-list, flattened, deduplicated). */
  readonly trackers: readonly string[]
  readonly private: boolean
  /** The torrent's Strict level parameters (info["bttls"]); undefined for an ordinary (Basic) torrent. */
  readonly strict?: StrictInfo
  /**
   * The swarm CA certificate (PEM) of a Full Strict torrent: info["ssl-cert"], the key libtorrent's SSL
   * torrents use, so the same torrent is served to libtorrent peers too.
   */
  readonly sslCert?: string
  /** Byte length of piece `index` (the last piece of a file or torrent may be short). */
  pieceSize (index: number): number
}

export interface MagnetLink {
  readonly infoHashV1?: Buffer
  readonly infoHashV2?: Buffer
  /** Same rule as Metainfo.wireInfoHash. */
  readonly wireInfoHash: Buffer
  readonly name?: string
  readonly trackers: readonly string[]
  /** x.pe peer addresses, "host:port". */
  readonly peers: readonly string[]
  /** x.bttls: the torrent's Strict mode (its info dict has the full parameters). */
  readonly strict?: StrictInfo
  /** x.bttls.secret: the Strict secret, for secret-mode torrents shared by magnet. */
  readonly strictSecret?: Buffer
  /**
   * x.bttls.ca (with x.bttls=full-strict): SHA-256 of the swarm CA certificate's DER. It gives the swarm
   * key; the certificate itself comes from the secure tracker's TLS handshake (tracker/client/swarm-ca.ts).
   */
  readonly caFingerprint?: Buffer
}
