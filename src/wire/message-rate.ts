/**
 * A per-link budget on the peer's control messages: a token bucket, refilled with time, that every
 * message costs one token of except what carries the transfer itself. A flood of cheap messages
 * (interested/not interested or choke/unchoke pairs, request/cancel pairs, repeated haves,
 * keep-alives, extended messages) costs us parsing, a reply each, and CPU taken from honest peers;
 * past the budget the link is closed with MessageFloodError, long before the flood's bytes matter.
 *
 * Free, because an honest peer's rate of them is the transfer's rate and each is bounded otherwise:
 *   - a block (piece message): the swarm accepts only blocks it asked for;
 *   - a have for a piece the peer had not announced on this link: at most one per piece of the torrent,
 *     however fast the peer completes pieces (a full torrent of haves in a burst is legitimate: lazy
 *     bitfields, a fast download). The Wire's own record of the peer's pieces decides what is new;
 *     it grows to 400,000 pieces at most, so past that a have costs a token.
 * Refunded: a request, once we send the block it asked for (the Wire's 'upload'). A peer downloading
 * from us at any speed thus spends nothing; requests we reject (choked, queue full) and cancels do.
 * Charged by size: a bitfield or an extended handshake after the link's first. An honest peer sends
 * each once (libtorrent re-sends a small extended handshake when its state changes), and the work they
 * make grows with their size (a bitfield replaces the peer's whole record in the piece picker; an
 * extended handshake is decoded whole), so one token each would let a peer keep a core busy within
 * its budget: one token per LATE_ANNOUNCEMENT_BYTES_PER_TOKEN bytes.
 *
 * The defaults, and why an honest libtorrent or Transmission peer never reaches them, are in
 * docs/hostile-peers.md.
 */
import { MessageFloodError } from '../errors.js'
import { TokenBucket } from '../token-bucket.js'

export interface MessageRateLimits {
  /** Tokens the bucket holds when full: the burst a peer may send at once. */
  readonly burst: number
  /** Tokens added per second, up to `burst`. */
  readonly perSecond: number
}

/** 4,096 at once, 1,024 a second: see docs/hostile-peers.md for what honest peers send. */
export const DEFAULT_MESSAGE_RATE: MessageRateLimits = { burst: 4096, perSecond: 1024 }

export class MessageBudget {
  private readonly tokens: TokenBucket

  /** `now` defaults to the bucket's clock (token-bucket.ts). */
  constructor (private readonly limits: MessageRateLimits = DEFAULT_MESSAGE_RATE, now?: () => number) {
    if (!(limits.burst >= 1) || !(limits.perSecond > 0)) throw new RangeError('message rate limits must be positive')
    this.tokens = new TokenBucket(limits.burst, limits.perSecond, now)
  }

  /** Spends `tokens` (one by default); throws MessageFloodError when the bucket does not hold them. */
  spend (what: string, tokens = 1): void {
    if (!this.tokens.tryTake(tokens)) {
      throw new MessageFloodError(`the peer sent control messages (last: ${what}) faster than ${this.limits.perSecond} a second ` +
        `after a burst of ${this.limits.burst}`)
    }
  }

  /** Gives one token back (a request we answered with its block). */
  refund (): void {
    this.tokens.refund()
  }
}

const MESSAGE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'choke'], [1, 'unchoke'], [2, 'interested'], [3, 'not interested'], [4, 'have'], [5, 'bitfield'],
  [6, 'request'], [7, 'piece'], [8, 'cancel'], [9, 'port'], [0x0d, 'suggest'], [0x0e, 'have all'],
  [0x0f, 'have none'], [0x10, 'reject'], [0x11, 'allowed fast'], [20, 'extended']
])

/** The name of a message id, for errors. */
export function messageName (id: number): string {
  return MESSAGE_NAMES.get(id) ?? `message ${id}`
}

/** Message ids that never cost a token (see above); a have is free only when new, decided by the caller. */
export const PIECE_MESSAGE_ID = 7
export const HAVE_MESSAGE_ID = 4
/** Message ids charged by size after the link's first (see above): bitfield, and extended (id 0, the handshake). */
export const BITFIELD_MESSAGE_ID = 5
export const EXTENDED_MESSAGE_ID = 20
/** BEP 6's reject request. */
export const REJECT_MESSAGE_ID = 0x10

/**
 * A repeated bitfield or extended handshake costs one token per 16 bytes: a late bitfield for 100,000
 * pieces (12.5 KB, about 3 ms of work) costs 782 tokens, a libtorrent state update (a 100-byte
 * extended handshake) 7. See docs/hostile-peers.md.
 */
export const LATE_ANNOUNCEMENT_BYTES_PER_TOKEN = 16

/** Tokens a repeated bitfield or extended handshake of `bytes` (the message after its length prefix) costs. */
export function lateAnnouncementCost (bytes: number): number {
  return Math.max(1, Math.ceil(bytes / LATE_ANNOUNCEMENT_BYTES_PER_TOKEN))
}
