/** Two links to one peer (the same peer id): which one the swarm keeps. */
import type { PeerLink } from '../wire/peer-link.js'

/** What the choice reads of a peer: its id (hex) and how its link was made. */
export interface LinkEnd {
  readonly id: string
  readonly link: Pick<PeerLink, 'transport' | 'direction'>
}

/**
 * Of two links to one peer, whether to keep the new one. TLS beats a legacy transport (an upgrade);
 * otherwise the link initiated by the side with the lower peer id wins, a rule the peer computes
 * alike, so a simultaneous dial in both directions keeps one link, not none. Two links we both
 * initiated (the peer under two addresses): the older stays.
 */
export function keepsNewLink (ourPeerId: Buffer, old: LinkEnd, fresh: LinkEnd): boolean {
  if ((old.link.transport === 'tls') !== (fresh.link.transport === 'tls')) return fresh.link.transport === 'tls'
  if (old.link.direction === fresh.link.direction) return false
  const weAreLower = Buffer.compare(ourPeerId, Buffer.from(fresh.id, 'hex')) < 0
  // Keep the link the lower id initiated: ours is the outbound one.
  return (fresh.link.direction === 'outbound') === weAreLower
}
