/**
 * Transport policy of a session (BEP: "Capability signalling and downgrade handling").
 *
 *   require-tls  TLS only, both directions. Never falls back.
 *   prefer-tls   (default) dial TLS first; if the peer does not speak TLS, MSE, then plaintext.
 *                Accept every transport inbound.
 *   allow-plain  dial TLS only to peers known to speak it; others MSE, then plaintext.
 *
 * Under every policy a peer known to speak TLS is dialed over TLS only (no silent downgrade).
 *
 * A swarm whose level allows no legacy transport (SwarmLevel.legacyTransports: Strict and Full Strict)
 * is TLS-only whatever the policy: its infohash alone must not let anyone in, and MSE/plaintext
 * authenticate nothing beyond the infohash.
 */
import type { SwarmLevel } from '../levels/level.js'
import type { TransportKind } from './peer-link.js'

/** What the policy asks of a swarm's level: whether it may run over MSE or plaintext at all. */
export type LevelTransports = Pick<SwarmLevel, 'legacyTransports'>

export const POLICIES = ['require-tls', 'prefer-tls', 'allow-plain'] as const
export type Policy = typeof POLICIES[number]
export const DEFAULT_POLICY: Policy = 'prefer-tls'

export function isPolicy (value: string): value is Policy {
  return (POLICIES as readonly string[]).includes(value)
}

/** Whether an inbound connection of this transport may join a swarm at this level. */
export function acceptsInbound (policy: Policy, level: LevelTransports, transport: TransportKind): boolean {
  if (transport === 'tls') return true
  return policy !== 'require-tls' && level.legacyTransports
}

/**
 * The transports to try, in order, when dialing. `knownTls` is what capability signalling says of the
 * peer: true (advertised TLS), false (known legacy-only), undefined (unknown).
 */
export function dialOrder (policy: Policy, level: LevelTransports, knownTls: boolean | undefined): TransportKind[] {
  if (policy === 'require-tls' || !level.legacyTransports) return ['tls']
  // A peer that advertised TLS is never dialed in the clear: otherwise anyone who can reset our TLS
  // connections could turn it into a plaintext peer.
  if (knownTls === true) return ['tls']
  if (policy === 'allow-plain' || knownTls === false) return ['mse', 'plain']
  return ['tls', 'mse', 'plain']
}
