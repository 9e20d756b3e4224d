/**
 * Errors of the secure tracker (src/tracker): the announce failures the tracker sends as BEP 3
 * `failure reason` (with a machine-readable `bttls failure code` beside it, so a client maps a
 * failure to the same code the tracker meant), the client's transport failures, and the admin's.
 */
import { BttlsError } from '../errors.js'

/** Codes a tracker announce can fail with. The ones named in FAILURE_CODES travel in responses. */
export const FAILURE_CODES = [
  /** The request is not a well-formed announce (info_hash, peer_id, port, event...). */
  'ERR_TRACKER_BAD_REQUEST',
  /** No passkey in the query nor in the path. */
  'ERR_TRACKER_MISSING_PASSKEY',
  /** The passkey names no user. */
  'ERR_TRACKER_UNKNOWN_TOKEN',
  /** The user was revoked: no announces, no certificates. */
  'ERR_TRACKER_REVOKED_USER',
  /** The tracker serves no torrent with this infohash. */
  'ERR_TRACKER_UNKNOWN_TORRENT',
  /** The CSR is not base64url DER PKCS#10, or its self-signature does not verify. */
  'ERR_TRACKER_BAD_CSR',
  /** The CSR's key is not an ECDSA P-256 key (the certificate profile's only key type). */
  'ERR_TRACKER_BAD_KEY',
  /** The CSR (or the whole request) is larger than the tracker accepts. */
  'ERR_TRACKER_OVERSIZED',
  /** The tracker cannot issue (its CA expired, or its lifetime setting is out of range). */
  'ERR_TRACKER_CANNOT_ISSUE',
  /** A `failure reason` from a tracker that sent no bttls code. */
  'ERR_TRACKER_FAILURE'
] as const

export type FailureCode = typeof FAILURE_CODES[number]

export type TrackerErrorCode = FailureCode |
/** The tracker could not be reached, or its TLS certificate did not verify (`cause` holds the node error). */
'ERR_TRACKER_UNREACHABLE' |
/** The tracker answered, but not with a bencoded announce response (HTTP status, size, syntax). */
'ERR_TRACKER_RESPONSE' |
/** The tracker issued a certificate that does not verify for this torrent or not for our key. */
'ERR_TRACKER_BAD_CERTIFICATE' |
/** Full Strict magnet: the tracker's TLS handshake carried no self-signed CA certificate with the link's x.bttls.ca. */
'ERR_TRACKER_NO_SWARM_CA' |
/** UDP (BEP 15): the answer to our transaction is shorter than its action's fixed part, or ends in a partial peer. */
'ERR_UDP_TRACKER_TRUNCATED' |
/** UDP: the answer to our transaction is longer than the client accepts. */
'ERR_UDP_TRACKER_OVERSIZED' |
/** UDP: the answer to our transaction has an action other than the request's or an error. */
'ERR_UDP_TRACKER_WRONG_ACTION' |
/** UDP: no answer to our transactions, only datagrams carrying other transaction ids (stale or spoofed). */
'ERR_UDP_TRACKER_WRONG_TRANSACTION'

export function isFailureCode (code: string): code is FailureCode {
  return (FAILURE_CODES as readonly string[]).includes(code)
}

/** An announce failed; `code` says how (the tracker's own code when it sent one). */
export class TrackerError extends BttlsError {
  override name = 'TrackerError'
  constructor (readonly code: TrackerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** The tracker cannot start as configured (lifetime out of range, a torrent for another CA...). */
export class TrackerConfigError extends BttlsError {
  override name = 'TrackerConfigError'
  readonly code = 'ERR_TRACKER_CONFIG'
}

/** Admin: no user of that name. */
export class UnknownUserError extends BttlsError {
  override name = 'UnknownUserError'
  readonly code = 'ERR_UNKNOWN_USER'
}

/** Admin: a user of that name exists already (names are unique; a revoked name is not reused). */
export class DuplicateUserError extends BttlsError {
  override name = 'DuplicateUserError'
  readonly code = 'ERR_DUPLICATE_USER'
}

/** Admin: a user name the db does not accept (1..64 printable ASCII characters, no spaces). */
export class InvalidUserNameError extends BttlsError {
  override name = 'InvalidUserNameError'
  readonly code = 'ERR_INVALID_USER_NAME'
}

/** The tracker db file cannot be used: its schema is newer than this version understands. */
export class TrackerDatabaseError extends BttlsError {
  override name = 'TrackerDatabaseError'
  readonly code = 'ERR_TRACKER_DATABASE'
}
