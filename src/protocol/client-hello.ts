/**
 * A minimal ClientHello reader (RFC 8446 §4.1.2) for checking what an initiator reveals in
 * cleartext: which extensions it sends, its SNI and ALPN values. Used by the demo's recorder and
 * the tests; the TLS stack itself never depends on it. Bounded: it only reads the bytes given.
 */
import { MalformedMessageError } from '../errors.js'

export const EXTENSION_SERVER_NAME = 0x0000
export const EXTENSION_ALPN = 0x0010
export const EXTENSION_PRE_SHARED_KEY = 0x0029

export const EXTENSION_SUPPORTED_VERSIONS = 0x002b

export interface ClientHelloSummary {
  /** Cipher suite codes in the order offered. */
  readonly cipherSuites: readonly number[]
  readonly extensions: readonly number[]
  readonly serverName?: string
  readonly alpn?: readonly string[]
  /** The supported_versions extension's list (0x0304 is TLS 1.3), if sent. */
  readonly supportedVersions?: readonly number[]
}

/** Parses the first TLS record of a connection, which must hold a whole ClientHello. */
export function parseClientHello (stream: Uint8Array): ClientHelloSummary {
  const b = Buffer.from(stream.buffer, stream.byteOffset, stream.byteLength)
  let at = 0
  const need = (n: number): void => { if (at + n > b.length) throw new MalformedMessageError('truncated ClientHello') }
  const u8 = (): number => { need(1); return b[at++]! }
  const u16 = (): number => { need(2); const v = b.readUInt16BE(at); at += 2; return v }
  const skip = (n: number): void => { need(n); at += n }

  if (u8() !== 0x16) throw new MalformedMessageError('not a TLS handshake record')
  skip(2)
  const recordEnd = u16() + 5
  if (u8() !== 0x01) throw new MalformedMessageError('not a ClientHello')
  skip(3) // handshake length
  skip(2 + 32) // legacy_version, random
  skip(u8()) // legacy_session_id
  const suitesEnd = u16() + at
  const cipherSuites: number[] = []
  while (at < suitesEnd) cipherSuites.push(u16())
  skip(u8()) // legacy_compression_methods
  const extensionsEnd = u16() + at
  if (extensionsEnd > recordEnd) throw new MalformedMessageError('ClientHello spans more than one record')
  const extensions: number[] = []
  let serverName: string | undefined
  let alpn: string[] | undefined
  let supportedVersions: number[] | undefined
  while (at < extensionsEnd) {
    const type = u16()
    const length = u16()
    need(length)
    const body = b.subarray(at, at + length)
    extensions.push(type)
    if (type === EXTENSION_SERVER_NAME && body.length >= 5) serverName = body.subarray(5, 5 + body.readUInt16BE(3)).toString('latin1')
    if (type === EXTENSION_ALPN) {
      alpn = []
      for (let i = 2; i < body.length;) { const n = body[i]!; alpn.push(body.subarray(i + 1, i + 1 + n).toString('latin1')); i += 1 + n }
    }
    if (type === EXTENSION_SUPPORTED_VERSIONS && body.length >= 1) {
      supportedVersions = []
      for (let i = 1; i + 1 < body.length && i <= body[0]!; i += 2) supportedVersions.push(body.readUInt16BE(i))
    }
    at += length
  }
  return { cipherSuites, extensions, serverName, alpn, supportedVersions }
}
