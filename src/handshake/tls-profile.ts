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
import { createSecureContext, type ConnectionOptions, type SecureContext, type SecureContextOptions } from 'node:tls'
import { ALPN_OFFER, CIPHER_SUITES, type CipherSuite } from '../protocol/constants.js'

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

const initiatorContexts = new Map<string, SecureContext>()

/**
 * The initiator's SecureContext for `suites`, made once per process: tls.connect without one builds a
 * new OpenSSL context (and loads the root store into it) for every connection, the largest single
 * cost of a handshake after the public-key operations. The context holds no per-connection state
 * (the ALPN list is set per socket, and no session is resumed), so the ClientHello is unchanged.
 */
export function initiatorContext (suites?: readonly CipherSuite[]): SecureContext {
  const key = suites?.join(':') ?? ''
  let context = initiatorContexts.get(key)
  if (context === undefined) {
    const { ALPNProtocols: _alpn, rejectUnauthorized: _unchecked, ...contextOptions } = initiatorOptions(suites)
    context = createSecureContext(contextOptions as SecureContextOptions)
    initiatorContexts.set(key, context)
  }
  return context
}
