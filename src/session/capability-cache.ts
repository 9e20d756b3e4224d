/**
 * What this session knows of peers' bttls support, HSTS-style (BEP: "Downgrade handling"): once a
 * peer (address and listen port) is known to speak bttls, it is dialed over TLS only until the
 * knowledge expires, however its later connections fail. Only positive knowledge is kept: a negative
 * entry is what an attacker resetting our TLS connections would want us to remember.
 */
import { endpointKey } from '../codec/endpoint.js'

export type CapabilitySource = 'tls-link' | 'extended-handshake' | 'pex' | 'tracker' | 'dht' | 'user'

export interface KnownTls {
  readonly source: CapabilitySource
  readonly expires: number
}

/** Default lifetime of a "speaks bttls" entry: 30 days, refreshed on every confirmation. */
export const DEFAULT_TLS_MEMORY_MS = 30 * 24 * 3600_000

export class CapabilityCache {
  private readonly entries = new Map<string, KnownTls>()

  constructor (private readonly ttlMs = DEFAULT_TLS_MEMORY_MS, private readonly now: () => number = Date.now) {}

  markTls (host: string, port: number, source: CapabilitySource): void {
    this.entries.set(endpointKey(host, port), { source, expires: this.now() + this.ttlMs })
  }

  /** The entry if the peer is known to speak bttls and the knowledge has not expired. */
  knownTls (host: string, port: number): KnownTls | undefined {
    const entry = this.entries.get(endpointKey(host, port))
    if (entry === undefined) return undefined
    if (entry.expires <= this.now()) { this.entries.delete(endpointKey(host, port)); return undefined }
    return entry
  }

  get size (): number { return this.entries.size }

  /** The live entries (for saving across restarts; see capability-file.ts). */
  * snapshot (): Iterable<{ readonly host: string, readonly port: number } & KnownTls> {
    const now = this.now()
    for (const [k, entry] of this.entries) {
      if (entry.expires <= now) continue
      const at = k.lastIndexOf('|') // endpointKey: the address, '|', the port
      yield { host: k.slice(0, at), port: Number(k.slice(at + 1)), ...entry }
    }
  }

  /**
   * Puts back a saved entry. Its expiry is kept but never beyond one lifetime from now (a file cannot
   * make an entry permanent), and an entry already known with a later expiry is left as it is.
   */
  restore (host: string, port: number, source: CapabilitySource, expires: number): void {
    const capped = Math.min(expires, this.now() + this.ttlMs)
    if (capped <= this.now()) return
    const current = this.entries.get(endpointKey(host, port))
    if (current === undefined || current.expires < capped) this.entries.set(endpointKey(host, port), { source, expires: capped })
  }
}
