/**
 * The responder's TLS certificate at levels that do not authenticate with certificates (Basic, Strict,
 * and Full Strict, whose peer certificates travel after the handshake). It authenticates nothing: the
 * proof exchange does. What it must do is look like an ordinary web server's to an active prober
 * (BEP: "Wire image"): an ECDSA P-256 leaf with a subject alternative name, a validity window of an
 * ordinary length that says nothing about when the process started, and a fresh key every rotation,
 * so it does not link one peer's connections for long. Its extensions are those `openssl req -x509`
 * writes, which is how stock installs make their self-signed certificates (Debian's make-ssl-cert,
 * the nginx and Node guides): the key identifiers as well as the usages and the name. Without the
 * identifiers its Certificate record was some 56 bytes shorter than such a certificate's (the lab:
 * 403 bytes, against 460 for openssl's ECDSA P-256), a length only bttls produced. An operator who
 * has a real certificate for a real site gives that instead (the listener's `certificate` option).
 */
import { randomInt } from 'node:crypto'
import { generateKeyPair, pkcs8Pem, randomSerial, SIGNING, x509 } from './x509.js'

export interface CertificateAndKey {
  readonly cert: string
  readonly key: string
}

/** The name in the generated certificate, as in the self-signed certificates of stock server installs. */
export const DEFAULT_CERTIFICATE_NAME = 'localhost'
/** Validity of a generated certificate: 90 days, as the most common public CA issues them. */
export const CERTIFICATE_VALIDITY_S = 90 * 86_400
/** How far back notBefore is drawn: the certificate looks issued some time ago, not at start-up. */
export const CERTIFICATE_MAX_AGE_S = 30 * 86_400
/** A new key and certificate this often, so one certificate does not link a peer's connections for long. */
export const CERTIFICATE_ROTATION_MS = 24 * 3600_000

export async function createResponderCertificate (name = DEFAULT_CERTIFICATE_NAME, now = Date.now()): Promise<CertificateAndKey> {
  const keys = await generateKeyPair()
  const notBefore = Math.floor(now / 1000) - randomInt(3600, CERTIFICATE_MAX_AGE_S)
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${name}`,
    notBefore: new Date(notBefore * 1000),
    notAfter: new Date((notBefore + CERTIFICATE_VALIDITY_S) * 1000),
    keys,
    signingAlgorithm: SIGNING,
    extensions: [
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey),
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: name }])
    ]
  })
  return { cert: certificate.toString('pem'), key: pkcs8Pem(keys.privateKey) }
}
