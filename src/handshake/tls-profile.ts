/**
 * The TLS 1.3 profile of the BEP ("TLS 1.3 profile"): version, suites, groups, and what the
 * initiator must NOT send. One place, so initiator and responder cannot disagree.
 */
import type { ConnectionOptions, SecureContextOptions } from 'node:tls'
import { CIPHER_SUITES, GROUPS, type CipherSuite } from './constants.js'

const common = {
  minVersion: 'TLSv1.3',
  maxVersion: 'TLSv1.3',
  ciphers: CIPHER_SUITES.join(':'),
  ecdhCurve: GROUPS.join(':')
} as const

/** Responder context options; the caller adds the (throwaway or level-specific) certificate. */
export function responderContextOptions (): SecureContextOptions {
  return { ...common }
}

/**
 * Initiator options. No `servername`: Node sends SNI only when given one, and the BEP forbids SNI
 * (it is cleartext). No ALPN: it would fingerprint the protocol at no security gain. The responder's
 * certificate is not checked by TLS; the proof exchange authenticates the swarm instead.
 *
 * `suites` narrows the offer to some of the profile's suites (benchmarks pick AES-GCM or ChaCha20
 * this way); anything outside the profile is refused rather than offered.
 */
export function initiatorOptions (suites?: readonly CipherSuite[]): ConnectionOptions {
  if (suites === undefined) return { ...common, rejectUnauthorized: false }
  if (suites.length === 0 || suites.some(s => !(CIPHER_SUITES as readonly string[]).includes(s))) {
    throw new RangeError(`cipher suites must be a non-empty subset of ${CIPHER_SUITES.join(', ')}`)
  }
  return { ...common, ciphers: suites.join(':'), rejectUnauthorized: false }
}
