/**
 * The secure tracker's own TLS certificate, issued by the swarm CA. A Full Strict torrent carries its CA
 * (`ssl-cert`), so a client verifies the tracker against that CA alone, with no public PKI involved;
 * libtorrent does the same for SSL torrents (it announces through the torrent's SSL context).
 * Same key type as the peer profile (ECDSA P-256); names: SAN DNS/IP entries, extKeyUsage serverAuth.
 */
import { isIP } from 'node:net'
import type { PemPair } from './certificate-profile.js'
import { CERT_CLOCK_SKEW_S } from '../protocol/constants.js'
import { escapeDn, generateKeyPair, importSigningKey, pkcs8Pem, randomSerial, SIGNING, x509 } from './x509.js'

export const DEFAULT_SERVER_NAMES = ['localhost', '127.0.0.1'] as const

export interface ServerCertificateRequest {
  readonly ca: PemPair
  /** DNS names and IP addresses the tracker answers on (default localhost and 127.0.0.1). */
  readonly names?: readonly string[]
  /** Default 30 days; a tracker issues itself a fresh one at every start. */
  readonly lifetimeSeconds?: number
  readonly now?: Date
}

export async function issueServerCertificate (req: ServerCertificateRequest): Promise<PemPair> {
  const names = req.names ?? DEFAULT_SERVER_NAMES
  if (names.length === 0) throw new RangeError('a server certificate names at least one host')
  const keys = await generateKeyPair()
  const caCert = new x509.X509Certificate(req.ca.certPem)
  const caKey = await importSigningKey(req.ca.keyPem)
  const now = (req.now ?? new Date()).getTime()
  const san: x509.JsonGeneralName[] = names.map(n => isIP(n) !== 0 ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n })
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${escapeDn(names[0]!)}`,
    issuer: caCert.subject,
    notBefore: new Date(now - CERT_CLOCK_SKEW_S * 1000),
    // Not past the CA's own end, which chain verification would refuse anyway.
    notAfter: new Date(Math.min(now + (req.lifetimeSeconds ?? 30 * 86400) * 1000, caCert.notAfter.getTime())),
    signingAlgorithm: SIGNING,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(san),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey)
    ]
  })
  return { certPem: cert.toString('pem'), keyPem: pkcs8Pem(keys.privateKey) }
}
