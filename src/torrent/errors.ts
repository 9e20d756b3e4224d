/**
 * Errors raised while reading torrent files, info dicts and magnet links. All of them describe
 * untrusted input (a file from disk, metadata from a peer, a link from a user), never a bug.
 */
import { BttlsError } from '../errors.js'

/** A .torrent file or info dict that breaks BEP 3/47/52 (the message says which rule). */
export class InvalidTorrentError extends BttlsError {
  override name = 'InvalidTorrentError'
  readonly code = 'ERR_INVALID_TORRENT'
}

/** A .torrent file or info dict larger than the limit the caller set. */
export class OversizedTorrentError extends BttlsError {
  override name = 'OversizedTorrentError'
  readonly code = 'ERR_OVERSIZED_TORRENT'
}

/** A magnet URI we cannot use: not a magnet, no BitTorrent infohash, malformed parameters. */
export class InvalidMagnetError extends BttlsError {
  override name = 'InvalidMagnetError'
  readonly code = 'ERR_INVALID_MAGNET'
}

/** Info dict bytes (BEP 9 metadata) that do not hash to the infohash we asked for. */
export class MetadataMismatchError extends BttlsError {
  override name = 'MetadataMismatchError'
  readonly code = 'ERR_METADATA_MISMATCH'
}

/** createTorrent was given something it cannot share (no files, an unreadable path). */
export class TorrentCreationError extends BttlsError {
  override name = 'TorrentCreationError'
  readonly code = 'ERR_TORRENT_CREATION'
}
