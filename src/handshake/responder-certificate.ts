/**
 * The responder's TLS certificate at levels that do not authenticate with certificates (Basic, Strict,
 * and Full Strict, whose peer certificates travel after the handshake). It authenticates nothing: the
 * proof exchange does. What it must do is look like an ordinary web server's to an active prober
 * (BEP: "Wire image"): an ECDSA P-256 leaf with a subject alternative name, a validity window of an
 * ordinary length that says nothing about when the process started, and a fresh key every rotation,
 * so it does not link one peer's connections for long. An operator who has a real certificate for a
 * real site gives that instead (the listener's `certificate` option).
 */
import 'reflect-metadata'
import { KeyObject, randomBytes, randomInt, webcrypto } from 'node:crypto'
import * as x509 from '@peculiar/x509'

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])

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

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const

export async function createResponderCertificate (name = DEFAULT_CERTIFICATE_NAME, now = Date.now()): Promise<CertificateAndKey> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair
  const notBefore = Math.floor(now / 1000) - randomInt(3600, CERTIFICATE_MAX_AGE_S)
  const serial = randomBytes(16)
  serial[0] = serial[0]! & 0x7f // positive, as RFC 5280 asks
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: `CN=${name}`,
    notBefore: new Date(notBefore * 1000),
    notAfter: new Date((notBefore + CERTIFICATE_VALIDITY_S) * 1000),
    keys,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: name }])
    ]
  })
  const key = KeyObject.from(keys.privateKey).export({ format: 'pem', type: 'pkcs8' }).toString()
  return { cert: certificate.toString('pem'), key }
}
