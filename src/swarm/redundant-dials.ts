/**
 * Which dials would only make a link to drop. Trackers and PEX name every peer again at each announce;
 * dialing a peer that already has a link with us (it dialed us, and announced its listening port as
 * BEP 10 `p`) ends in a DuplicateLinkError, and, once complete, dialing a seed we already let go of
 * ends at once (both seeds).
 */
import { endpointKey } from '../codec/endpoint.js'
import { EndpointSet } from './endpoint-set.js'
import type { Peer } from './peer.js'

/** Seed endpoints remembered (the oldest are forgotten first). */
const SEEDS_REMEMBERED = 10_000

export class RedundantDials {
  private readonly seedsLetGo = new EndpointSet(SEEDS_REMEMBERED)

  constructor (private readonly peers: () => Iterable<Peer>) {}

  /** The swarm, complete, closes its link to this seed. */
  letGoOfSeed (peer: Peer): void {
    this.seedsLetGo.add(peer.link.remoteAddress, peer.listenPorts())
  }

  redundant (address: string, port: number, complete: boolean): boolean {
    if (complete && this.seedsLetGo.has(address, port)) return true
    const key = endpointKey(address, port)
    for (const p of this.peers()) {
      if (!p.closed && p.listenPorts().some(listening => endpointKey(p.link.remoteAddress, listening) === key)) return true
    }
    return false
  }
}
