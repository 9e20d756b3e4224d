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
import type { BudgetedLink, SendBudget, SendBudgetMember } from './send-budget.js'

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

type ReadableCounts = NonNullable<StreamxWire['_readableState']>

/** One link's bound: one object, its push a shared function (a link may idle for hours, and they are many). */
class SendQueueBound implements BudgetedLink {
  private tripped = false
  readonly member: SendBudgetMember | undefined

  constructor (
    private readonly link: Pick<PeerLink, 'queuedBytes'>,
    private readonly state: ReadableCounts,
    private readonly maxBytes: number,
    private readonly maxMessages: number,
    private readonly overflow: (err: SendQueueOverflowError | SendBudgetExceededError) => void,
    /** The push it wraps. */
    readonly push: StreamxWire['push'],
    budget: SendBudget | undefined
  ) {
    this.member = budget?.join(this)
  }

  queued (): number {
    return (this.state.buffered ?? 0) + this.link.queuedBytes()
  }

  evict (err: SendBudgetExceededError): void {
    this.tripped = true
    this.overflow(err)
  }

  /** After each push: over a limit, the link overflows (once); else the budget hears the new figure. */
  pushed (data: unknown): void {
    if (data === null || this.tripped) return
    const bytes = this.queued()
    const messages = this.state.queue?.length ?? 0
    if (bytes > this.maxBytes || messages > this.maxMessages) {
      this.tripped = true
      this.member?.leave()
      this.overflow(new SendQueueOverflowError(`the peer does not read: ${messages} messages and ${bytes} bytes queued for it ` +
        `(limits ${this.maxMessages} and ${this.maxBytes})`))
      return
    }
    this.member?.report(bytes)
  }
}

const bounds = new WeakMap<object, SendQueueBound>()

function boundedPush (this: StreamxWire, data: unknown): boolean {
  const bound = bounds.get(this)!
  const more = bound.push.call(this, data)
  bound.pushed(data)
  return more
}

/**
 * Watch `wire`'s send queue; `overflow` is called (once) when it exceeds a limit, or when the shared
 * `budget` evicts the link.
 */
export function boundSendQueue (
  link: Pick<PeerLink, 'wire' | 'queuedBytes' | 'closed'>, limits: SendQueueLimits,
  overflow: (err: SendQueueOverflowError | SendBudgetExceededError) => void, budget?: SendBudget
): void {
  const target = link.wire as unknown as StreamxWire
  const state = target._readableState
  if (typeof state?.buffered !== 'number' || typeof state.queue?.length !== 'number') {
    throw new TypeError('bittorrent-protocol no longer runs on streamx: update send-queue.ts')
  }
  const bound = new SendQueueBound(link, state, limits.maxBytes ?? DEFAULT_MAX_SEND_QUEUE_BYTES, limits.maxMessages ?? DEFAULT_MAX_SEND_QUEUE_MESSAGES,
    overflow, target.push, budget)
  bounds.set(target, bound)
  const member = bound.member
  if (member !== undefined) void link.closed.then(() => member.leave()) // it never rejects
  target.push = boundedPush
}
