/**
 * One deadline per connection (docs/design.md, "One deadline per connection"). It is created when the
 * connection is accepted or dialed and passed down through every step of the handshake, so the steps
 * share one budget instead of adding up their own: each read waits on its signal, and a peer that
 * trickles bytes step after step is cut when the connection's time is up, not when the sum of the
 * steps' bounds is. A step that the BEP bounds from its own start (the AuthHello, from the end of
 * the TLS handshake) narrows it with within(), which can only bring the deadline forward: Go's
 * context.WithTimeout, with which anacrolix/torrent runs its handshakes, does the same.
 */
import { HandshakeTimeoutError } from '../errors.js'

export class Deadline {
  private constructor (
    /** Aborts when the deadline passes; its reason is a HandshakeTimeoutError. */
    readonly signal: AbortSignal,
    /** When it passes, in Date.now() milliseconds. */
    readonly expiresAt: number,
    /** What bound it is, for error messages ("10000 ms from the end of the TLS handshake"). */
    readonly bound: string,
    /** Stops its timer and those of the deadlines it was narrowed from (end()). */
    private readonly stop: () => void
  ) {}

  /** A deadline `ms` from now. Its timer is unref'd: a pending handshake never keeps the process alive. */
  static after (ms: number, from = 'now'): Deadline {
    const bound = `${ms} ms from ${from}`
    const { controller, timer } = expiring(ms, bound)
    return new Deadline(controller.signal, Date.now() + ms, bound, () => clearTimeout(timer))
  }

  /** The earlier of this deadline and `ms` from now. */
  within (ms: number, from = 'now'): Deadline {
    if (Date.now() + ms >= this.expiresAt) return this
    const bound = `${ms} ms from ${from}`
    const { controller, timer } = expiring(ms, bound)
    // The connection's deadline passing first ends this one too, with its own reason.
    const stopWatching = this.whenExpired(() => { clearTimeout(timer); controller.abort(this.signal.reason) })
    return new Deadline(controller.signal, Date.now() + ms, bound, () => { clearTimeout(timer); stopWatching(); this.end() })
  }

  /**
   * The connection's handshake is over (the peer's BitTorrent handshake arrived, or the link closed):
   * this deadline and those it was narrowed from (within()) stop their timers and never expire. A
   * step's own narrowed deadline is not ended: it would end the connection's. Without it, every link
   * would hold its timers, signals and their listeners until the longest bound passed (120 s for an
   * accepted connection), and then build a HandshakeTimeoutError that nobody reads.
   */
  end (): void {
    this.stop()
  }

  get expired (): boolean {
    return this.signal.aborted
  }

  /** A HandshakeTimeoutError saying what did not happen: `${missing} within ${bound}`. */
  timeout (missing: string): HandshakeTimeoutError {
    return new HandshakeTimeoutError(`${missing} within ${this.bound}`)
  }

  /**
   * Calls `onExpiry` once when the deadline passes (in a microtask if it already has, never during
   * this call); the function returned cancels that. How every wait on a connection is bounded.
   */
  whenExpired (onExpiry: () => void): () => void {
    let settled = false
    const run = (): void => { if (!settled) { settled = true; onExpiry() } }
    if (this.expired) queueMicrotask(run)
    else this.signal.addEventListener('abort', run, { once: true })
    return () => { settled = true; this.signal.removeEventListener('abort', run) }
  }

  /**
   * Waits for `work` until the deadline; on expiry rejects with timeout(`missing`) and calls
   * `onExpiry` (which closes what the work was waiting on).
   */
  async race<T> (work: Promise<T>, missing: string, onExpiry: () => void = () => {}): Promise<T> {
    if (this.expired) { onExpiry(); throw this.timeout(missing) }
    let cancel = (): void => {}
    const expired = new Promise<never>((_resolve, reject) => {
      cancel = this.whenExpired(() => { onExpiry(); reject(this.timeout(missing)) })
    })
    try {
      return await Promise.race([work, expired])
    } finally {
      cancel()
    }
  }
}

/**
 * A controller that aborts in `ms` with a HandshakeTimeoutError, on an unref'd timer (a pending
 * handshake never keeps the process alive). Made apart from the Deadline: a pending timer keeps what
 * its callback's scope holds, and a step's narrowed deadline outlives the step by up to its bound.
 */
function expiring (ms: number, bound: string): { controller: AbortController, timer: NodeJS.Timeout } {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(new HandshakeTimeoutError(`handshake not finished within ${bound}`)), ms)
  timer.unref()
  return { controller, timer }
}
