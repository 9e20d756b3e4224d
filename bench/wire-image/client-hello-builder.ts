/**
 * Hand-built ClientHello records, for the probes node:tls cannot send (a key_share-less hello that
 * asks for a HelloRetryRequest, an SNI on a raw hello) and for the tests (the JA3/JA4 pages'
 * example hellos, byte for byte). A random 32-byte X25519 share is a valid public key, so a server
 * answers such a hello with a real ServerHello; the prober never finishes the handshake.
 */
import { randomBytes } from 'node:crypto'
import { EXT, type Extension } from './hellos.js'

export interface HelloSpec {
  /** ClientHello.legacy_version; default 0x0303. */
  readonly legacyVersion?: number
  /** Record-layer version of the first record; default 0x0301 as browsers send. */
  readonly recordVersion?: number
  readonly cipherSuites: readonly number[]
  readonly extensions: readonly Extension[]
}

const u16 = (v: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b }
const vec16 = (data: Buffer): Buffer => Buffer.concat([u16(data.length), data])
const vec8 = (data: Buffer): Buffer => Buffer.concat([Buffer.from([data.length]), data])
const u16s = (xs: readonly number[]): Buffer => Buffer.concat(xs.map(u16))

export const ext = {
  serverName: (name: string): Extension => ({ type: EXT.SERVER_NAME, data: vec16(Buffer.concat([Buffer.from([0]), vec16(Buffer.from(name, 'latin1'))])) }),
  alpn: (protocols: readonly string[]): Extension => ({ type: EXT.ALPN, data: vec16(Buffer.concat(protocols.map(p => vec8(Buffer.from(p, 'latin1'))))) }),
  supportedVersions: (versions: readonly number[]): Extension => ({ type: EXT.SUPPORTED_VERSIONS, data: vec8(u16s(versions)) }),
  supportedGroups: (groups: readonly number[]): Extension => ({ type: EXT.SUPPORTED_GROUPS, data: vec16(u16s(groups)) }),
  ecPointFormats: (formats: readonly number[]): Extension => ({ type: EXT.EC_POINT_FORMATS, data: vec8(Buffer.from(formats)) }),
  signatureAlgorithms: (algs: readonly number[]): Extension => ({ type: EXT.SIGNATURE_ALGORITHMS, data: vec16(u16s(algs)) }),
  pskKeyExchangeModes: (modes: readonly number[]): Extension => ({ type: EXT.PSK_KEY_EXCHANGE_MODES, data: vec8(Buffer.from(modes)) }),
  /** key_share with the given shares; an empty list asks the server for a HelloRetryRequest. */
  keyShare: (shares: ReadonlyArray<{ group: number, key: Buffer }>): Extension =>
    ({ type: EXT.KEY_SHARE, data: vec16(Buffer.concat(shares.map(s => Buffer.concat([u16(s.group), vec16(s.key)])))) }),
  /** Any extension with empty data (renegotiation_info needs one zero byte; see `raw`). */
  empty: (type: number): Extension => ({ type, data: Buffer.alloc(0) }),
  raw: (type: number, data: Buffer): Extension => ({ type, data })
}

/** The ClientHello handshake message (type 1, 3-byte length, body). */
export function clientHelloMessage (spec: HelloSpec): Buffer {
  const body = Buffer.concat([
    u16(spec.legacyVersion ?? 0x0303),
    randomBytes(32),
    vec8(randomBytes(32)), // a legacy_session_id, as TLS 1.3 clients in middlebox-compatibility mode send
    vec16(u16s(spec.cipherSuites)),
    vec8(Buffer.from([0])),
    ...(spec.extensions.length > 0 ? [vec16(Buffer.concat(spec.extensions.map(e => Buffer.concat([u16(e.type), vec16(e.data)]))))] : [])
  ])
  const header = Buffer.from([1, 0, 0, 0])
  header.writeUIntBE(body.length, 1, 3)
  return Buffer.concat([header, body])
}

/** The ClientHello in one handshake record, ready to write to a socket. */
export function clientHelloRecord (spec: HelloSpec): Buffer {
  const message = clientHelloMessage(spec)
  const header = Buffer.alloc(5)
  header[0] = 22
  header.writeUInt16BE(spec.recordVersion ?? 0x0301, 1)
  header.writeUInt16BE(message.length, 3)
  return Buffer.concat([header, message])
}

export const GROUP = { X25519: 0x001d, P256: 0x0017, P384: 0x0018 } as const
export const SUITE = { AES128_GCM: 0x1301, AES256_GCM: 0x1302, CHACHA20: 0x1303 } as const

/** Chromium's signature algorithms (no Ed25519): what a browser accepts a certificate with. */
export const BROWSER_SIGALGS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601] as const
/** The same with Ed25519 (0x0807) and Ed448 first, as OpenSSL offers. */
export const OPENSSL_SIGALGS = [0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601] as const

export interface ProbeHelloOptions {
  readonly serverName?: string
  readonly alpn?: readonly string[]
  readonly sigalgs?: readonly number[]
  readonly suites?: readonly number[]
  readonly versions?: readonly number[]
  readonly groups?: readonly number[]
  /** Send an X25519 key share (default: when X25519 is the first group). Without one a server must ask for a HelloRetryRequest. */
  readonly x25519Share?: boolean
}

/** A TLS 1.3 ClientHello for a raw probe. */
export function probeHello (o: ProbeHelloOptions = {}): Buffer {
  const groups = o.groups ?? [GROUP.X25519, GROUP.P256]
  const shares = (o.x25519Share ?? groups[0] === GROUP.X25519) ? [{ group: GROUP.X25519, key: randomBytes(32) }] : []
  return clientHelloRecord({
    cipherSuites: o.suites ?? [SUITE.AES128_GCM, SUITE.AES256_GCM, SUITE.CHACHA20],
    extensions: [
      ...(o.serverName !== undefined ? [ext.serverName(o.serverName)] : []),
      ext.supportedGroups(groups),
      ext.ecPointFormats([0]),
      ext.signatureAlgorithms(o.sigalgs ?? OPENSSL_SIGALGS),
      ...(o.alpn !== undefined ? [ext.alpn(o.alpn)] : []),
      ext.supportedVersions(o.versions ?? [0x0304]),
      ext.pskKeyExchangeModes([1]),
      ext.keyShare(shares)
    ]
  })
}
