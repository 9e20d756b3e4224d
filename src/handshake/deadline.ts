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
    readonly bound: string
  ) {}

  /** A deadline `ms` from now. Its timer is unref'd: a pending handshake never keeps the process alive. */
  static after (ms: number, from = 'now'): Deadline {
    const bound = `${ms} ms from ${from}`
    const controller = new AbortController()
    setTimeout(() => controller.abort(new HandshakeTimeoutError(`handshake not finished within ${bound}`)), ms).unref()
    return new Deadline(controller.signal, Date.now() + ms, bound)
  }

  /** The earlier of this deadline and `ms` from now. */
  within (ms: number, from = 'now'): Deadline {
    if (Date.now() + ms >= this.expiresAt) return this
    const bound = `${ms} ms from ${from}`
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(new HandshakeTimeoutError(`handshake not finished within ${bound}`)), ms)
    timer.unref()
    // The connection's deadline passing first ends this one too, with its own reason.
    this.whenExpired(() => { clearTimeout(timer); controller.abort(this.signal.reason) })
    return new Deadline(controller.signal, Date.now() + ms, bound)
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
