/**
 * Where every discovered peer waits to be dialed: a bounded queue drained at most `maxHalfOpen`
 * dials at a time and `dialsPerSecond` on average, as real clients pace connection attempts
 * (libtorrent's connection_speed and half-open limits). Without it one 730-byte PEX message made a
 * complete seeder dial all 100 addresses it named within seconds: a reflector for whoever wrote the
 * list. A dial checks again, when its turn comes, whether it is still wanted (the job decides).
 */
import { TokenBucket } from '../token-bucket.js'

export interface DialLimits {
  /** Dials in progress at once. */
  readonly maxHalfOpen: number
  /** Dials started per second on average (a token bucket of the same size). */
  readonly dialsPerSecond: number
  /** Candidates waiting at once; more are dropped (discovery names them again later). */
  readonly maxQueued: number
}

export const DEFAULT_DIAL_LIMITS: DialLimits = { maxHalfOpen: 8, dialsPerSecond: 10, maxQueued: 500 }

/** A dial: resolves when it has finished, whatever its outcome (it must not reject). */
export type DialJob = () => Promise<void>

export class DialQueue {
  private readonly waiting = new Map<string, DialJob>()
  private halfOpen = 0
  private readonly tokens: TokenBucket
  private timer: NodeJS.Timeout | undefined
  private closed = false

  constructor (private readonly limits: DialLimits = DEFAULT_DIAL_LIMITS, now: () => number = Date.now) {
    this.tokens = new TokenBucket(limits.dialsPerSecond, limits.dialsPerSecond, now)
  }

  /** Queues a dial under `key` (one per key); false when the key waits already or the queue is full. */
  enqueue (key: string, job: DialJob): boolean {
    if (this.closed || this.waiting.has(key) || this.waiting.size >= this.limits.maxQueued) return false
    this.waiting.set(key, job)
    this.drain()
    return true
  }

  get queued (): number {
    return this.waiting.size
  }

  get inProgress (): number {
    return this.halfOpen
  }

  /** Drops every waiting dial; dials in progress finish on their own. */
  close (): void {
    this.closed = true
    this.waiting.clear()
    clearTimeout(this.timer)
  }

  private drain (): void {
    while (!this.closed && this.halfOpen < this.limits.maxHalfOpen && this.waiting.size > 0 && this.tokens.tryTake()) {
      const [key, job] = this.waiting.entries().next().value as [string, DialJob]
      this.waiting.delete(key)
      this.halfOpen++
      void job().catch(() => {}).finally(() => { this.halfOpen--; this.drain() })
    }
    const wait = this.tokens.msUntil(1)
    if (!this.closed && this.waiting.size > 0 && wait > 0 && this.timer === undefined) {
      this.timer = setTimeout(() => { this.timer = undefined; this.drain() }, wait)
      this.timer.unref()
    }
  }
}
