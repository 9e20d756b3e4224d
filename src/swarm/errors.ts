/**
 * Errors the swarm engine closes links with or reports. Wire-level framing errors reuse the shared
 * classes of src/errors.ts (MalformedMessageError, OversizedBencodeError, InfohashMismatchError);
 * metadata that does not match its infohash is torrent/errors.ts's MetadataMismatchError, and a piece
 * that fails verification is storage/errors.ts's PieceHashMismatchError.
 */
import { BttlsError } from '../errors.js'

/** The peer sent data that failed piece verification often enough (or alone) to be banned. */
export class BadPeerError extends BttlsError {
  override name = 'BadPeerError'
  readonly code = 'ERR_BAD_PEER'
}

/**
 * The peer's handshake carries our own peer id: we dialed ourselves (a tracker or PEX listed our own
 * address, possibly in another form than the one we listen on).
 */
export class SelfConnectionError extends BttlsError {
  override name = 'SelfConnectionError'
  readonly code = 'ERR_SELF_CONNECTION'
}

/** The swarm was destroyed while the link was open. */
export class SwarmDestroyedError extends BttlsError {
  override name = 'SwarmDestroyedError'
  readonly code = 'ERR_SWARM_DESTROYED'
}

/**
 * We wanted data from the peer (we were interested) and it sent none for the peer timeout: it chokes
 * us for ever, or claims pieces and never sends them, or it is frozen. Its link is closed so that the
 * download does not wait on it and a redial (with back-off) can find it alive again.
 */
export class PeerTimeoutError extends BttlsError {
  override name = 'PeerTimeoutError'
  readonly code = 'ERR_PEER_TIMEOUT'
}

/**
 * A second link to a peer we are already connected to (same peer id): it came from --peer and a
 * tracker, or both sides dialed at once. One link is kept by a rule both sides compute alike (see
 * Swarm.keepsNewLink); the other closes with this error.
 */
export class DuplicateLinkError extends BttlsError {
  override name = 'DuplicateLinkError'
  readonly code = 'ERR_DUPLICATE_LINK'
}

/** The peer does not read what we send, and what is queued for it exceeds the bound (send-queue.ts). */
export class SendQueueOverflowError extends BttlsError {
  override name = 'SendQueueOverflowError'
  readonly code = 'ERR_SEND_QUEUE_OVERFLOW'
}

/**
 * What is queued for all peers together exceeds the process's budget (send-budget.ts), and this peer,
 * which does not read, held more than its share of it.
 */
export class SendBudgetExceededError extends BttlsError {
  override name = 'SendBudgetExceededError'
  readonly code = 'ERR_SEND_BUDGET_EXCEEDED'
}

/**
 * The peer answered a BEP 52 hash request with hashes that do not lead to the file's pieces root (the
 * root the infohash covers). It is never asked for hashes again; its link is closed.
 */
export class HashesMismatchError extends BttlsError {
  override name = 'HashesMismatchError'
  readonly code = 'ERR_HASHES_MISMATCH'
}

/**
 * The peer unchoked us and then rejected (BEP 6) request after request, MAX_REJECTED_PIPELINES
 * pipelines' worth, without sending a single block since its last one: it will not serve us, and
 * asking it again only costs us work. Its link is closed so that the slot goes to a peer that serves.
 */
export class RequestsRejectedError extends BttlsError {
  override name = 'RequestsRejectedError'
  readonly code = 'ERR_REQUESTS_REJECTED'
}
