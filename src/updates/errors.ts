/**
 * Errors of secure software updates (src/updates): what a publisher's repository refuses to write, and
 * why a client refused an update. Each attack the updater resists ends in one of these, so a log line,
 * an exit status and a test all name the same thing.
 */
import { BttlsError } from '../errors.js'

// --- the client (bttls update) ---

/**
 * Rollback: the repository served metadata older than what the client already trusts, or a release
 * older than the one installed.
 */
export class RollbackAttackError extends BttlsError {
  override name = 'RollbackAttackError'
  readonly code = 'ERR_UPDATE_ROLLBACK'
}

/**
 * Freeze: the newest metadata the client can get is past its expiry date. Someone is replaying old
 * metadata (or the publisher stopped signing): updates are being withheld.
 */
export class UpdatesWithheldError extends BttlsError {
  override name = 'UpdatesWithheldError'
  readonly code = 'ERR_UPDATES_WITHHELD'
}

/** Metadata is not signed by a threshold of the keys the trusted root names for its role. */
export class MetadataSignatureError extends BttlsError {
  override name = 'MetadataSignatureError'
  readonly code = 'ERR_UPDATE_SIGNATURE'
}

/**
 * Mix-and-match: metadata files that do not belong together (a snapshot that is not the one the
 * timestamp names, targets that are not the version or the bytes the snapshot names).
 */
export class InconsistentMetadataError extends BttlsError {
  override name = 'InconsistentMetadataError'
  readonly code = 'ERR_UPDATE_INCONSISTENT_METADATA'
}

/** Metadata that does not parse as TUF metadata, or names a release in a form we do not accept. */
export class MalformedMetadataError extends BttlsError {
  override name = 'MalformedMetadataError'
  readonly code = 'ERR_UPDATE_MALFORMED_METADATA'
}

/** The package's bytes are not the ones the signed targets metadata describes (length or SHA-256). */
export class TargetMismatchError extends BttlsError {
  override name = 'TargetMismatchError'
  readonly code = 'ERR_UPDATE_TARGET_MISMATCH'
}

/** Endless data: a server sent more bytes than the signed (or configured) bound of the file. */
export class DownloadTooLongError extends BttlsError {
  override name = 'DownloadTooLongError'
  readonly code = 'ERR_UPDATE_TOO_LONG'
}

/** The update server's TLS certificate chain holds no key matching a pinned SPKI SHA-256. */
export class PinMismatchError extends BttlsError {
  override name = 'PinMismatchError'
  readonly code = 'ERR_UPDATE_PIN'
}

/** The repository could not be reached, answered with an HTTP error, or did not answer in time. */
export class RepositoryUnreachableError extends BttlsError {
  override name = 'RepositoryUnreachableError'
  readonly code = 'ERR_UPDATE_UNREACHABLE'
}

/** The swarm gave no data within its bound, or nothing the signed metadata accepts. */
export class SwarmDownloadError extends BttlsError {
  override name = 'SwarmDownloadError'
  readonly code = 'ERR_UPDATE_SWARM'
}

/** Neither the swarm nor the HTTPS fallback delivered the release. */
export class UpdateDownloadError extends BttlsError {
  override name = 'UpdateDownloadError'
  readonly code = 'ERR_UPDATE_DOWNLOAD'
}

/** The signed targets metadata lists no release. */
export class NoReleaseError extends BttlsError {
  override name = 'NoReleaseError'
  readonly code = 'ERR_UPDATE_NO_RELEASE'
}

/** `--rollback` with no previous release kept. */
export class NoPreviousReleaseError extends BttlsError {
  override name = 'NoPreviousReleaseError'
  readonly code = 'ERR_UPDATE_NO_PREVIOUS'
}

/** The client's directory has no trusted root yet, and none was given. */
export class MissingTrustedRootError extends BttlsError {
  override name = 'MissingTrustedRootError'
  readonly code = 'ERR_UPDATE_NO_ROOT'
}

/**
 * Another `bttls update` (or `--rollback`) is running on the same directory: its lock file names a live
 * process (dir-lock.ts). Two runs at once would race on the metadata, the staging area and `current`.
 */
export class UpdateInProgressError extends BttlsError {
  override name = 'UpdateInProgressError'
  readonly code = 'ERR_UPDATE_IN_PROGRESS'
}

// --- the publisher (bttls release) ---

/** A repository operation cannot proceed: missing or misplaced keys, a version not newer, a bad setting. */
export class ReleaseRepositoryError extends BttlsError {
  override name = 'ReleaseRepositoryError'
  readonly code = 'ERR_RELEASE_REPOSITORY'
}
