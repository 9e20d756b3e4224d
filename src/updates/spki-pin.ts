/**
 * Public key pins (RFC 7469 "pin-sha256"): the SHA-256 of a certificate's SubjectPublicKeyInfo. A pin
 * names a key, not a certificate, so it survives the renewal of a certificate for the same key, and a
 * certificate authority cannot satisfy it by issuing another certificate for the name.
 * Written as base64 (as in HPKP, and curl's `--pinnedpubkey sha256//...`); hex is accepted on input.
 */
import { createHash, X509Certificate } from 'node:crypto'

/** base64 SHA-256 of the certificate's SPKI (DER or PEM). */
export function spkiPin (certificate: string | Buffer): string {
  const spki = new X509Certificate(certificate).publicKey.export({ type: 'spki', format: 'der' })
  return createHash('sha256').update(spki).digest('base64')
}

/** A pin as the user wrote it (base64, `sha256//` + base64, or 64 hex digits), or undefined if it is none of these. */
export function parsePin (text: string): Buffer | undefined {
  const s = text.startsWith('sha256//') ? text.slice('sha256//'.length) : text
  if (/^[0-9a-f]{64}$/i.test(s)) return Buffer.from(s, 'hex')
  if (/^[A-Za-z0-9+/]{43}=$/.test(s)) return Buffer.from(s, 'base64')
  return undefined
}
