/**
 * The peer side of certificate issuance: holds this peer's current certificate and key for one Full
 * Strict torrent, gets them by announcing to the secure tracker with a CSR, and renews them when
 * `renewAfter` (default 2/3) of the lifetime has passed, with a fresh key and CSR each time. Between
 * renewals it re-announces every tracker interval, which refreshes the peer list and the revoked set.
 *
 * It is the level's CertificateSource: the level asks current() at each handshake, so a renewal applies
 * to new connections only; established connections keep running (TLS never re-checks a certificate
 * after its handshake), and the old certificate stays valid until its own end, so there is no gap.
 *
 * Events: 'certificate' (a new certificate is current), 'revoked' (the revoked set changed), 'peers'
 * (the tracker's latest peer list), 'expired' (the current certificate ran out before a renewal
 * succeeded), 'error' (an announce failed; emitted only when someone listens, because an unhandled
 * 'error' would end the process over a tracker hiccup that the next retry may fix).
 */
import { EventEmitter } from 'node:events'
import { createPublicKey, X509Certificate } from 'node:crypto'
import { assertTrackerNameDistinct, checkTrackerIdentity, createPeerKeyAndCsr, verifyPeerCertificate, type TorrentBinding } from '../../pki/certificate-profile.js'
import type { CertificateSource, PeerCredential } from '../../levels/full-strict/certificate-source.js'
import { canonicalSerial } from '../../pki/x509.js'
import { CSR_PARAM, readBttlsFields } from '../announce-keys.js'
import { announce, type AnnounceEvent, type AnnounceOptions, type AnnounceResponse } from './client.js'
import type { PeerAddress } from '../../codec/compact-peers.js'
import { TrackerError, type TrackerErrorCode } from '../errors.js'

export interface IssuedCredential extends PeerCredential {
  readonly serial: string
  readonly notAfter: Date
}

export interface CertificateManagerOptions {
  /** The secure tracker's announce URL (https://.../announce or .../announce/<passkey>). */
  readonly trackerUrl: string
  readonly passkey?: string
  /** The torrent the certificate is for. */
  readonly torrent: TorrentBinding
  /** The swarm CA (info["ssl-cert"]): the only CA trusted for the tracker's TLS and for what it issues. */
  readonly caCertPem: string
  /** The 20-byte infohash announced; default the v1 infohash, else the truncated v2 one (BEP 52). */
  readonly wireInfoHash?: Uint8Array
  readonly peerId: Uint8Array
  /** Our listening port, announced to the tracker. */
  readonly port: number
  /** Subject CN asked for in the CSR (the tracker may replace it with the user's name). */
  readonly commonName?: string
  /** Fraction of the lifetime after which to renew; default 2/3. */
  readonly renewAfter?: number
  /** Transfer counters for announces; default zeros. */
  readonly stats?: () => { uploaded: number, downloaded: number, left: number }
  /** First retry delay after a failed announce; doubles up to maxRetryMs. Defaults 1 s and 60 s. */
  readonly minRetryMs?: number
  readonly maxRetryMs?: number
  /** Re-announce at least this often (ms), whatever interval the tracker says (tests). */
  readonly maxAnnounceIntervalMs?: number
  readonly announceOptions?: Omit<AnnounceOptions, 'ca'>
}

export interface CertificateManagerEvents {
  certificate: [IssuedCredential]
  revoked: [ReadonlySet<string>]
  peers: [PeerAddress[]]
  expired: []
  error: [Error]
}

const MIN_INTERVAL_MS = 1000
const MAX_INTERVAL_MS = 86_400_000

/** Failures a retry cannot fix: the manager stops announcing. */
const PERMANENT: ReadonlySet<TrackerErrorCode> = new Set(['ERR_TRACKER_UNKNOWN_TOKEN', 'ERR_TRACKER_REVOKED_USER', 'ERR_TRACKER_MISSING_PASSKEY', 'ERR_TRACKER_UNKNOWN_TORRENT'])

export class CertificateManager extends EventEmitter<CertificateManagerEvents> implements CertificateSource {
  private credential: IssuedCredential | undefined
  private renewAt = 0
  private nextAnnounceAt = 0
  private revoked: ReadonlySet<string> = new Set()
  private lastPeers: PeerAddress[] = []
  private timer: NodeJS.Timeout | undefined
  private expiryTimer: NodeJS.Timeout | undefined
  private inFlight: Promise<void> | undefined
  private retryMs: number
  private started = false
  private stopped = false
  private readonly wireInfoHash: Uint8Array

  constructor (private readonly options: CertificateManagerOptions) {
    super()
    const ratio = options.renewAfter ?? 2 / 3
    if (!(ratio > 0 && ratio < 1)) throw new RangeError('renewAfter is a fraction of the lifetime, between 0 and 1')
    const wire = options.wireInfoHash ?? options.torrent.infoHashV1 ?? options.torrent.infoHashV2?.subarray(0, 20)
    if (wire?.length !== 20) throw new RangeError('the torrent needs a 20-byte wire infohash')
    // Before any announce: a tracker a member's peer certificate could pass as never gets the passkey.
    assertTrackerNameDistinct(options.trackerUrl, options.torrent.name)
    this.wireInfoHash = wire
    this.retryMs = options.minRetryMs ?? 1000
  }

  /** The certificate and key to present now; undefined before the first issuance and after expiry. */
  current (): IssuedCredential | undefined {
    const c = this.credential
    return c !== undefined && c.notAfter.getTime() > Date.now() ? c : undefined
  }

  revokedSerials (): ReadonlySet<string> {
    return this.revoked
  }

  /** The peers of the latest announce (only authenticated, unrevoked users). */
  peers (): PeerAddress[] {
    return [...this.lastPeers]
  }

  /** Announces 'started' with a CSR; resolves with the first certificate, rejects with a TrackerError. */
  async start (): Promise<IssuedCredential> {
    if (this.started) throw new Error('the certificate manager is started already')
    this.started = true
    await this.run(true, 'started')
    return this.credential!
  }

  /** Renews now (a fresh key and CSR), whatever the schedule. */
  async renew (): Promise<IssuedCredential> {
    await this.run(true, undefined)
    return this.credential!
  }

  /**
   * A magnet link's torrent is named by its metadata, after the first announces (checked then against
   * the link's dn, if any). If the tracker's host matches the name, no announce, passkey and all,
   * goes out again: stops without telling the tracker, and throws TrackerNameConflictError.
   */
  torrentNamed (name: string): void {
    try {
      assertTrackerNameDistinct(this.options.trackerUrl, name)
    } catch (err) {
      this.stopped = true
      this.clearTimers()
      throw err
    }
  }

  /** Stops renewing; tells the tracker we left (best effort, bounded by the announce timeout). */
  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.clearTimers()
    await this.inFlight?.catch(() => {})
    if (!this.started) return
    await this.announceOnce('stopped').catch(() => {})
  }

  /** One announce (with a CSR when `issue`), serialized with any other in flight; schedules the next. */
  private async run (issue: boolean, event: AnnounceEvent | undefined): Promise<void> {
    while (this.inFlight) await this.inFlight.catch(() => {})
    const attempt = (async () => {
      try {
        const r = await (issue ? this.issueOnce(event) : this.announceOnce(event))
        this.absorb(r)
        this.retryMs = this.options.minRetryMs ?? 1000
        this.schedule(r.interval)
      } catch (err) {
        this.failed(err as Error)
        throw err
      }
    })()
    this.inFlight = attempt
    try { await attempt } finally { if (this.inFlight === attempt) this.inFlight = undefined }
  }

  private async issueOnce (event: AnnounceEvent | undefined): Promise<AnnounceResponse> {
    const { keyPem, csrDer } = await createPeerKeyAndCsr(this.options.commonName ?? Buffer.from(this.options.peerId).toString('hex'))
    const requested = Date.now()
    const r = await this.announceOnce(event, [[CSR_PARAM, csrDer.toString('base64url')]])
    const fields = readBttlsFields(r.dict)
    if (fields.certificateDer === undefined) throw new TrackerError('ERR_TRACKER_BAD_CERTIFICATE', 'the tracker answered the CSR without a certificate')
    let cert: X509Certificate
    try {
      verifyPeerCertificate({ certDer: fields.certificateDer, caCertPem: this.options.caCertPem, torrent: this.options.torrent })
      cert = new X509Certificate(fields.certificateDer)
    } catch (err) {
      throw new TrackerError('ERR_TRACKER_BAD_CERTIFICATE', `the tracker issued a certificate that does not verify: ${(err as Error).message}`, { cause: err })
    }
    const ours = createPublicKey(keyPem).export({ type: 'spki', format: 'der' })
    if (!cert.publicKey.export({ type: 'spki', format: 'der' }).equals(ours)) {
      throw new TrackerError('ERR_TRACKER_BAD_CERTIFICATE', 'the tracker issued a certificate for another key than our CSR\'s')
    }
    const notAfter = new Date(Date.parse(cert.validTo))
    const credential: IssuedCredential = {
      certPem: cert.toString(),
      keyPem,
      serial: canonicalSerial(cert.serialNumber),
      notAfter
    }
    // Counted from our request, not the certificate's notBefore (which the profile backdates for skew).
    this.renewAt = requested + (notAfter.getTime() - requested) * (this.options.renewAfter ?? 2 / 3)
    this.credential = credential
    clearTimeout(this.expiryTimer)
    this.expiryTimer = setTimeout(() => { if (this.credential === credential) this.emit('expired') }, Math.max(0, notAfter.getTime() - Date.now()))
    this.emit('certificate', credential)
    return r
  }

  private announceOnce (event: AnnounceEvent | undefined, extra: Array<readonly [string, string]> = []): Promise<AnnounceResponse> {
    const stats = this.options.stats?.() ?? { uploaded: 0, downloaded: 0, left: 0 }
    return announce(this.options.trackerUrl, {
      infoHash: this.wireInfoHash,
      peerId: this.options.peerId,
      port: this.options.port,
      ...stats,
      ...(event !== undefined ? { event } : {}),
      ...(this.options.passkey !== undefined ? { passkey: this.options.passkey } : {}),
      params: extra
    }, { ...this.options.announceOptions, ca: this.options.caCertPem, checkServerIdentity: checkTrackerIdentity })
  }

  private absorb (r: AnnounceResponse): void {
    const revoked = new Set(readBttlsFields(r.dict).revokedSerials)
    if (revoked.size !== this.revoked.size || [...revoked].some(s => !this.revoked.has(s))) {
      this.revoked = revoked
      this.emit('revoked', revoked)
    }
    this.lastPeers = r.peers
    this.emit('peers', r.peers)
  }

  private schedule (intervalSeconds: number): void {
    if (this.stopped) return
    const cap = this.options.maxAnnounceIntervalMs ?? MAX_INTERVAL_MS
    // Bounded both ways: a tracker's interval of a year would overflow setTimeout and fire at once.
    this.nextAnnounceAt = Date.now() + Math.max(MIN_INTERVAL_MS, Math.min(intervalSeconds * 1000, cap, MAX_INTERVAL_MS))
    this.arm(Math.min(this.nextAnnounceAt, this.renewAt))
  }

  private arm (at: number): void {
    clearTimeout(this.timer)
    if (this.stopped) return
    this.timer = setTimeout(() => {
      const issue = Date.now() >= this.renewAt || this.current() === undefined
      this.run(issue, undefined).catch(() => {})
    }, Math.max(0, at - Date.now()))
  }

  private failed (err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err)
    // Before the first certificate, start() reports the failure and its caller decides; no retries.
    if (this.stopped || this.credential === undefined) return
    if (err instanceof TrackerError && PERMANENT.has(err.code)) { clearTimeout(this.timer); return }
    // Retry sooner than the current certificate's end, so one failed renewal does not leave a gap.
    let delay = this.retryMs
    const c = this.current()
    if (c !== undefined) delay = Math.min(delay, Math.max(100, (c.notAfter.getTime() - Date.now()) / 4))
    this.retryMs = Math.min(this.retryMs * 2, this.options.maxRetryMs ?? 60_000)
    this.arm(Date.now() + delay)
  }

  private clearTimers (): void {
    clearTimeout(this.timer)
    clearTimeout(this.expiryTimer)
  }
}
