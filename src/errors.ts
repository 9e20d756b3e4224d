/**
 * Every failure bttls reports is a named error class with a stable `code`.
 * Tests assert `name`, `instanceof` and `code`; tooling reads `code`.
 * Errors that belong to one area (torrent files, storage) live next to that area and extend BttlsError.
 */
export abstract class BttlsError extends Error {
  abstract readonly code: string
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

// --- connection establishment (src/handshake) ---

/** The peer did not finish a handshake step within its time bound. */
export class HandshakeTimeoutError extends BttlsError {
  override name = 'HandshakeTimeoutError'
  readonly code = 'ERR_HANDSHAKE_TIMEOUT'
}

/** The TLS layer failed (bad ClientHello, alert, wrong version). `cause` holds the node:tls error. */
export class TlsHandshakeError extends BttlsError {
  override name = 'TlsHandshakeError'
  readonly code = 'ERR_TLS_HANDSHAKE'
}

/**
 * Node filled the process's shared read buffer (handshake/borrowed-reads.ts) while an earlier read
 * from it was still being parsed. Not expected to happen; both sockets are closed rather than parse
 * overwritten bytes.
 */
export class BorrowedReadError extends BttlsError {
  override name = 'BorrowedReadError'
  readonly code = 'ERR_BORROWED_READ'
}

/** The peer negotiated something other than TLS 1.3; the BEP forbids anything older. */
export class TlsVersionError extends BttlsError {
  override name = 'TlsVersionError'
  readonly code = 'ERR_TLS_VERSION'
}

/** TLS 1.3 was negotiated with a suite outside the BEP's CIPHER_SUITES (for example an AES-CCM one). */
export class TlsCipherSuiteError extends BttlsError {
  override name = 'TlsCipherSuiteError'
  readonly code = 'ERR_TLS_CIPHER_SUITE'
}

/** The first bytes on a listening socket were too many, too few or not a protocol we speak. */
export class UnrecognizedProtocolError extends BttlsError {
  override name = 'UnrecognizedProtocolError'
  readonly code = 'ERR_UNRECOGNIZED_PROTOCOL'
}

/** The MSE/PE handshake failed or timed out (the peer may not speak MSE). */
export class MseHandshakeError extends BttlsError {
  override name = 'MseHandshakeError'
  readonly code = 'ERR_MSE_HANDSHAKE'
}

/** An AuthHello/AuthReply had the wrong length, version or reserved bits. */
export class MalformedAuthMessageError extends BttlsError {
  override name = 'MalformedAuthMessageError'
  readonly code = 'ERR_MALFORMED_AUTH_MESSAGE'
}

/** An auth message's padding is longer than MAX_AUTH_PADDING or not all zero. */
export class AuthPaddingError extends BttlsError {
  override name = 'AuthPaddingError'
  readonly code = 'ERR_AUTH_PADDING'
}

/**
 * Initiator: the responder answered our AuthHello as a web server answers a request: it is not a bttls
 * peer of this swarm at this level (or a censor's decoy), and hands unknown visitors to its web site.
 */
export class DecoyAnswerError extends BttlsError {
  override name = 'DecoyAnswerError'
  readonly code = 'ERR_DECOY_ANSWER'
}

/** Responder: no torrent we serve matches the initiator's proof (wrong infohash, wrong secret, or an outsider). */
export class UnknownSwarmError extends BttlsError {
  override name = 'UnknownSwarmError'
  readonly code = 'ERR_UNKNOWN_SWARM'
}

/**
 * Responder: the initiator's address has failed too many proofs lately, so this connection is a web visit
 * whatever it sends (probe-limit.ts): one address cannot test a list of candidate infohashes.
 */
export class ProbeLimitError extends BttlsError {
  override name = 'ProbeLimitError'
  readonly code = 'ERR_PROBE_LIMIT'
}

/**
 * Responder: the initiator's address already holds as many connections as one host may
 * (held-connections.ts), so this one is a non-peer visit: a web visit under TLS, a refusal otherwise.
 */
export class ConnectionLimitError extends BttlsError {
  override name = 'ConnectionLimitError'
  readonly code = 'ERR_CONNECTION_LIMIT'
}

/**
 * Full Strict: the secure tracker's host would accept a peer certificate of the torrent (it equals or
 * matches the torrent's name, or the name is "*"), so a member could pose as the tracker.
 */
export class TrackerNameConflictError extends BttlsError {
  override name = 'TrackerNameConflictError'
  readonly code = 'ERR_TRACKER_NAME_CONFLICT'
}

/** Initiator: the responder's proof does not verify: it does not know the swarm key, or a MITM sits between us. */
export class ProofMismatchError extends BttlsError {
  override name = 'ProofMismatchError'
  readonly code = 'ERR_PROOF_MISMATCH'
}

/** The peer closed the connection before the handshake finished (for the initiator: the responder refused our proof). */
export class PeerClosedError extends BttlsError {
  override name = 'PeerClosedError'
  readonly code = 'ERR_PEER_CLOSED'
}

/** The security level of the offered connection is not the one this torrent requires. */
export class LevelMismatchError extends BttlsError {
  override name = 'LevelMismatchError'
  readonly code = 'ERR_LEVEL_MISMATCH'
}

/** Strict level: the secret given does not match the torrent's commitment (caught before any dial). */
export class StrictSecretMismatchError extends BttlsError {
  override name = 'StrictSecretMismatchError'
  readonly code = 'ERR_STRICT_SECRET_MISMATCH'
}

/** Strict level: the torrent needs a secret, passphrase or publisher key that was not given. */
export class MissingCredentialError extends BttlsError {
  override name = 'MissingCredentialError'
  readonly code = 'ERR_MISSING_CREDENTIAL'
}

/** Strict passphrase mode: the passphrase is not a string of Unicode characters (BEP: refused, never repaired). */
export class InvalidPassphraseError extends BttlsError {
  override name = 'InvalidPassphraseError'
  readonly code = 'ERR_INVALID_PASSPHRASE'
}

/** Strict publisher mode: the peer's publisher signature does not verify under the torrent's key. */
export class PublisherProofError extends BttlsError {
  override name = 'PublisherProofError'
  readonly code = 'ERR_PUBLISHER_PROOF'
}

/** Strict publisher mode: we require the peer to be the publisher, and it sent no publisher signature. */
export class PublisherRequiredError extends BttlsError {
  override name = 'PublisherRequiredError'
  readonly code = 'ERR_PUBLISHER_REQUIRED'
}

// --- Full Strict certificates (src/levels/full-strict) ---

/** Full Strict: the peer presented no certificate. */
export class CertificateRequiredError extends BttlsError {
  override name = 'CertificateRequiredError'
  readonly code = 'ERR_CERTIFICATE_REQUIRED'
}

/** Full Strict: the certificate is not signed by the torrent's CA (or is not a valid peer certificate). */
export class UntrustedCertificateError extends BttlsError {
  override name = 'UntrustedCertificateError'
  readonly code = 'ERR_UNTRUSTED_CERTIFICATE'
}

/** Full Strict: the certificate's validity ended. */
export class CertificateExpiredError extends BttlsError {
  override name = 'CertificateExpiredError'
  readonly code = 'ERR_CERTIFICATE_EXPIRED'
}

/** Full Strict: the certificate is not valid yet. */
export class CertificateNotYetValidError extends BttlsError {
  override name = 'CertificateNotYetValidError'
  readonly code = 'ERR_CERTIFICATE_NOT_YET_VALID'
}

/** Full Strict: the certificate is for another torrent. */
export class WrongTorrentCertificateError extends BttlsError {
  override name = 'WrongTorrentCertificateError'
  readonly code = 'ERR_WRONG_TORRENT_CERTIFICATE'
}

/** Full Strict: the authority revoked the certificate. */
export class CertificateRevokedError extends BttlsError {
  override name = 'CertificateRevokedError'
  readonly code = 'ERR_CERTIFICATE_REVOKED'
}

/** Full Strict: the peer's signature over the connection does not verify under its certificate's key. */
export class CertificateProofError extends BttlsError {
  override name = 'CertificateProofError'
  readonly code = 'ERR_CERTIFICATE_PROOF'
}

/** The session policy forbids this transport (e.g. a plaintext peer under require-tls). */
export class PolicyViolationError extends BttlsError {
  override name = 'PolicyViolationError'
  readonly code = 'ERR_POLICY'
}

// --- peer wire (src/wire) ---

/** The BitTorrent handshake inside the secured channel names another torrent than the one authenticated. */
export class InfohashMismatchError extends BttlsError {
  override name = 'InfohashMismatchError'
  readonly code = 'ERR_INFOHASH_MISMATCH'
}

/** A peer wire message broke BEP 3/6/9/10 framing or limits. */
export class MalformedMessageError extends BttlsError {
  override name = 'MalformedMessageError'
  readonly code = 'ERR_MALFORMED_MESSAGE'
}

/** A bencoded value exceeded the size we accept from a peer. */
export class OversizedBencodeError extends BttlsError {
  override name = 'OversizedBencodeError'
  readonly code = 'ERR_OVERSIZED_BENCODE'
}

/** A peer sent a message larger than the wire allows. */
export class OversizedMessageError extends BttlsError {
  override name = 'OversizedMessageError'
  readonly code = 'ERR_OVERSIZED_MESSAGE'
}

/**
 * The peer sent control messages (anything but blocks and first announcements of its pieces) faster
 * than the link's budget allows (wire/message-rate.ts): a flood meant to cost us CPU and replies.
 */
export class MessageFloodError extends BttlsError {
  override name = 'MessageFloodError'
  readonly code = 'ERR_MESSAGE_FLOOD'
}

/** A dial was cancelled before it finished (its session closed): see DialOptions.signal. */
export class DialCancelledError extends BttlsError {
  override name = 'DialCancelledError'
  readonly code = 'ERR_DIAL_CANCELLED'
}

/** Every way to reach a peer failed; `attempts` says how each transport failed. */
export class DialError extends BttlsError {
  override name = 'DialError'
  readonly code = 'ERR_DIAL'
  constructor (message: string, readonly attempts: ReadonlyArray<{ transport: string, error: Error }>) {
    super(message)
  }
}
