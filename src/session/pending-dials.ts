/**
 * The dials a session has in progress, so that closing it cancels them (issue 17: `bttls update`
 * lingered up to 10 s after giving up, on a dial to a stalled seed). Each dial is given `signal`
 * (DialOptions.signal), which destroys its socket in whichever step it waits; `cancelAll` aborts and
 * waits until every dial has let go.
 */
export class PendingDials {
  private readonly controller = new AbortController()
  private readonly inFlight = new Set<Promise<unknown>>()

  get signal (): AbortSignal {
    return this.controller.signal
  }

  /** True once cancelAll was called: a dial that ends now was cancelled, not failed by its peer. */
  get cancelled (): boolean {
    return this.controller.signal.aborted
  }

  /** Counts `dial` as in progress until it settles. */
  async track<T> (dial: Promise<T>): Promise<T> {
    this.inFlight.add(dial)
    try {
      return await dial
    } finally {
      this.inFlight.delete(dial)
    }
  }

  async cancelAll (): Promise<void> {
    this.controller.abort()
    await Promise.allSettled([...this.inFlight])
  }
}
