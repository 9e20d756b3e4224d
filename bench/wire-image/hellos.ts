/**
 * ClientHello and ServerHello (RFC 8446 §4.1.2–4.1.3), parsed completely enough to compute JA3,
 * JA4 and JA4S and to say what a hello offers: suites, versions, groups, key shares, signature
 * algorithms, SNI, ALPN. The input is a handshake message body (after its 4-byte header), as
 * tls-records.ts's leadingHandshakeMessages gives it. Bounded: reads only the bytes given and
 * throws HelloFormatError on anything truncated.
 *
 * src/protocol/client-hello.ts reads only extension types, SNI and ALPN for the demo's check; the
 * harness needs every list, in order, with GREASE kept (the fingerprints drop it themselves).
 */
import { createHash } from 'node:crypto'

export const HANDSHAKE_TYPE = { CLIENT_HELLO: 1, SERVER_HELLO: 2 } as const

export const EXT = {
  SERVER_NAME: 0x0000,
  SUPPORTED_GROUPS: 0x000a,
  EC_POINT_FORMATS: 0x000b,
  SIGNATURE_ALGORITHMS: 0x000d,
  ALPN: 0x0010,
  PADDING: 0x0015,
  PRE_SHARED_KEY: 0x0029,
  SUPPORTED_VERSIONS: 0x002b,
  PSK_KEY_EXCHANGE_MODES: 0x002d,
  KEY_SHARE: 0x0033
} as const

/** ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3): SHA-256 of "HelloRetryRequest". */
export const HELLO_RETRY_REQUEST_RANDOM = createHash('sha256').update('HelloRetryRequest').digest()

export interface Extension { readonly type: number, readonly data: Buffer }

export interface ClientHello {
  readonly legacyVersion: number
  readonly sessionIdLength: number
  readonly cipherSuites: readonly number[]
  readonly extensions: readonly Extension[]
  readonly serverName?: string
  readonly alpn?: readonly string[]
  readonly supportedVersions?: readonly number[]
  readonly supportedGroups?: readonly number[]
  readonly ecPointFormats?: readonly number[]
  readonly signatureAlgorithms?: readonly number[]
  /** Groups of the key_share entries, with each share's length. */
  readonly keyShares?: ReadonlyArray<{ readonly group: number, readonly length: number }>
  readonly pskKeyExchangeModes?: readonly number[]
  /** Length of the padding extension's data, when present. */
  readonly paddingLength?: number
}

export interface ServerHello {
  readonly legacyVersion: number
  readonly cipherSuite: number
  readonly extensions: readonly Extension[]
  /** From supported_versions; TLS 1.2 servers leave it out. */
  readonly selectedVersion?: number
  readonly helloRetryRequest: boolean
  /** key_share: the server's group (HelloRetryRequest: the group it asks for). */
  readonly keyShareGroup?: number
  /** ALPN, visible only in a TLS 1.2 ServerHello (TLS 1.3 sends it encrypted). */
  readonly alpn?: string
}

export class HelloFormatError extends Error {
  override name = 'HelloFormatError'
}

/** A bounds-checked big-endian reader over one message. */
class Reader {
  at = 0
  constructor (readonly b: Buffer, readonly what: string) {}
  need (n: number): void { if (this.at + n > this.b.length) throw new HelloFormatError(`truncated ${this.what}`) }
  u8 (): number { this.need(1); return this.b[this.at++]! }
  u16 (): number { this.need(2); const v = this.b.readUInt16BE(this.at); this.at += 2; return v }
  bytes (n: number): Buffer { this.need(n); const v = this.b.subarray(this.at, this.at + n); this.at += n; return v }
  /** A length-prefixed vector (`width` bytes of length). */
  vector (width: 1 | 2): Buffer { return this.bytes(width === 1 ? this.u8() : this.u16()) }
  get done (): boolean { return this.at >= this.b.length }
}

function u16List (data: Buffer, what: string): number[] {
  if (data.length % 2 !== 0) throw new HelloFormatError(`odd length ${what}`)
  const out: number[] = []
  for (let i = 0; i < data.length; i += 2) out.push(data.readUInt16BE(i))
  return out
}

function extensionsOf (r: Reader): Extension[] {
  if (r.done) return [] // extensions are optional before TLS 1.3
  const block = new Reader(r.vector(2), 'extensions')
  const out: Extension[] = []
  while (!block.done) out.push({ type: block.u16(), data: block.vector(2) })
  return out
}

function alpnList (data: Buffer): string[] {
  const r = new Reader(new Reader(data, 'ALPN').vector(2), 'ALPN list')
  const out: string[] = []
  while (!r.done) out.push(r.vector(1).toString('latin1'))
  return out
}

export function parseClientHello (body: Buffer): ClientHello {
  const r = new Reader(body, 'ClientHello')
  const legacyVersion = r.u16()
  r.bytes(32) // random
  const sessionIdLength = r.vector(1).length
  const cipherSuites = u16List(r.vector(2), 'cipher_suites')
  r.vector(1) // legacy_compression_methods
  const extensions = extensionsOf(r)
  const hello: { -readonly [K in keyof ClientHello]: ClientHello[K] } = { legacyVersion, sessionIdLength, cipherSuites, extensions }
  for (const { type, data } of extensions) {
    const e = new Reader(data, `extension ${type}`)
    switch (type) {
      case EXT.SERVER_NAME: {
        const list = new Reader(e.vector(2), 'server_name list')
        while (!list.done) {
          const nameType = list.u8()
          const name = list.vector(2)
          if (nameType === 0 && hello.serverName === undefined) hello.serverName = name.toString('latin1')
        }
        break
      }
      case EXT.ALPN: hello.alpn = alpnList(data); break
      case EXT.SUPPORTED_VERSIONS: hello.supportedVersions = u16List(e.vector(1), 'supported_versions'); break
      case EXT.SUPPORTED_GROUPS: hello.supportedGroups = u16List(e.vector(2), 'supported_groups'); break
      case EXT.EC_POINT_FORMATS: hello.ecPointFormats = [...e.vector(1)]; break
      case EXT.SIGNATURE_ALGORITHMS: hello.signatureAlgorithms = u16List(e.vector(2), 'signature_algorithms'); break
      case EXT.PSK_KEY_EXCHANGE_MODES: hello.pskKeyExchangeModes = [...e.vector(1)]; break
      case EXT.PADDING: hello.paddingLength = data.length; break
      case EXT.KEY_SHARE: {
        const list = new Reader(e.vector(2), 'key_share list')
        const shares: Array<{ group: number, length: number }> = []
        while (!list.done) shares.push({ group: list.u16(), length: list.vector(2).length })
        hello.keyShares = shares
        break
      }
    }
  }
  return hello
}

export function parseServerHello (body: Buffer): ServerHello {
  const r = new Reader(body, 'ServerHello')
  const legacyVersion = r.u16()
  const random = r.bytes(32)
  r.vector(1) // legacy_session_id_echo
  const cipherSuite = r.u16()
  r.u8() // legacy_compression_method
  const extensions = extensionsOf(r)
  const hello: { -readonly [K in keyof ServerHello]: ServerHello[K] } = {
    legacyVersion, cipherSuite, extensions, helloRetryRequest: random.equals(HELLO_RETRY_REQUEST_RANDOM)
  }
  for (const { type, data } of extensions) {
    if (type === EXT.SUPPORTED_VERSIONS && data.length === 2) hello.selectedVersion = data.readUInt16BE(0)
    if (type === EXT.KEY_SHARE && data.length >= 2) hello.keyShareGroup = data.readUInt16BE(0)
    if (type === EXT.ALPN) hello.alpn = alpnList(data)[0]
  }
  return hello
}

/** The version a ServerHello settles on: supported_versions if present, else legacy_version. */
export function negotiatedVersion (sh: ServerHello): number {
  return sh.selectedVersion ?? sh.legacyVersion
}

const VERSION_NAMES: Record<number, string> = { 0x0304: 'TLS 1.3', 0x0303: 'TLS 1.2', 0x0302: 'TLS 1.1', 0x0301: 'TLS 1.0', 0x0300: 'SSL 3.0' }

export function versionName (v: number): string {
  return VERSION_NAMES[v] ?? `0x${v.toString(16).padStart(4, '0')}`
}
