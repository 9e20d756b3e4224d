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

/** A link's part in the budget (see SendBudget.join). */
export interface SendBudgetMember {
  /** What is queued for the link now; closes over-share links if the total passes the budget. */
  report (bytes: number): void
  /** The link closed: what it held is no longer counted. */
  leave (): void
}

interface Entry {
  last: number
  readonly current: () => number
  readonly evict: (err: SendBudgetExceededError) => void
}

export class SendBudget {
  readonly maxBytes: number
  private readonly entries = new Set<Entry>()
  private bound = 0

  constructor (options: SendBudgetOptions = {}) {
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_SEND_BUDGET_BYTES
    if (!(this.maxBytes > 0)) throw new RangeError('the send budget must be positive')
  }

  /** Links sharing the budget. */
  get links (): number {
    return this.entries.size
  }

  /**
   * Adds a link. `current` reads what is queued for it now; `evict` is called (once) when it must close,
   * and the link must then leave.
   */
  join (current: () => number, evict: (err: SendBudgetExceededError) => void): SendBudgetMember {
    const entry: Entry = { last: 0, current, evict }
    this.entries.add(entry)
    return {
      report: bytes => {
        if (!this.entries.has(entry)) return
        this.bound += bytes - entry.last
        entry.last = bytes
        if (this.bound > this.maxBytes) this.enforce()
      },
      leave: () => {
        if (!this.entries.delete(entry)) return
        this.bound -= entry.last
      }
    }
  }

  private enforce (): void {
    let total = 0
    for (const e of this.entries) {
      e.last = e.current()
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
      e.evict(new SendBudgetExceededError(`peers that do not read hold ${total} bytes queued, over the process budget of ` +
        `${this.maxBytes}; this one held ${e.last}, over its share of ${Math.floor(share)}`))
    }
  }
}
