/**
 * The responder's certificate at levels that do not authenticate with certificates (Basic, Strict).
 * TLS 1.3 needs one for an (EC)DHE handshake without external PSKs; it is sent encrypted and
 * authenticates nothing, so it is a fresh Ed25519 key with a random subject that names nobody.
 */
import 'reflect-metadata'
import { webcrypto, randomBytes } from 'node:crypto'
import * as x509 from '@peculiar/x509'

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])

export interface CertificateAndKey {
  readonly cert: string
  readonly key: string
}

export async function createThrowawayCertificate (): Promise<CertificateAndKey> {
  const algorithm = { name: 'Ed25519' }
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair
  const now = Date.now()
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex'),
    name: `CN=${randomBytes(8).toString('hex')}`,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 365 * 24 * 3600_000),
    keys,
    signingAlgorithm: algorithm
  })
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)
  const key = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END PRIVATE KEY-----\n`
  return { cert: certificate.toString('pem'), key }
}
