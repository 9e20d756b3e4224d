/**
 * A token bucket shared by every link of a session (`--max-upload-rate`, `--max-download-rate`): the
 * bucket fills at `bytesPerSecond` up to `burstBytes`, and piece data passes only against tokens.
 *
 * Upload: a requested block is read from disk and sent once its bytes are taken from the bucket, so
 * a queue of requests costs no memory while it waits. Download: a block is requested only against
 * tokens (we cannot stop a peer sending, but a peer sends only what we asked for), so blocks arrive
 * at most at the rate, give or take one round trip. Waiters are served in arrival order: a peer that
 * asks for much does not starve one that asks for little.
 *
 * The timer that wakes waiters is unref'd: the limiter never keeps a process alive, the sockets
 * whose data it paces do.
 */
import { TokenBucket } from '../token-bucket.js'
import { BLOCK_SIZE } from './active-piece.js'

export interface RateLimiterOptions {
  /** Most tokens the bucket holds (what may pass at once after an idle time). Default a quarter second of rate, at least one block. */
  readonly burstBytes?: number
  /** Clock in milliseconds (tests). Default performance.now. */
  readonly now?: () => number
}

interface Waiter {
  readonly bytes: number
  /** Called once the tokens are there; false declines them (the request went away meanwhile). */
  readonly grant: () => boolean
}

export class RateLimiter {
  readonly bytesPerSecond: number
  readonly burstBytes: number
  private readonly tokens: TokenBucket
  private readonly waiters: Waiter[] = []
  private timer: NodeJS.Timeout | undefined
  private draining = false

  constructor (bytesPerSecond: number, options: RateLimiterOptions = {}) {
    if (!(Number.isFinite(bytesPerSecond) && bytesPerSecond > 0)) throw new RangeError(`a rate limit must be a positive number of bytes per second, got ${bytesPerSecond}`)
    this.bytesPerSecond = bytesPerSecond
    this.burstBytes = Math.max(BLOCK_SIZE, options.burstBytes ?? Math.floor(bytesPerSecond / 4))
    this.tokens = new TokenBucket(this.burstBytes, bytesPerSecond, options.now)
  }

  /** Tokens in the bucket now. */
  available (): number {
    return this.tokens.available()
  }

  /** Takes `bytes` that are available now (the caller checked `available()`). */
  charge (bytes: number): void {
    this.tokens.charge(bytes)
  }

  /** Calls `grant` once `bytes` tokens are free for it, after every earlier waiter; false from `grant` leaves them. */
  take (bytes: number, grant: () => boolean): void {
    if (!(bytes > 0 && bytes <= this.burstBytes)) throw new RangeError(`cannot take ${bytes} bytes from a bucket of ${this.burstBytes}`)
    this.waiters.push({ bytes, grant })
    // Queued behind a pending wake-up, or taken from inside a grant: the running drain serves it.
    if (this.timer === undefined && !this.draining) this.drain()
  }

  /** Calls `ready` once, when `bytes` tokens are free (without taking them). */
  whenAvailable (bytes: number, ready: () => void): void {
    this.take(Math.min(bytes, this.burstBytes), () => { ready(); return false })
  }

  /** Waiters not yet served. */
  get queued (): number {
    return this.waiters.length
  }

  private drain (): void {
    this.timer = undefined
    this.draining = true
    try {
      for (let head = this.waiters[0]; head !== undefined; head = this.waiters[0]) {
        const waitMs = this.tokens.msUntil(head.bytes)
        if (waitMs > 0) {
          this.timer = setTimeout(() => this.drain(), waitMs)
          this.timer.unref()
          return
        }
        this.waiters.shift()
        // A grant may charge() itself (the download side fills pipelines); the bucket is read anew after it.
        if (head.grant()) this.tokens.charge(head.bytes)
      }
    } finally {
      this.draining = false
    }
  }
}

/** The session's limits on piece data (absent: unlimited). */
export interface RateLimits {
  readonly upload?: RateLimiter
  readonly download?: RateLimiter
}

/** Whether a peer's request is still queued at its Wire (not cancelled, not answered). */
export function isStillRequested (wire: { readonly peerRequests: ReadonlyArray<{ piece: number, offset: number, length: number }> }, index: number, offset: number, length: number): boolean {
  return wire.peerRequests.some(r => r.piece === index && r.offset === offset && r.length === length)
}
