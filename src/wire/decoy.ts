/**
 * What a visitor who is not a bttls peer of ours gets (BEP: "Wire image"): the answers of an ordinary
 * web site. The responder hands over the TLS connection with the bytes it already read, as the
 * probe-resistant proxies (REALITY, Trojan, naiveproxy) do, so a wrong proof, an unknown swarm, a
 * wrong level, an HTTP request, garbage and silence all meet the same web server.
 *
 * Two kinds behind one interface: the built-in site (decoy-site.ts, node:http, the server a stock Node
 * HTTPS server runs) and forwarding to a real local web server (decoy-forward.ts).
 *
 * A decoy is attack surface, so every connection is bounded here: how many at once, and for how long
 * at most, whatever the kind does within that.
 */
import type { Duplex } from 'node:stream'

export interface Decoy {
  /** Serves one visitor. `received` was already read from `socket` and is served first. */
  take (socket: Duplex, received: Buffer): void
  /** Ends every visit and frees what the decoy holds. */
  close (): Promise<void>
}

export interface DecoyLimits {
  /** Visitors served at once; one more is closed at once, as a web server at capacity would. */
  readonly maxConnections: number
  /** Longest a visit may last, whatever it does (the kinds have their own idle timeouts). */
  readonly maxLifetimeMs: number
}

export const DEFAULT_DECOY_LIMITS: DecoyLimits = { maxConnections: 256, maxLifetimeMs: 10 * 60_000 }

/** The set of visits in progress, with the limits above enforced. */
export class DecoyVisits {
  private readonly sockets = new Set<Duplex>()

  constructor (private readonly limits: DecoyLimits = DEFAULT_DECOY_LIMITS) {}

  get size (): number {
    return this.sockets.size
  }

  /** Registers a visit; false (and the socket destroyed) when the decoy is full. */
  admit (socket: Duplex): boolean {
    if (this.sockets.size >= this.limits.maxConnections) {
      socket.destroy()
      return false
    }
    this.sockets.add(socket)
    const timer = setTimeout(() => socket.destroy(), this.limits.maxLifetimeMs)
    timer.unref()
    socket.once('close', () => { clearTimeout(timer); this.sockets.delete(socket) })
    socket.on('error', () => {}) // a visitor's reset ends its visit, nothing more
    return true
  }

  closeAll (): void {
    for (const socket of this.sockets) socket.destroy()
  }
}
