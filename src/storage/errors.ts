/**
 * Errors raised by piece storage. PieceHashMismatchError is the one the swarm engine acts on (it
 * names the piece so the engine can ban whoever sent it); the others mean a caller or disk problem.
 */
import { BttlsError } from '../errors.js'

/** A piece did not verify against the torrent. Nothing of it was written. */
export class PieceHashMismatchError extends BttlsError {
  override name = 'PieceHashMismatchError'
  readonly code = 'ERR_PIECE_HASH_MISMATCH'
  constructor (readonly index: number, message?: string) {
    super(message ?? `piece ${index} does not match its hash`)
  }
}

/** A piece index, block offset or length outside the torrent, or a piece of the wrong size. */
export class PieceOutOfRangeError extends BttlsError {
  override name = 'PieceOutOfRangeError'
  readonly code = 'ERR_PIECE_OUT_OF_RANGE'
}

/** readBlock on a piece that is not verified on disk (we never serve unverified bytes). */
export class PieceNotAvailableError extends BttlsError {
  override name = 'PieceNotAvailableError'
  readonly code = 'ERR_PIECE_NOT_AVAILABLE'
  constructor (readonly index: number) {
    super(`piece ${index} is not verified on disk`)
  }
}

/**
 * A v2-only torrent whose `piece layers` are unknown (it came from a magnet link: BEP 9 transfers
 * only the info dict) has files larger than one piece, so its pieces cannot be verified one by one.
 */
export class PieceLayersUnavailableError extends BttlsError {
  override name = 'PieceLayersUnavailableError'
  readonly code = 'ERR_PIECE_LAYERS_UNAVAILABLE'
}

/** A file path that would resolve outside the download directory (traversal, a planted symlink). */
export class UnsafePathError extends BttlsError {
  override name = 'UnsafePathError'
  readonly code = 'ERR_UNSAFE_PATH'
}

/** The file system failed (permissions, disk full, a file truncated under us). `cause` holds the fs error. */
export class StorageError extends BttlsError {
  override name = 'StorageError'
  readonly code = 'ERR_STORAGE'
}
