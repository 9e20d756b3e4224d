/**
 * One bound on what the whole process queues for peers that do not read, across every link of every
 * swarm; send-queue.ts bounds each link alone. Without it, many links each under their own bound (32 MiB)
 * still add up: a hundred deaf insiders would pin 3 GiB. The session owns one budget and hands it to
 * each swarm; each link reports what is queued for it after every send.
 *
 * When the total passes the budget, the links holding more than their fair share (the budget divided by
 * the links sharing it) are closed, the largest first, until the total fits again: a link that reads
 * keeps little queued (piece data waits for the socket), so it is never the one closed.
 *
 * Cost: a link's queue only grows when it sends, so the last figure each link reported is never below
 * what it holds now, and their sum is an upper bound of the total. Only when that bound passes the
 * budget are the links asked for their current figures.
 */
import { SendBudgetExceededError } from './errors.js'

export interface SendBudgetOptions {
  /** Bytes queued for all peers together. Default 256 MiB. */
  readonly maxBytes?: number
}

export const DEFAULT_MAX_SEND_BUDGET_BYTES = 256 * 1024 * 1024

/** What a link joins the budget with (see SendBudget.join). */
export interface BudgetedLink {
  /** What is queued for it now. */
  queued (): number
  /** It must close: called once, and the link must then leave. */
  evict (err: SendBudgetExceededError): void
}

/** A link's part in the budget: one object per link, whose methods are shared (idle links are many). */
export class SendBudgetMember {
  /** The last figure reported (an upper bound of what it holds). */
  last = 0

  constructor (private readonly budget: SendBudget, readonly link: BudgetedLink) {}

  /** What is queued for the link now; closes over-share links if the total passes the budget. */
  report (bytes: number): void {
    this.budget.reported(this, bytes)
  }

  /** The link closed: what it held is no longer counted. */
  leave (): void {
    this.budget.left(this)
  }
}

export class SendBudget {
  readonly maxBytes: number
  private readonly entries = new Set<SendBudgetMember>()
  private bound = 0

  constructor (options: SendBudgetOptions = {}) {
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_SEND_BUDGET_BYTES
    if (!(this.maxBytes > 0)) throw new RangeError('the send budget must be positive')
  }

  /** Links sharing the budget. */
  get links (): number {
    return this.entries.size
  }

  /** Adds a link; it reports through the member returned, and leaves through it. */
  join (link: BudgetedLink): SendBudgetMember {
    const entry = new SendBudgetMember(this, link)
    this.entries.add(entry)
    return entry
  }

  /** SendBudgetMember.report. */
  reported (entry: SendBudgetMember, bytes: number): void {
    if (!this.entries.has(entry)) return
    this.bound += bytes - entry.last
    entry.last = bytes
    if (this.bound > this.maxBytes) this.enforce()
  }

  /** SendBudgetMember.leave. */
  left (entry: SendBudgetMember): void {
    if (!this.entries.delete(entry)) return
    this.bound -= entry.last
  }

  private enforce (): void {
    let total = 0
    for (const e of this.entries) {
      e.last = e.link.queued()
      total += e.last
    }
    this.bound = total
    if (total <= this.maxBytes) return
    const share = this.maxBytes / this.entries.size
    const over = [...this.entries].filter(e => e.last > share).sort((a, b) => b.last - a.last)
    for (const e of over) {
      if (this.bound <= this.maxBytes) break
      this.entries.delete(e)
      this.bound -= e.last
      e.link.evict(new SendBudgetExceededError(`peers that do not read hold ${total} bytes queued, over the process budget of ` +
        `${this.maxBytes}; this one held ${e.last}, over its share of ${Math.floor(share)}`))
    }
  }
}
