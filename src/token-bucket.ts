/**
 * A token bucket: `capacity` tokens when full, `perSecond` added with the time since the last look.
 * Pure arithmetic over a clock the caller may inject (tests); no timers. The dial queue paces dials
 * with it (session/dial-queue.ts), the peer wire bounds a peer's control messages (wire/message-rate.ts)
 * and the rate limiter paces piece data (swarm/rate-limiter.ts).
 */
import { performance } from 'node:perf_hooks'

/**
 * The default clock, one function for every bucket (a bucket per link is common). `performance` is
 * imported, not the global: the global loads perf_hooks on its first use, which was the first link's
 * (0.6 ms of its first turn), not the process's start.
 */
function monotonicNow (): number {
  return performance.now()
}

export class TokenBucket {
  private tokens: number
  private last: number

  constructor (readonly capacity: number, readonly perSecond: number, private readonly now: () => number = monotonicNow) {
    if (!(capacity > 0) || !(perSecond > 0) || !Number.isFinite(capacity) || !Number.isFinite(perSecond)) {
      throw new RangeError(`a token bucket needs a positive capacity and rate, got ${capacity} and ${perSecond} a second`)
    }
    this.tokens = capacity
    this.last = now()
  }

  /** Tokens there now (negative while a charge is being paid off). */
  available (): number {
    const now = this.now()
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) * this.perSecond / 1000)
    this.last = now
    return this.tokens
  }

  /** Takes `n` tokens if they are there; takes nothing and answers false if not. */
  tryTake (n = 1): boolean {
    if (this.available() < n) return false
    this.tokens -= n
    return true
  }

  /** Takes `n` tokens whether or not they are there: what is missing is paid off by the refill. */
  charge (n: number): void {
    this.available()
    this.tokens -= n
  }

  /** Gives `n` tokens back, up to the capacity. */
  refund (n = 1): void {
    this.tokens = Math.min(this.capacity, this.tokens + n)
  }

  /** Milliseconds until `n` tokens are there (0: now), rounded up, at least 1 when not now. */
  msUntil (n: number): number {
    const missing = n - this.available()
    return missing <= 0 ? 0 : Math.max(1, Math.ceil(missing * 1000 / this.perSecond))
  }
}
