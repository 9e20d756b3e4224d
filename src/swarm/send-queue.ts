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
 */
import type { PeerLink } from '../wire/peer-link.js'
import { SendQueueOverflowError } from './errors.js'

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

/** Watch `wire`'s send queue; `overflow` is called (once) when it exceeds a limit. */
export function boundSendQueue (link: Pick<PeerLink, 'wire' | 'queuedBytes'>, limits: SendQueueLimits, overflow: (err: SendQueueOverflowError) => void): void {
  const wire = link.wire
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_SEND_QUEUE_BYTES
  const maxMessages = limits.maxMessages ?? DEFAULT_MAX_SEND_QUEUE_MESSAGES
  const target = wire as unknown as StreamxWire
  const state = target._readableState
  if (typeof state?.buffered !== 'number' || typeof state.queue?.length !== 'number') {
    throw new TypeError('bittorrent-protocol no longer runs on streamx: update send-queue.ts')
  }
  const push = target.push
  let tripped = false
  target.push = function (data) {
    const more = push.call(this, data)
    if (data === null || tripped) return more
    const bytes = (state.buffered ?? 0) + link.queuedBytes()
    const messages = state.queue?.length ?? 0
    if (bytes > maxBytes || messages > maxMessages) {
      tripped = true
      overflow(new SendQueueOverflowError(`the peer does not read: ${messages} messages and ${bytes} bytes queued for it ` +
        `(limits ${maxMessages} and ${maxBytes})`))
    }
    return more
  }
}
