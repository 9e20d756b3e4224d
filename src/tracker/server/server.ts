/**
 * The secure tracker: an HTTPS BEP 3 announce endpoint for Full Strict torrents that
 *   - authenticates every announce by the user's passkey (`passkey=` or /announce/<passkey>),
 *   - lists only peers of authenticated, unrevoked users of that torrent (compact, BEP 23 / BEP 7),
 *   - issues a short-lived peer certificate when the announce carries a CSR (`csr=`), logged in the db,
 *   - tells every peer the torrent's revoked serials (`bttls revoked`) so peers refuse them,
 *   - records `supportbttls` per peer and returns `bttls_flags`/`bttls_flags6` aligned with the compact
 *     lists; `requirebttls=1` lists only bttls peers (bttls-flags.ts).
 * Failures are BEP 3 `failure reason` with HTTP 200, plus `bttls failure code`.
 *
 * Why not bittorrent-tracker's Server: its HTTP parser routes only the exact path /announce (no
 * /announce/<passkey>), it bencodes its own response object (no place for the certificate keys, and
 * issuance is async and per request), it has no HTTPS server of its own, and it would bring WebSocket
 * and WebRTC dependencies a Full Strict tracker never uses. The announce logic it would save is the
 * peer table below.
 */
import { EventEmitter } from 'node:events'
import { createServer, type Server } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto'
import { issuePeerCertificate, caFingerprint, caSecondsLeft, trackerNameConflicts, type PemPair } from '../../pki/certificate-profile.js'
import { UntrustedCertificateError } from '../../errors.js'
import { MAX_PEER_CERT_LIFETIME_S } from '../../protocol/constants.js'
import { encodeBencode, type Encodable } from '../../codec/bencode.js'
import { plainAddress } from '../../codec/endpoint.js'
import { canonicalSerial, x509 } from '../../pki/x509.js'
import {
  CERTIFICATE_EXPIRES_KEY, CERTIFICATE_KEY, CSR_PARAM, FAILURE_CODE_KEY, MAX_CSR_BYTES, PASSKEY_PARAM, REVOKED_KEY
} from '../announce-keys.js'
import { encodeCompactPeers, type PeerAddress } from '../../codec/compact-peers.js'
import { encodeBttlsFlags, REQUIRE_BTTLS_PARAM, SUPPORT_BTTLS_PARAM, BTTLS_FLAGS_KEY, BTTLS_FLAGS6_KEY } from '../bttls-flags.js'
import { unixNow, type RegisteredTorrent, type TrackerDb, type User } from './db.js'
import { isFailureCode, TrackerConfigError, TrackerError, type FailureCode } from '../errors.js'
import { decodeQuery } from '../../codec/query-string.js'
import { DEFAULT_SERVER_NAMES, issueServerCertificate } from '../../pki/server-certificate.js'

export const DEFAULT_LIFETIME_S = 3600
export const DEFAULT_INTERVAL_S = 600
/** Longest request target accepted: a 4 KiB CSR in base64url plus the announce parameters fit easily. */
const MAX_URL_LENGTH = 8192
const MAX_CSR_CHARS = Math.ceil(MAX_CSR_BYTES * 4 / 3)
const DEFAULT_NUMWANT = 50
const MAX_NUMWANT = 200
const EVENTS = new Set(['', 'started', 'completed', 'stopped', 'paused'])

/** A torrent the tracker serves: a parsed Full Strict torrent (Metainfo fits). */
export interface ServedTorrent {
  readonly name: string
  readonly infoHashV1?: Uint8Array
  readonly infoHashV2?: Uint8Array
  /** info["ssl-cert"]: must be the tracker's CA. */
  readonly sslCert?: string
}

export interface TrackerServerOptions {
  readonly db: TrackerDb
  /** The swarm CA: signs peer certificates and the tracker's TLS certificate. */
  readonly ca: PemPair
  /** Listening address; default 127.0.0.1. */
  readonly host?: string
  /** Default 0: a free port. */
  readonly port?: number
  /** Lifetime of issued peer certificates; default 1 h, at most MAX_PEER_CERT_LIFETIME_S. */
  readonly lifetimeSeconds?: number
  /** Announce interval told to peers; default 600 s. It bounds how late peers learn of a revocation. */
  readonly intervalSeconds?: number
  /** Torrents to serve, besides those registered in the db. */
  readonly torrents?: readonly ServedTorrent[]
  /** Names in the tracker's certificate; default localhost and 127.0.0.1 (plus `host` if it is another). */
  readonly serverNames?: readonly string[]
  /** Use this TLS certificate instead of issuing one from the CA (tests). */
  readonly serverCertificate?: PemPair
  /**
   * Unexpired certificates one user may hold for one torrent (default 8: a few clients, each with a
   * renewal overlapping the certificate it replaces). Unbounded issuance let one user make 866 in 10 s,
   * and each would be listed in every announce response once the user is revoked.
   */
  readonly maxCertificatesPerUser?: number
  /** A TLS handshake must finish within this (default 10 s); Node's own default holds half-open ones 120 s. */
  readonly handshakeTimeoutMs?: number
  /** A connection idle this long is closed (default 30 s). */
  readonly idleTimeoutMs?: number
}

export const DEFAULT_MAX_CERTIFICATES_PER_USER = 8
export const DEFAULT_TRACKER_HANDSHAKE_TIMEOUT_MS = 10_000
export const DEFAULT_TRACKER_IDLE_TIMEOUT_MS = 30_000

export interface IssuedEvent {
  readonly user: string
  readonly infoHash: string
  readonly serial: string
  readonly notAfter: Date
  readonly peerAddress: string
}

export interface RejectedEvent {
  readonly code: FailureCode
  readonly message: string
  readonly address: string
}

export interface TrackerServerEvents {
  issued: [IssuedEvent]
  rejected: [RejectedEvent]
  announce: [{ user: string, infoHash: string, event: string, address: string }]
}

interface PeerEntry extends PeerAddress {
  readonly userId: number
  readonly seen: number
  readonly seed: boolean
  /** It announced supportbttls=1. */
  readonly bttls: boolean
}

export class TrackerServer extends EventEmitter<TrackerServerEvents> {
  /** Peers by torrent id, then by peer_id (hex). In memory: a restart forgets peers, never users. */
  private readonly swarms = new Map<number, Map<string, PeerEntry>>()
  private readonly caFingerprintHex: string
  private readonly lifetimeSeconds: number
  private readonly intervalSeconds: number

  /** The host names our certificate carries: a torrent named like one of them is refused (registerTorrent). */
  private readonly hostNames: readonly string[]

  private constructor (private readonly server: Server, private readonly options: TrackerServerOptions, certPem: string) {
    super()
    this.hostNames = (new X509Certificate(certPem).subjectAltName ?? '').split(', ').filter(e => e.startsWith('DNS:')).map(e => e.slice(4))
    this.caFingerprintHex = caFingerprint(options.ca.certPem).toString('hex')
    this.lifetimeSeconds = options.lifetimeSeconds ?? DEFAULT_LIFETIME_S
    this.intervalSeconds = options.intervalSeconds ?? DEFAULT_INTERVAL_S
  }

  static async start (options: TrackerServerOptions): Promise<TrackerServer> {
    const lifetime = options.lifetimeSeconds ?? DEFAULT_LIFETIME_S
    if (!(Number.isInteger(lifetime) && lifetime > 0 && lifetime <= MAX_PEER_CERT_LIFETIME_S)) {
      throw new TrackerConfigError(`the certificate lifetime must be 1..${MAX_PEER_CERT_LIFETIME_S} s (7 days), got ${lifetime}`)
    }
    const interval = options.intervalSeconds ?? DEFAULT_INTERVAL_S
    if (!(Number.isInteger(interval) && interval > 0)) throw new TrackerConfigError(`the announce interval must be a positive integer, got ${interval}`)
    checkCaPair(options.ca)
    const host = options.host ?? '127.0.0.1'
    const names = options.serverNames ?? [...new Set([...DEFAULT_SERVER_NAMES, ...(host === '0.0.0.0' || host === '::' ? [] : [host])])]
    const tls = options.serverCertificate ?? await issueServerCertificate({ ca: options.ca, names })
    let tracker: TrackerServer | undefined
    const server = createServer({
      // The swarm CA after our own: a Full Strict magnet link names the CA by its hash alone (swarm-ca.ts).
      cert: `${tls.certPem.trimEnd()}\n${options.ca.certPem.trimEnd()}\n`,
      key: tls.keyPem,
      minVersion: 'TLSv1.2',
      maxHeaderSize: 16 * 1024,
      requestTimeout: 10_000,
      headersTimeout: 10_000,
      handshakeTimeout: options.handshakeTimeoutMs ?? DEFAULT_TRACKER_HANDSHAKE_TIMEOUT_MS
    }, (req, res) => { tracker!.handle(req, res).catch(() => res.destroy()) })
    // Idle sockets, with or without a request started: a client that connects and waits is closed.
    server.setTimeout(options.idleTimeoutMs ?? DEFAULT_TRACKER_IDLE_TIMEOUT_MS, socket => socket.destroy())
    tracker = new TrackerServer(server, options, tls.certPem)
    for (const t of options.torrents ?? []) tracker.registerTorrent(t)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port ?? 0, host, () => { server.off('error', reject); resolve() })
    })
    return tracker
  }

  get port (): number {
    return (this.server.address() as AddressInfo).port
  }

  /** The announce URL (without passkey) on the listening address. */
  get announceUrl (): string {
    const a = this.server.address() as AddressInfo
    const host = a.family === 'IPv6' || a.address.includes(':') ? `[${a.address}]` : a.address
    return `https://${host}:${a.port}/announce`
  }

  /** Serve a torrent (recorded in the db, so it stays served across restarts). It must carry our CA. */
  registerTorrent (t: ServedTorrent): RegisteredTorrent {
    if (t.sslCert === undefined) throw new TrackerConfigError(`"${t.name}" is not a Full Strict torrent (its info dict has no ssl-cert)`)
    const fp = caFingerprint(t.sslCert)
    if (fp.toString('hex') !== this.caFingerprintHex) throw new TrackerConfigError(`"${t.name}" carries another swarm CA than this tracker's`)
    const clash = this.hostNames.find(host => trackerNameConflicts(host, t.name))
    if (clash !== undefined) {
      throw new TrackerConfigError(`"${t.name}" matches this tracker's host name "${clash}": every member's peer certificate would pass as the tracker's (BEP: the tracker's host name must not be the torrent's name)`)
    }
    return this.options.db.addTorrent({ name: t.name, infoHashV1: t.infoHashV1, infoHashV2: t.infoHashV2, caFingerprint: fp })
  }

  async close (): Promise<void> {
    await new Promise<void>(resolve => {
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const address = plainAddress(req.socket.remoteAddress ?? '')
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = q < 0 ? url : url.slice(0, q)
    const match = /^\/announce(?:\/([^/]*))?$/.exec(path)
    if (req.method !== 'GET' || match === null) {
      res.writeHead(req.method !== 'GET' ? 405 : 404, { 'content-type': 'text/plain' }).end('not an announce\n')
      return
    }
    let body: Encodable
    try {
      if (url.length > MAX_URL_LENGTH) throw new TrackerError('ERR_TRACKER_OVERSIZED', `the request is longer than ${MAX_URL_LENGTH} bytes`)
      let params: Map<string, Buffer[]>
      try { params = decodeQuery(q < 0 ? '' : url.slice(q + 1)) } catch (err) {
        throw new TrackerError('ERR_TRACKER_BAD_REQUEST', 'the query string is malformed', { cause: err })
      }
      body = await this.announce(params, match[1], address)
    } catch (err) {
      const failure = err instanceof TrackerError && isFailureCode(err.code)
        ? { code: err.code, message: err.message }
        : { code: 'ERR_TRACKER_FAILURE' as const, message: 'internal tracker error' }
      this.emit('rejected', { ...failure, address })
      body = { 'failure reason': failure.message, [FAILURE_CODE_KEY]: failure.code }
    }
    const bytes = encodeBencode(body)
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': bytes.length, 'cache-control': 'no-store' }).end(bytes)
  }

  private async announce (params: Map<string, Buffer[]>, pathToken: string | undefined, address: string): Promise<Encodable> {
    const one = (name: string): Buffer | undefined => {
      const v = params.get(name)
      if (v !== undefined && v.length > 1) throw new TrackerError('ERR_TRACKER_BAD_REQUEST', `"${name}" is given more than once`)
      return v?.[0]
    }
    const infoHash = one('info_hash')
    if (infoHash?.length !== 20) throw new TrackerError('ERR_TRACKER_BAD_REQUEST', 'info_hash must be 20 bytes')
    const peerId = one('peer_id')
    if (peerId?.length !== 20) throw new TrackerError('ERR_TRACKER_BAD_REQUEST', 'peer_id must be 20 bytes')
    const port = integer(one('port'), 'port')
    if (port === undefined || port < 1 || port > 65535) throw new TrackerError('ERR_TRACKER_BAD_REQUEST', 'port must be 1..65535')
    for (const n of ['uploaded', 'downloaded']) integer(one(n), n)
    const left = integer(one('left'), 'left')
    const event = one('event')?.toString('latin1') ?? ''
    if (!EVENTS.has(event)) throw new TrackerError('ERR_TRACKER_BAD_REQUEST', `unknown event "${event}"`)
    const numwant = Math.min(integer(one('numwant'), 'numwant') ?? DEFAULT_NUMWANT, MAX_NUMWANT)
    const user = this.authenticate(one(PASSKEY_PARAM)?.toString('latin1'), pathToken)
    const infoHashHex = infoHash.toString('hex')
    const torrent = this.options.db.torrentByInfoHash(infoHashHex)
    if (torrent === undefined) throw new TrackerError('ERR_TRACKER_UNKNOWN_TORRENT', `this tracker serves no torrent with infohash ${infoHashHex}`)
    const csr = one(CSR_PARAM)
    const issued = csr === undefined ? undefined : await this.issue(csr, user, torrent, infoHashHex, `${address}:${port}`)
    this.emit('announce', { user: user.name, infoHash: infoHashHex, event, address })

    const now = Date.now()
    const swarm = this.swarm(torrent.id, now)
    const peerKey = peerId.toString('hex')
    if (event === 'stopped') swarm.delete(peerKey)
    else swarm.set(peerKey, { host: address, port, userId: user.id, seen: now, seed: left === 0, bttls: integer(one(SUPPORT_BTTLS_PARAM), SUPPORT_BTTLS_PARAM) === 1 })
    const revokedUsers = this.options.db.revokedUserIds()
    const requireBttls = integer(one(REQUIRE_BTTLS_PARAM), REQUIRE_BTTLS_PARAM) === 1
    const listed = [...swarm].filter(([id, p]) => id !== peerKey && !revokedUsers.has(p.userId)).map(([, p]) => p)
    const sent = event === 'stopped' ? [] : shuffle(listed.filter(p => !requireBttls || p.bttls)).slice(0, numwant)
    const compact = encodeCompactPeers(sent)
    const flags = encodeBttlsFlags(sent)
    const seeds = listed.filter(p => p.seed).length
    return {
      interval: this.intervalSeconds,
      'min interval': Math.max(1, Math.floor(this.intervalSeconds / 2)),
      complete: seeds,
      incomplete: listed.length - seeds,
      peers: compact.peers,
      peers6: compact.peers6.length > 0 ? compact.peers6 : undefined,
      [BTTLS_FLAGS_KEY]: flags.flags,
      [BTTLS_FLAGS6_KEY]: flags.flags6.length > 0 ? flags.flags6 : undefined,
      [REVOKED_KEY]: this.options.db.revokedSerials(infoHashHex),
      [CERTIFICATE_KEY]: issued?.der,
      [CERTIFICATE_EXPIRES_KEY]: issued?.expires
    }
  }

  private authenticate (queryToken: string | undefined, pathToken: string | undefined): User {
    if (queryToken !== undefined && pathToken !== undefined && pathToken !== '' && queryToken !== pathToken) {
      throw new TrackerError('ERR_TRACKER_BAD_REQUEST', 'two different passkeys (query and path)')
    }
    const token = queryToken ?? (pathToken === '' ? undefined : pathToken)
    if (token === undefined || token === '') throw new TrackerError('ERR_TRACKER_MISSING_PASSKEY', 'this tracker needs a passkey (passkey=<token> or /announce/<token>)')
    const user = /^[0-9a-f]{64}$/.test(token) ? this.options.db.userByToken(token) : undefined
    if (user === undefined) throw new TrackerError('ERR_TRACKER_UNKNOWN_TOKEN', 'unknown passkey')
    if (user.revokedAt !== undefined) throw new TrackerError('ERR_TRACKER_REVOKED_USER', `user "${user.name}" has been revoked`)
    return user
  }

  private async issue (csrParam: Buffer, user: User, torrent: RegisteredTorrent, infoHashHex: string, peerAddress: string): Promise<{ der: Buffer, expires: number }> {
    if (csrParam.length > MAX_CSR_CHARS) throw new TrackerError('ERR_TRACKER_OVERSIZED', `the CSR is larger than ${MAX_CSR_BYTES} bytes`)
    const text = csrParam.toString('latin1')
    if (!/^[A-Za-z0-9_-]+$/.test(text)) throw new TrackerError('ERR_TRACKER_BAD_CSR', 'the CSR is not base64url')
    const csrDer = Buffer.from(text, 'base64url')
    if (csrDer.length > MAX_CSR_BYTES) throw new TrackerError('ERR_TRACKER_OVERSIZED', `the CSR is larger than ${MAX_CSR_BYTES} bytes`)
    let spki: ArrayBuffer
    try { spki = new x509.Pkcs10CertificateRequest(csrDer).publicKey.rawData } catch (err) {
      throw new TrackerError('ERR_TRACKER_BAD_CSR', 'the CSR is not a DER PKCS#10 certificate request', { cause: err })
    }
    let curve: string | undefined
    try {
      const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' })
      curve = key.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : key.asymmetricKeyType
    } catch (err) {
      throw new TrackerError('ERR_TRACKER_BAD_KEY', 'the CSR\'s public key cannot be read', { cause: err })
    }
    if (curve !== 'prime256v1') throw new TrackerError('ERR_TRACKER_BAD_KEY', `the CSR's key must be ECDSA P-256, not ${curve ?? 'unknown'}`)
    if (torrent.caFingerprint !== this.caFingerprintHex) {
      throw new TrackerError('ERR_TRACKER_CANNOT_ISSUE', 'this torrent was registered with another swarm CA than this tracker holds')
    }
    const held = this.options.db.unexpiredIssuances(user.id, torrent.id)
    const most = this.options.maxCertificatesPerUser ?? DEFAULT_MAX_CERTIFICATES_PER_USER
    if (held >= most) {
      throw new TrackerError('ERR_TRACKER_CANNOT_ISSUE', `user "${user.name}" holds ${held} unexpired certificates for this torrent, the most one user may hold; renew when one expires`)
    }
    const now = new Date()
    // Never past the CA's own end: a peer certificate outliving its issuer would be refused anyway.
    const caLeft = caSecondsLeft(this.options.ca.certPem, now)
    if (caLeft <= 0) throw new TrackerError('ERR_TRACKER_CANNOT_ISSUE', 'the swarm CA has expired; the tracker cannot issue certificates')
    let cert
    try {
      cert = await issuePeerCertificate({
        ca: this.options.ca,
        csrDer,
        torrent: {
          name: torrent.name,
          ...(torrent.infoHashV1 ? { infoHashV1: Buffer.from(torrent.infoHashV1, 'hex') } : {}),
          ...(torrent.infoHashV2 ? { infoHashV2: Buffer.from(torrent.infoHashV2, 'hex') } : {})
        },
        lifetimeSeconds: Math.min(this.lifetimeSeconds, caLeft),
        // The subject names the user the tracker authenticated, not what the CSR claims.
        commonName: user.name,
        now
      })
    } catch (err) {
      if (err instanceof UntrustedCertificateError) throw new TrackerError('ERR_TRACKER_BAD_CSR', 'the CSR\'s self-signature does not verify', { cause: err })
      throw err
    }
    const expires = Math.floor(cert.notAfter.getTime() / 1000)
    // Logged and published as verifyPeerCertificate reports serials.
    const serial = canonicalSerial(cert.serial)
    this.options.db.logIssuance({ userId: user.id, torrentId: torrent.id, infoHash: infoHashHex, serial, notAfter: expires, issuedAt: unixNow(), peerAddress })
    this.emit('issued', { user: user.name, infoHash: infoHashHex, serial, notAfter: cert.notAfter, peerAddress })
    return { der: new X509Certificate(cert.certPem).raw, expires }
  }

  /** The torrent's peer table, without peers silent for two intervals. */
  private swarm (torrentId: number, now: number): Map<string, PeerEntry> {
    let swarm = this.swarms.get(torrentId)
    if (swarm === undefined) this.swarms.set(torrentId, swarm = new Map())
    for (const [id, p] of swarm) if (now - p.seen > 2 * this.intervalSeconds * 1000) swarm.delete(id)
    return swarm
  }
}

function integer (value: Buffer | undefined, name: string): number | undefined {
  if (value === undefined) return undefined
  const s = value.toString('latin1')
  if (!/^\d{1,16}$/.test(s) || !Number.isSafeInteger(Number(s))) throw new TrackerError('ERR_TRACKER_BAD_REQUEST', `${name} must be a non-negative integer`)
  return Number(s)
}

function shuffle<T> (items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[items[i], items[j]] = [items[j]!, items[i]!]
  }
  return items
}

/** The CA certificate and key must belong together, and the certificate must be a CA. */
function checkCaPair (ca: PemPair): void {
  let cert: X509Certificate
  try { cert = new X509Certificate(ca.certPem) } catch (err) {
    throw new TrackerConfigError('the CA certificate is not a PEM X.509 certificate', { cause: err })
  }
  if (!cert.ca) throw new TrackerConfigError('the CA certificate is not a CA (basicConstraints CA:false)')
  let matches: boolean
  try { matches = cert.checkPrivateKey(createPrivateKey(ca.keyPem)) } catch (err) {
    throw new TrackerConfigError('the CA key is not a PEM private key', { cause: err })
  }
  if (!matches) throw new TrackerConfigError('the CA key does not belong to the CA certificate')
}
