/**
 * The active-probe battery: what a censor sends to a suspected port, from the lab's table (c) and
 * issue #11. TLS probes go through node:tls where its options can say it (servername, ALPNProtocols,
 * sigalgs, minVersion/maxVersion, ciphers); the hellos node:tls cannot send (an SNI on a bare hello,
 * no key share) are built by hand (client-hello-builder.ts) and written to a raw socket. Every probe
 * runs through a ProbeRelay, which records the target's side, and is bounded by the cap.
 */
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import tls from 'node:tls'
import { BROWSER_SIGALGS, GROUP, probeHello } from './client-hello-builder.js'
import { seededRandom } from './plan.js'
import type { ProbeRelay } from './probe-relay.js'

export interface ProbeEnv {
  /** The probed bttls torrent's v1 infohash in hex (what libtorrent would put in the SNI). */
  readonly infohashHex: string
}

interface TlsProbe {
  readonly kind: 'tls'
  readonly options: (env: ProbeEnv) => tls.ConnectionOptions
  /** Written once the handshake is done; undefined: send nothing. */
  readonly then?: () => Buffer
}

interface RawProbe {
  readonly kind: 'raw'
  readonly bytes: (env: ProbeEnv) => Buffer
}

export type ProbeDefinition = { readonly id: string, readonly title: string } & (TlsProbe | RawProbe)

const GET = (host: string): Buffer => Buffer.from(`GET / HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n`)
/** A 36-byte AuthHello-shaped message: version, level, flags, then 32 random bytes instead of a proof. */
const authShaped = (version: number, level: number, flags: number, length = 36): Buffer => {
  const b = randomBytes(length)
  b[0] = version
  b[1] = level
  b.writeUInt16BE(flags, 2)
  return b
}
/**
 * "Random" bytes drawn from a fixed seed: a random first byte that happened to be a letter would
 * make an HTTP server wait for the rest of a method, so answers would change from run to run.
 */
function fixedRandomBytes (n: number): Buffer {
  const random = seededRandom(n)
  return Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)))
}

const sigalgName: Record<number, string> = {
  0x0403: 'ecdsa_secp256r1_sha256', 0x0804: 'rsa_pss_rsae_sha256', 0x0401: 'rsa_pkcs1_sha256', 0x0503: 'ecdsa_secp384r1_sha384',
  0x0805: 'rsa_pss_rsae_sha384', 0x0501: 'rsa_pkcs1_sha384', 0x0806: 'rsa_pss_rsae_sha512', 0x0601: 'rsa_pkcs1_sha512'
}

/** A TLS record header: content type, legacy version, length (which need not match what follows). */
const recordHeader = (type: number, version: number, length: number): Buffer =>
  Buffer.from([type, version >> 8, version & 0xff, length >> 8, length & 0xff])

/**
 * Broken TLS at the record layer, each answered by the TLS stack with its own alert (or silence):
 * what a censor sends to see whose TLS stack it meets. Exported for the wire-image test, which sends
 * the same bytes to a bttls port and to a stock Node HTTPS server.
 */
export const RECORD_LAYER_PROBES: ReadonlyArray<{ readonly id: string, readonly title: string, readonly bytes: Buffer }> = [
  { id: 'r1', title: 'a handshake record announcing 65,535 bytes (over the record limit)', bytes: Buffer.concat([recordHeader(0x16, 0x0301, 0xffff), fixedRandomBytes(20)]) },
  { id: 'r2', title: 'a record of unknown type 0x42, 32 bytes', bytes: Buffer.concat([recordHeader(0x42, 0x0303, 32), fixedRandomBytes(32)]) },
  { id: 'r3', title: 'application data before any handshake', bytes: Buffer.concat([recordHeader(0x17, 0x0303, 32), fixedRandomBytes(32)]) },
  { id: 'r4', title: 'a ClientHello record whose body is garbage', bytes: Buffer.concat([recordHeader(0x16, 0x0301, 32), Buffer.from([0x01, 0x00, 0x00, 0x1c]), fixedRandomBytes(28)]) },
  { id: 'r5', title: 'an SSLv2-format ClientHello header', bytes: Buffer.concat([Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01]), fixedRandomBytes(43)]) },
  { id: 'r6', title: 'a fatal alert as the first record', bytes: Buffer.concat([recordHeader(0x15, 0x0303, 2), Buffer.from([0x02, 0x28])]) }
]

export const PROBES: readonly ProbeDefinition[] = [
  { id: 'a', title: 'TLS, SNI example.com, ALPN h2+http/1.1, then GET', kind: 'tls', options: () => ({ servername: 'example.com', ALPNProtocols: ['h2', 'http/1.1'] }), then: () => GET('example.com') },
  { id: 'd', title: 'TLS, SNI = hex infohash (libtorrent\'s SSL torrents)', kind: 'tls', options: env => ({ servername: env.infohashHex }) },
  { id: 'j1', title: 'raw TLS 1.3 hello, no SNI, OpenSSL sigalgs (with Ed25519)', kind: 'raw', bytes: () => probeHello() },
  { id: 'j2', title: 'TLS 1.3, a browser\'s sigalgs (no Ed25519)', kind: 'tls', options: () => ({ minVersion: 'TLSv1.3', sigalgs: BROWSER_SIGALGS.map(a => sigalgName[a]!).join(':') }) },
  { id: 'j3', title: 'TLS 1.2-only hello', kind: 'tls', options: () => ({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }) },
  { id: 'j4', title: 'raw TLS 1.3 hello, only P-384, no key share (asks for a HelloRetryRequest)', kind: 'raw', bytes: () => probeHello({ groups: [GROUP.P384], x25519Share: false }) },
  { id: 'j5', title: 'raw TLS 1.3 hello, SNI example.com', kind: 'raw', bytes: () => probeHello({ serverName: 'example.com' }) },
  { id: 'j6', title: 'raw TLS 1.3 hello, SNI = hex infohash', kind: 'raw', bytes: env => probeHello({ serverName: env.infohashHex }) },
  { id: 'j7', title: 'TLS 1.3, ChaCha20-Poly1305 only', kind: 'tls', options: () => ({ minVersion: 'TLSv1.3', ciphers: 'TLS_CHACHA20_POLY1305_SHA256' }) },
  { id: 'b', title: 'plain HTTP GET (no TLS)', kind: 'raw', bytes: () => GET('127.0.0.1') },
  { id: 'c200', title: '200 random bytes (the same on every run)', kind: 'raw', bytes: () => fixedRandomBytes(200) },
  { id: 'c16', title: '16 random bytes (the same on every run)', kind: 'raw', bytes: () => fixedRandomBytes(16) },
  ...RECORD_LAYER_PROBES.map(({ id, title, bytes }): ProbeDefinition => ({ id, title, kind: 'raw', bytes: () => bytes })),
  { id: 'e', title: 'TLS (no SNI), then silence (= inside TLS: nothing)', kind: 'tls', options: () => ({}) },
  { id: 'g', title: 'TLS (no SNI), then GET', kind: 'tls', options: () => ({}), then: () => GET('127.0.0.1') },
  { id: 'h', title: 'TLS, ALPN h2+http/1.1, then an HTTP/1.1 GET', kind: 'tls', options: () => ({ ALPNProtocols: ['h2', 'http/1.1'] }), then: () => GET('127.0.0.1') },
  { id: 'k1', title: 'inside TLS: 1 byte (0x01, an AuthHello\'s first)', kind: 'tls', options: () => ({}), then: () => Buffer.from([1]) },
  { id: 'k2', title: 'inside TLS: 35 zero bytes', kind: 'tls', options: () => ({}), then: () => Buffer.alloc(35) },
  { id: 'k3', title: 'inside TLS: 36 B, 01 01 00 00 + random (an AuthHello with a wrong proof)', kind: 'tls', options: () => ({}), then: () => authShaped(1, 1, 0) },
  { id: 'k4', title: 'inside TLS: 36 B, version 0', kind: 'tls', options: () => ({}), then: () => authShaped(0, 1, 0) },
  { id: 'k5', title: 'inside TLS: 36 B, flag 0x0001', kind: 'tls', options: () => ({}), then: () => authShaped(1, 1, 1) },
  { id: 'k6', title: 'inside TLS: 100 B, flag 0x0001', kind: 'tls', options: () => ({}), then: () => authShaped(1, 1, 1, 100) },
  { id: 'k7', title: 'inside TLS: 36 B, flag 0x0002', kind: 'tls', options: () => ({}), then: () => authShaped(1, 1, 2) },
  { id: 'k8', title: 'inside TLS: a partial HTTP request', kind: 'tls', options: () => ({}), then: () => Buffer.from('GET / HTTP/1.1\r\nHost: exa') }
]

/** The prober's side of one probe. */
export interface ClientView {
  /** The handshake node:tls completed (TLS probes). */
  readonly tls?: { readonly protocol: string | null, readonly alpn: string | false, readonly cipher: string }
  /** node:tls's error code when the handshake or connection failed (e.g. ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION). */
  readonly error?: string
  /** What the prober read: decrypted for TLS probes, raw otherwise (the first 16 KiB). */
  readonly data: Buffer
  /** performance.now() of the prober's last action: the TCP connect, the handshake, or its last write. */
  readonly referenceAt: number
  readonly reference: 'connect' | 'handshake' | 'send'
}

/**
 * Sends one probe through `relay` and waits until the target closes or `capMs` passes (from the
 * reference moment); the socket is destroyed at the end in every case.
 */
export async function sendProbe (probe: ProbeDefinition, relay: ProbeRelay, env: ProbeEnv, capMs: number): Promise<ClientView> {
  const chunks: Buffer[] = []
  let kept = 0
  const keep = (d: Buffer): void => { if (kept < 16384) { chunks.push(d); kept += d.length } }
  let referenceAt = performance.now()
  let reference: ClientView['reference'] = 'connect'
  let error: string | undefined
  let tlsInfo: ClientView['tls']
  let socket: net.Socket | undefined
  try {
    if (probe.kind === 'raw') {
      const s = net.connect({ host: '127.0.0.1', port: relay.port })
      socket = s
      s.on('data', keep)
      s.on('error', (e: NodeJS.ErrnoException) => { error ??= e.code ?? e.message })
      await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('error', reject) })
      await new Promise<void>(resolve => s.write(probe.bytes(env), () => resolve()))
      referenceAt = performance.now()
      reference = 'send'
    } else {
      const s = tls.connect({ host: '127.0.0.1', port: relay.port, rejectUnauthorized: false, ...probe.options(env) })
      socket = s
      s.on('data', keep)
      s.on('error', (e: NodeJS.ErrnoException) => { error ??= e.code ?? e.message })
      const connected = await new Promise<boolean>(resolve => {
        s.once('secureConnect', () => resolve(true))
        s.once('error', () => resolve(false))
        s.once('close', () => resolve(false))
        setTimeout(() => resolve(false), capMs)
      })
      if (connected) {
        tlsInfo = { protocol: s.getProtocol(), alpn: s.alpnProtocol ?? false, cipher: s.getCipher().standardName }
        referenceAt = performance.now()
        reference = 'handshake'
        if (probe.then !== undefined) {
          await new Promise<void>(resolve => s.write(probe.then!(), () => resolve()))
          referenceAt = performance.now()
          reference = 'send'
        }
      }
    }
    await relay.targetClosed(Math.max(0, referenceAt + capMs - performance.now()))
    await relay.settle(100)
  } catch (err) {
    error ??= (err as NodeJS.ErrnoException).code ?? (err as Error).message
  } finally {
    socket?.destroy()
  }
  return { tls: tlsInfo, error, data: Buffer.concat(chunks), referenceAt, reference }
}
