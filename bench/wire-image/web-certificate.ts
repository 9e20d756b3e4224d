/**
 * The reference web servers' certificate: self-signed RSA-2048 for example.com (with a SAN), made by
 * openssl as an admin would, so its Certificate and CertificateVerify records have the sizes of an
 * ordinary server's (the lab: 839 and 281 bytes).
 */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface WebCertificate { readonly certFile: string, readonly keyFile: string }

export async function makeWebCertificate (dir: string): Promise<WebCertificate> {
  const certFile = join(dir, 'example.com.pem')
  const keyFile = join(dir, 'example.com.key')
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '90',
    '-subj', '/CN=example.com', '-addext', 'subjectAltName=DNS:example.com,DNS:www.example.com'], { timeout: 60_000 })
  return { certFile, keyFile }
}
