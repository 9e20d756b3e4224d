/**
 * Bounded sets of what peers tell us (peer ids, endpoints): when full, the oldest entry is forgotten
 * first, so what peers announce cannot grow them without limit.
 */
import { endpointKey } from '../codec/endpoint.js'

export class BoundedSet {
  private readonly keys = new Set<string>()

  constructor (private readonly max: number) {}

  add (key: string): void {
    if (this.keys.size >= this.max && !this.keys.has(key)) {
      const oldest = this.keys.values().next()
      if (oldest.done !== true) this.keys.delete(oldest.value)
    }
    this.keys.add(key)
  }

  has (key: string): boolean {
    return this.keys.has(key)
  }

  get size (): number {
    return this.keys.size
  }
}

/** Peer endpoints: an address and a listening port (the remote port of a link we dialed, or BEP 10 `p`). */
export class EndpointSet {
  private readonly keys: BoundedSet

  constructor (max: number) {
    this.keys = new BoundedSet(max)
  }

  add (address: string, ports: Iterable<number>): void {
    for (const port of ports) if (port > 0 && port < 65536) this.keys.add(endpointKey(address, port))
  }

  has (address: string, port: number): boolean {
    return this.keys.has(endpointKey(address, port))
  }

  get size (): number {
    return this.keys.size
  }
}
