/**
 * What every certificate bttls makes shares: @peculiar/x509 on Node's WebCrypto (set here once, for
 * the whole process), the one key type (ECDSA P-256, ECDSA-SHA256 signatures), positive random
 * serials and their one textual form, and PEM in and out.
 */
import 'reflect-metadata'
import { createPrivateKey, KeyObject, randomBytes, webcrypto } from 'node:crypto'
import * as x509 from '@peculiar/x509'

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])

export { x509 }

/** Key generation and import parameters of every bttls certificate key. */
export const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const
export const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const

/** A fresh P-256 key pair, extractable (its private key is written out as PEM). */
export async function generateKeyPair (): Promise<webcrypto.CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair
}

/** A random 128-bit serial, positive as RFC 5280 asks of an INTEGER, in hex. */
export function randomSerial (): string {
  const serial = randomBytes(16)
  serial[0] = serial[0]! & 0x7f
  return serial.toString('hex')
}

/** A serial as bttls logs, publishes and compares it: lowercase hex, no leading zeros. */
export function canonicalSerial (serial: string): string {
  return serial.toLowerCase().replace(/^0+(?=.)/, '')
}

/** The private key as PKCS#8 PEM. */
export function pkcs8Pem (key: webcrypto.CryptoKey): string {
  return KeyObject.from(key).export({ format: 'pem', type: 'pkcs8' }).toString()
}

/** A PKCS#8 PEM private key as a WebCrypto signing key. */
export async function importSigningKey (keyPem: string): Promise<webcrypto.CryptoKey> {
  const der = createPrivateKey(keyPem).export({ format: 'der', type: 'pkcs8' })
  return await webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign'])
}

/** A value for a distinguished name (CN=...), with RFC 4514's special characters escaped. */
export function escapeDn (value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1')
}
