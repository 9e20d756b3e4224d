/**
 * The TLS profile of the BEP ("TLS profile"). Both sides look like ordinary HTTPS on the wire:
 *
 *   initiator  the ClientHello of Node's own HTTPS client (its default versions, suites, groups and
 *              signature algorithms, TLS 1.2 offered too) with the ALPN list of a browser, and no
 *              server name: peers are dialed by address, as an HTTPS client dials an IP literal.
 *   responder  a web server: TLS 1.2 and 1.3, HelloRetryRequest for other groups, ALPN as Node's
 *              https.Server selects it, an ordinary certificate (responder-certificate.ts).
 *
 * A bttls connection is TLS 1.3 or nothing: secure-channel.ts checks what was negotiated, and the
 * responder hands a TLS 1.2 client to its decoy web site.
 */
import type { ConnectionOptions, SecureContextOptions } from 'node:tls'
import { ALPN_OFFER, CIPHER_SUITES, type CipherSuite } from './constants.js'

/**
 * The ALPN protocols the responder selects from, as Node's https.Server does by default: http/1.1
 * only, so every client that offers it (our initiators, browsers, curl) gets an HTTP/1.1 decoy.
 */
export const RESPONDER_ALPN = ['http/1.1']

/** Responder options; the caller adds the certificate. Versions, suites and groups stay Node's defaults. */
export function responderContextOptions (): SecureContextOptions & { ALPNProtocols: string[] } {
  return { ALPNProtocols: [...RESPONDER_ALPN] }
}

/**
 * Initiator options. No `servername`: Node sends SNI only when given one, and an HTTPS client dialing
 * an address sends none either. The responder's certificate is not checked by TLS; the proof
 * exchange authenticates the swarm instead.
 *
 * `suites` narrows the offer to some TLS 1.3 suites (benchmarks pick AES-GCM or ChaCha20 this way).
 * It changes the ClientHello's fingerprint, so it is a measurement knob, never a default.
 */
export function initiatorOptions (suites?: readonly CipherSuite[]): ConnectionOptions {
  const options: ConnectionOptions = { ALPNProtocols: [...ALPN_OFFER], rejectUnauthorized: false }
  if (suites === undefined) return options
  if (suites.length === 0 || suites.some(s => !(CIPHER_SUITES as readonly string[]).includes(s))) {
    throw new RangeError(`cipher suites must be a non-empty subset of ${CIPHER_SUITES.join(', ')}`)
  }
  return { ...options, minVersion: 'TLSv1.3', ciphers: suites.join(':') }
}
