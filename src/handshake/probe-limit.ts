/**
 * The responder's limit on failed proofs per source address (BEP: "Probing"). An attacker with a list
 * of candidate infohashes can test which of them a peer serves, one TLS handshake per candidate; past
 * `failures` failed visits within `windowMs`, every further connection from the same address is a web
 * visit whatever it sends, so a valid proof no longer tells the prober anything either. The connection
 * is still read exactly as any other (the first record, under the same bound), so being limited is not
 * visible in bytes or timing: only in that a right guess gets the web site too.
 *
 * Addresses are grouped as a web server's rate limits group them: an IPv4 address, an IPv6 /64 (one
 * host usually owns the whole /64). Every visit that did not end as a peer counts (a wrong proof, an
 * unknown swarm, a web request): a web client is not harmed by it, since it gets the site in any case.
 * Memory is bounded: at most `maxAddresses` entries, the stalest dropped first.
 */
import { isIPv4, isIPv6 } from 'node:net'
import { plainAddress } from '../codec/endpoint.js'

export interface ProbeLimits {
  /** Failed visits allowed from one address (IPv4) or prefix (IPv6 /64) within `windowMs`. */
  readonly failures: number
  readonly windowMs: number
  /** Addresses remembered at once. */
  readonly maxAddresses: number
}

/**
 * 16 failures in 10 minutes: far more than a peer of ours makes (a stale torrent, a restart), far fewer
 * than a scan of candidate infohashes needs.
 */
export const DEFAULT_PROBE_LIMITS: ProbeLimits = { failures: 16, windowMs: 10 * 60_000, maxAddresses: 4096 }

interface Entry { count: number, windowStart: number }

export class ProbeLimit {
  /** Insertion order is recency order: a touched entry is re-inserted at the end. */
  private readonly entries = new Map<string, Entry>()

  constructor (private readonly limits: ProbeLimits = DEFAULT_PROBE_LIMITS, private readonly now: () => number = Date.now) {}

  /** True when connections from `address` are web visits, whatever they send. */
  limited (address: string): boolean {
    const entry = this.current(addressGroup(address))
    return entry !== undefined && entry.count >= this.limits.failures
  }

  /** One more visit from `address` that did not end as a peer. */
  failed (address: string): void {
    const key = addressGroup(address)
    const entry = this.current(key) ?? { count: 0, windowStart: this.now() }
    entry.count++
    this.entries.delete(key)
    this.entries.set(key, entry)
    while (this.entries.size > this.limits.maxAddresses) this.entries.delete(this.entries.keys().next().value!)
  }

  /** How many addresses are remembered (for tests and statistics). */
  get size (): number {
    return this.entries.size
  }

  private current (key: string): Entry | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    if (this.now() - entry.windowStart >= this.limits.windowMs) {
      this.entries.delete(key)
      return undefined
    }
    return entry
  }
}

/** The group an address is limited as: IPv4 itself (also when IPv4-mapped), IPv6 its /64. */
export function addressGroup (raw: string): string {
  const address = plainAddress(raw)
  if (isIPv4(address) || !isIPv6(address)) return address
  const zoneless = address.split('%')[0]!.toLowerCase()
  const [head, tail] = zoneless.split('::') as [string, string | undefined]
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? left : [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right]
  return `${groups.slice(0, 4).map(g => g.replace(/^0+(?=.)/, '')).join(':')}::/64`
}
