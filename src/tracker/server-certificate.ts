/**
 * The secure tracker's own TLS certificate, issued by the swarm CA. A Full Strict torrent carries its CA
 * (`ssl-cert`), so a client verifies the tracker against that CA alone, with no public PKI involved;
 * libtorrent does the same for SSL torrents (it announces through the torrent's SSL context).
 * Same key type as the peer profile (ECDSA P-256); names: SAN DNS/IP entries, extKeyUsage serverAuth.
 */
import 'reflect-metadata'
import { randomBytes, webcrypto } from 'node:crypto'
import { isIP } from 'node:net'
import * as x509 from '@peculiar/x509'
import type { PemPair } from '../levels/full-strict/certificate-profile.js'
import { CERT_CLOCK_SKEW_S } from '../handshake/constants.js'

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const

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
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair
  const caCert = new x509.X509Certificate(req.ca.certPem)
  const caKey = await webcrypto.subtle.importKey('pkcs8', pemBody(req.ca.keyPem), EC, false, ['sign'])
  const now = (req.now ?? new Date()).getTime()
  const serial = randomBytes(16)
  serial[0] = serial[0]! & 0x7f
  const san: x509.JsonGeneralName[] = names.map(n => isIP(n) !== 0 ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n })
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial.toString('hex'),
    subject: `CN=${names[0]!.replace(/([,+"\\<>;=])/g, '\\$1')}`,
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
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey))
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END PRIVATE KEY-----\n`
  return { certPem: cert.toString('pem'), keyPem }
}

function pemBody (pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64')
}
