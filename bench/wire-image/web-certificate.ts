/**
 * The reference web servers' certificates, self-signed for example.com (with a SAN), made by openssl
 * as an admin would. Two kinds, because the web has both and the encrypted Certificate and
 * CertificateVerify records show which one a server has: RSA-2048 (the lab: 856 and 281 bytes) and
 * ECDSA P-256 (the kind bttls's responder presents, and most CDNs' default).
 */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export type CertificateKind = 'rsa' | 'ecdsa'

export interface WebCertificate { readonly certFile: string, readonly keyFile: string, readonly kind: CertificateKind }

const KEY_ARGS: Record<CertificateKind, string[]> = {
  rsa: ['-newkey', 'rsa:2048'],
  ecdsa: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']
}

export async function makeWebCertificate (dir: string, kind: CertificateKind = 'rsa'): Promise<WebCertificate> {
  const certFile = join(dir, `example.com-${kind}.pem`)
  const keyFile = join(dir, `example.com-${kind}.key`)
  await run('openssl', ['req', '-x509', ...KEY_ARGS[kind], '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '90',
    '-subj', '/CN=example.com', '-addext', 'subjectAltName=DNS:example.com,DNS:www.example.com'], { timeout: 60_000 })
  return { certFile, keyFile, kind }
}
