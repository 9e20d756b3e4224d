/**
 * A bound on what we queue for a peer that does not read. bittorrent-protocol pushes every message we
 * send into the Wire's readable buffer, and the pipe stops draining it when the socket is full: a peer
 * that never reads, and sends cheap messages that each earn a reply (interested/not interested pairs,
 * requests, metadata requests), can grow a seeder by ~900 MB for 10 MB sent. Each chunk costs
 * far more memory than its bytes, so both bytes and messages are bounded.
 *
 * What is queued lives in two places, both read after every push: the link's write path (the batch
 * of this turn and the socket's write buffer, `PeerLink.queuedBytes`), where every link's output goes,
 * and the Wire's own readable state, for a Wire piped without it. bittorrent-protocol's Wire is a streamx
 * Duplex, whose readable state counts the queued bytes (`buffered`) and chunks (`queue.length`); streamx
 * has no public accessor for either. Messages are counted there only: the write path joins each turn's
 * messages into one buffer, so past a turn they cost only their bytes.
 *
 * Every link's figure also goes to the process-wide budget, when there is one (send-budget.ts).
 */
import type { PeerLink } from '../wire/peer-link.js'
import { SendQueueOverflowError, type SendBudgetExceededError } from './errors.js'
import type { SendBudget } from './send-budget.js'

export interface SendQueueLimits {
  /** Bytes queued for one peer and not yet taken by its socket. Default 32 MiB. */
  readonly maxBytes?: number
  /** Messages queued likewise. Default 100,000 (a have per piece of a large torrent fits). */
  readonly maxMessages?: number
}

export const DEFAULT_MAX_SEND_QUEUE_BYTES = 32 * 1024 * 1024
export const DEFAULT_MAX_SEND_QUEUE_MESSAGES = 100_000

interface StreamxWire {
  push (data: unknown): boolean
  readonly _readableState?: { readonly buffered?: number, readonly queue?: { readonly length?: number } }
}

/**
 * Watch `wire`'s send queue; `overflow` is called (once) when it exceeds a limit, or when the shared
 * `budget` evicts the link.
 */
export function boundSendQueue (
  link: Pick<PeerLink, 'wire' | 'queuedBytes' | 'closed'>, limits: SendQueueLimits,
  overflow: (err: SendQueueOverflowError | SendBudgetExceededError) => void, budget?: SendBudget
): void {
  const wire = link.wire
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_SEND_QUEUE_BYTES
  const maxMessages = limits.maxMessages ?? DEFAULT_MAX_SEND_QUEUE_MESSAGES
  const target = wire as unknown as StreamxWire
  const state = target._readableState
  if (typeof state?.buffered !== 'number' || typeof state.queue?.length !== 'number') {
    throw new TypeError('bittorrent-protocol no longer runs on streamx: update send-queue.ts')
  }
  const queued = (): number => (state.buffered ?? 0) + link.queuedBytes()
  let tripped = false
  const member = budget?.join(queued, err => {
    tripped = true
    overflow(err)
  })
  if (member !== undefined) void link.closed.then(() => member.leave(), () => member.leave())
  const push = target.push
  target.push = function (data) {
    const more = push.call(this, data)
    if (data === null || tripped) return more
    const bytes = queued()
    const messages = state.queue?.length ?? 0
    if (bytes > maxBytes || messages > maxMessages) {
      tripped = true
      member?.leave()
      overflow(new SendQueueOverflowError(`the peer does not read: ${messages} messages and ${bytes} bytes queued for it ` +
        `(limits ${maxMessages} and ${maxBytes})`))
      return more
    }
    member?.report(bytes)
    return more
  }
}
