/**
 * One deadline per connection (docs/design.md, "One deadline per connection"). It is created when the
 * connection is accepted or dialed and passed down through every step of the handshake, so the steps
 * share one budget instead of adding up their own: each read waits on it (whenExpired), and a peer that
 * trickles bytes step after step is cut when the connection's time is up, not when the sum of the
 * steps' bounds is. A step that the BEP bounds from its own start (the AuthHello, from the end of
 * the TLS handshake) narrows it with within(), which can only bring the deadline forward: Go's
 * context.WithTimeout, with which anacrolix/torrent runs its handshakes, does the same.
 */
import { HandshakeTimeoutError } from '../errors.js'

export class Deadline {
  /** Set when the deadline passes: a HandshakeTimeoutError, or the reason of the deadline it was narrowed from. */
  private reason: Error | undefined = undefined
  /** What whenExpired() waits with, in the order it was asked. */
  private readonly watchers = new Set<() => void>()
  private controller: AbortController | undefined = undefined
  private timer: NodeJS.Timeout | undefined = undefined
  /** Stops watching the deadline this one was narrowed from. */
  private unwatchParent: (() => void) | undefined = undefined

  private constructor (
    /** When it passes, in Date.now() milliseconds. */
    readonly expiresAt: number,
    /** What bound it is, for error messages ("10000 ms from the end of the TLS handshake"). */
    readonly bound: string,
    /** The deadline it was narrowed from (within()), which end() ends too. */
    private readonly parent: Deadline | undefined
  ) {}

  /** A deadline `ms` from now. Its timer is unref'd: a pending handshake never keeps the process alive. */
  static after (ms: number, from = 'now'): Deadline {
    const deadline = new Deadline(Date.now() + ms, `${ms} ms from ${from}`, undefined)
    deadline.arm(ms)
    return deadline
  }

  /** The earlier of this deadline and `ms` from now. */
  within (ms: number, from = 'now'): Deadline {
    if (Date.now() + ms >= this.expiresAt) return this
    const narrowed = new Deadline(Date.now() + ms, `${ms} ms from ${from}`, this)
    narrowed.arm(ms)
    // The connection's deadline passing first ends this one too, with its own reason.
    narrowed.unwatchParent = this.whenExpired(() => narrowed.expire(this.reason!))
    return narrowed
  }

  /**
   * The connection's handshake is over (the peer's BitTorrent handshake arrived, or the link closed):
   * this deadline and those it was narrowed from (within()) stop their timers and never expire. A
   * step's own narrowed deadline is not ended: it would end the connection's. Without it, every link
   * would hold its timers and watchers until the longest bound passed (120 s for an accepted
   * connection), and then build a HandshakeTimeoutError that nobody reads.
   */
  end (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.unwatchParent?.()
    this.parent?.end()
  }

  get expired (): boolean {
    return this.reason !== undefined
  }

  /**
   * Aborts when the deadline passes, its reason a HandshakeTimeoutError; for APIs that take a signal.
   * Made on first use: the handshake's own waits use whenExpired(), and an AbortController with its
   * event listeners costs more than everything else a deadline does, on every connection.
   */
  get signal (): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController()
      if (this.reason !== undefined) this.controller.abort(this.reason)
    }
    return this.controller.signal
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
    if (this.expired) {
      queueMicrotask(run)
      return () => { settled = true }
    }
    this.watchers.add(run)
    return () => { settled = true; this.watchers.delete(run) }
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

  /**
   * The timer's own: unref'd (a pending handshake never keeps the process alive), and its callback a
   * shared function, so a pending timer holds this deadline and nothing of the scope that made it.
   */
  private arm (ms: number): void {
    this.timer = setTimeout(Deadline.onTimer, ms, this)
    this.timer.unref()
  }

  /** Passes now with `reason`: the signal aborts, then every watcher runs, in the order they came. */
  private expire (reason: Error): void {
    if (this.reason !== undefined) return
    this.reason = reason
    clearTimeout(this.timer)
    this.timer = undefined
    this.unwatchParent?.()
    this.controller?.abort(reason)
    const watchers = [...this.watchers]
    this.watchers.clear()
    for (const watcher of watchers) {
      // As an EventTarget does: a watcher that throws is reported, and the others still run.
      try { watcher() } catch (err) { queueMicrotask(() => { throw err }) }
    }
  }

  private static onTimer (deadline: Deadline): void {
    deadline.expire(new HandshakeTimeoutError(`handshake not finished within ${deadline.bound}`))
  }
}
