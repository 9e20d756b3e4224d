/**
 * The names bttls adds to a BEP 3 announce. Request parameters ride beside info_hash & co.; response
 * keys beside `interval` and `peers`, prefixed "bttls " so no other tracker key can collide.
 */

/** Query parameter: the user's token (alternatively the last path segment: /announce/<token>). */
export const PASSKEY_PARAM = 'passkey'
/** Query parameter: a PKCS#10 CSR, DER, base64url without padding: "issue me a certificate for this key". */
export const CSR_PARAM = 'csr'

/** Response key: the issued peer certificate, DER. */
export const CERTIFICATE_KEY = 'bttls certificate'
/** Response key: the certificate's notAfter, unix seconds. */
export const CERTIFICATE_EXPIRES_KEY = 'bttls certificate expires'
/** Response key: serials (lowercase hex) of unexpired certificates for this torrent the tracker revoked. */
export const REVOKED_KEY = 'bttls revoked'
/** Response key beside `failure reason`: one of FAILURE_CODES (src/tracker/errors.ts). */
export const FAILURE_CODE_KEY = 'bttls failure code'

/** Largest CSR the tracker accepts (DER bytes); a P-256 CSR is about 250. */
export const MAX_CSR_BYTES = 4096

export interface BttlsAnnounceFields {
  /** DER of the certificate the tracker issued for our CSR. */
  readonly certificateDer?: Buffer
  /** Its notAfter, unix seconds, as the tracker states it. */
  readonly certificateExpires?: number
  /** Revoked serials for this torrent, lowercase hex without leading zeros. */
  readonly revokedSerials: string[]
}

/** Reads the bttls keys of a decoded announce response; keys of the wrong type are ignored. */
export function readBttlsFields (dict: ReadonlyMap<string, unknown>): BttlsAnnounceFields {
  const cert = dict.get(CERTIFICATE_KEY)
  const expires = dict.get(CERTIFICATE_EXPIRES_KEY)
  const revoked = dict.get(REVOKED_KEY)
  return {
    ...(Buffer.isBuffer(cert) ? { certificateDer: cert } : {}),
    ...(typeof expires === 'number' || typeof expires === 'bigint' ? { certificateExpires: Number(expires) } : {}),
    revokedSerials: Array.isArray(revoked)
      ? revoked.filter(Buffer.isBuffer).map(b => b.toString('latin1').toLowerCase()).filter(s => /^[0-9a-f]{1,128}$/.test(s)).map(s => s.replace(/^0+(?=.)/, ''))
      : []
  }
}
