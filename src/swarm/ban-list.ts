/**
 * Who the swarm refuses: banned peers by peer id AND by endpoint (address and listening port). A peer id
 * alone does not stick: a hostile peer picks a fresh one per connection, and we would dial its address
 * again. The address alone would be too wide: every peer behind one NAT, or every peer of a loopback
 * test, shares it. The listening port is the remote port of a link we dialed, or the `p` a peer
 * announced in its extended handshake (BEP 10) for a link it dialed.
 */

import { endpointKey } from '../codec/endpoint.js'
import { BoundedSet, EndpointSet } from './endpoint-set.js'

/** Bound on remembered bans, so a flood of fresh ids and ports cannot grow the lists without limit. */
const MAX_BANS = 10_000

/** Other layers import the endpoint key from here as well as from codec/endpoint.ts. */
export { endpointKey }

export class BanList {
  private readonly ids = new BoundedSet(MAX_BANS)
  private readonly endpoints = new EndpointSet(MAX_BANS)

  ban (peerId: string | undefined, address: string, ports: Iterable<number>): void {
    if (peerId !== undefined && peerId !== '') this.ids.add(peerId)
    this.endpoints.add(address, ports)
  }

  hasId (peerId: string): boolean {
    return this.ids.has(peerId)
  }

  hasEndpoint (address: string, port: number): boolean {
    return this.endpoints.has(address, port)
  }

  get size (): number {
    return this.endpoints.size
  }
}
