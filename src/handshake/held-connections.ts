/**
 * The responder's bound on connections held at once from one source (issue 18: 500 connections with one
 * peer id were all held). An honest peer holds one connection per torrent we share with it, two for a
 * moment (a simultaneous dial, an upgrade to TLS); a host that holds more than `maxPerAddress` is not
 * one peer, and each further connection from it is a non-peer visit (a web visit under TLS, a refusal
 * otherwise), decided where the probe limit is (secure-inbound.ts) so that it changes neither the bytes
 * nor the timing of the answer.
 *
 * Addresses are grouped as for the probe limit (an IPv4 address, an IPv6 /64; probe-limit.ts). Peers
 * behind one NAT share the bound, hence a generous default. Memory: one entry per group with a socket
 * open, gone when its last one closes.
 */
import { addressGroup } from './probe-limit.js'

/** 32: several torrents' worth of one peer's links, and room for a small NAT. See docs/hostile-peers.md. */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 32

/**
 * Past this many times the bound, a connection is closed as it is accepted, before a byte is read. The
 * bound judges a connection once it shows what it is, which a silent one never does: each would hold a
 * descriptor until the first step's timeout (10 s), 500 of them from one address held 500 FDs
 * (`npm run hostile`, connections-per-address), and enough of them exhaust the process's descriptors.
 * Closing early only past 4× the bound keeps an honest host that briefly exceeds the bound answered
 * like any other visitor; a web server behind a per-address connection limit closes them the same way.
 */
export const ACCEPT_LIMIT_FACTOR = 4

export class HeldConnections {
  private readonly counts = new Map<string, number>()

  constructor (readonly maxPerAddress: number = DEFAULT_MAX_CONNECTIONS_PER_ADDRESS) {
    if (!(maxPerAddress >= 1)) throw new RangeError('maxPerAddress must be at least 1')
  }

  /** Counts a connection from `address` until the returned function is called (once is enough). */
  hold (address: string): () => void {
    const key = addressGroup(address)
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      const n = (this.counts.get(key) ?? 1) - 1
      if (n <= 0) this.counts.delete(key)
      else this.counts.set(key, n)
    }
  }

  /** Connections held from `address`'s group, a held one of its own included. */
  count (address: string): number {
    return this.counts.get(addressGroup(address)) ?? 0
  }

  /** True when `address`'s group holds more than the bound (counting the connection being judged). */
  over (address: string): boolean {
    return this.count(address) > this.maxPerAddress
  }

  /** True when `address`'s group holds so many (ACCEPT_LIMIT_FACTOR × the bound) that a new one is closed unread. */
  overAtAccept (address: string): boolean {
    return this.count(address) > this.maxPerAddress * ACCEPT_LIMIT_FACTOR
  }

  /** Groups with a connection held (for tests and statistics). */
  get groups (): number {
    return this.counts.size
  }
}
