/**
 * When to dial a peer again after it failed: exponential back-off per endpoint (base, 2x, 4x … up to
 * a cap), forgotten once the peer delivers data. Without it a dead, rejecting or hostile peer would
 * be redialed about once a second for as long as the download runs.
 */

export interface BackoffOptions {
  /** First delay after a failure. Default 500 ms. */
  readonly baseMs?: number
  /** Longest delay. Default 5 min. */
  readonly maxMs?: number
}

/** Bound on remembered endpoints (a tracker or PEX may name many); the oldest are forgotten first. */
const MAX_ENTRIES = 10_000

interface Entry { failures: number, nextAt: number }

export class RedialBackoff {
  private readonly entries = new Map<string, Entry>()
  private readonly baseMs: number
  private readonly maxMs: number

  constructor (options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? 500
    this.maxMs = options.maxMs ?? 300_000
  }

  /** Consecutive failures of `key` since it last delivered data. */
  failures (key: string): number {
    return this.entries.get(key)?.failures ?? 0
  }

  /** Whether `key` may be dialed now. */
  ready (key: string, now = Date.now()): boolean {
    const e = this.entries.get(key)
    return e === undefined || now >= e.nextAt
  }

  /** `key` failed (dial failed, or its link closed with an error before delivering data). */
  failed (key: string, now = Date.now()): void {
    const e = this.entries.get(key) ?? { failures: 0, nextAt: 0 }
    e.failures++
    e.nextAt = now + Math.min(this.maxMs, this.baseMs * 2 ** Math.min(e.failures - 1, 30))
    this.entries.delete(key)
    if (this.entries.size >= MAX_ENTRIES) {
      const oldest = this.entries.keys().next()
      if (oldest.done !== true) this.entries.delete(oldest.value)
    }
    this.entries.set(key, e)
  }

  /** Not a failure, but do not dial before `ms` (e.g. we are already connected to it another way). */
  defer (key: string, ms: number, now = Date.now()): void {
    const e = this.entries.get(key) ?? { failures: 0, nextAt: 0 }
    e.nextAt = Math.max(e.nextAt, now + ms)
    this.entries.set(key, e)
  }

  /** `key` delivered data: it is healthy again. */
  succeeded (key: string): void {
    this.entries.delete(key)
  }
}
