/**
 * Announces one torrent to its HTTP(S) and UDP trackers and re-announces at the interval each tracker asks
 * for (clamped, so a tracker can neither make us hammer it nor go silent for days), feeding the peers
 * it returns to the session with what `bttls_flags` says of them.
 *
 * Each announce carries, besides BEP 3's parameters:
 *   supportcrypto=1   we accept MSE (not under require-tls, which accepts TLS only)
 *   supportbttls=1    we accept bttls on the announced port
 *   requirebttls=1    under require-tls: list only bttls peers (we could not use the others)
 * (HTTP only: a UDP announce has no room for them, see src/tracker/client/udp-client.ts). The hash announced
 * is the level's rendezvous (the infohash for Basic, the Strict rendezvous for Strict).
 */
import type { AnnounceEvent, AnnounceRequest, AnnounceResponse } from '../tracker/client/client.js'
import { announceAny, TRACKER_SCHEMES, type AnyAnnounceOptions } from '../tracker/client/announce.js'
import { readFlaggedPeers, REQUIRE_BTTLS_PARAM, SUPPORT_BTTLS_PARAM, type FlaggedPeer } from '../tracker/bttls-flags.js'
import type { Policy } from '../wire/policy.js'
import type { PeerCandidate, TorrentHandle } from './session.js'

export interface TrackerDiscoveryOptions {
  /** Trackers announced to besides each torrent's own (CLI --tracker). */
  readonly extra?: readonly string[]
  /** Bounds on the re-announce interval the tracker asks for, seconds. Default 60 and 3600. */
  readonly minIntervalS?: number
  readonly maxIntervalS?: number
  /** One announce's time bound: default 15 s for HTTP; for UDP, BEP 15's retransmission schedule (`udp`). */
  readonly timeoutMs?: number
  /** UDP announces: BEP 15 retransmission schedule and bounds (src/tracker/client/udp-client.ts). */
  readonly udp?: AnyAnnounceOptions['udp']
}

export interface TrackerAnnouncerHost {
  readonly port: number
  readonly policy: Policy
  /** Source address of announces (the address peers should dial us at). */
  readonly localAddress?: string
  feed (handle: TorrentHandle, candidates: Iterable<PeerCandidate>): void
  report (event: TrackerReport): void
}

export type TrackerReport =
  | { readonly kind: 'announced', readonly tracker: string, readonly announceEvent?: AnnounceEvent, readonly peers: number, readonly bttlsPeers: number, readonly intervalS: number }
  | { readonly kind: 'failed', readonly tracker: string, readonly error: Error, readonly retryS: number }

const DEFAULT_MIN_INTERVAL_S = 60
const DEFAULT_MAX_INTERVAL_S = 3600
/** Retry after a failure: 30 s doubling, never beyond the max interval. */
const FIRST_RETRY_S = 30
const STOP_TIMEOUT_MS = 3000

/** Which announce URLs of a torrent this client speaks (HTTP, HTTPS, UDP), deduplicated, in order. */
export function announceableTrackers (urls: Iterable<string>): string[] {
  const out: string[] = []
  for (const u of urls) {
    let url: URL
    try { url = new URL(u) } catch { continue }
    if ((TRACKER_SCHEMES as readonly string[]).includes(url.protocol) && !out.includes(u)) out.push(u)
  }
  return out
}

/** The parameters bttls adds to an announce, by policy. */
export function capabilityParams (policy: Policy): Array<readonly [string, number]> {
  return [
    ...(policy !== 'require-tls' ? [['supportcrypto', 1] as const] : []),
    [SUPPORT_BTTLS_PARAM, 1],
    ...(policy === 'require-tls' ? [[REQUIRE_BTTLS_PARAM, 1] as const] : [])
  ]
}

/** Peers of a response with their bttls flag; a non-compact (dict) list has no flags. */
export function responsePeers (r: AnnounceResponse): FlaggedPeer[] {
  return Buffer.isBuffer(r.dict.get('peers')) || Buffer.isBuffer(r.dict.get('peers6')) ? readFlaggedPeers(r.dict) : r.peers
}

interface TrackerState {
  readonly url: string
  timer: NodeJS.Timeout | undefined
  /** A successful announce happened: send `stopped` on close. */
  started: boolean
  failures: number
}

export class TrackerAnnouncer {
  private readonly trackers: TrackerState[]
  private readonly minS: number
  private readonly maxS: number
  private completedSent = false
  private stopped = false

  constructor (
    private readonly host: TrackerAnnouncerHost,
    private readonly handle: TorrentHandle,
    /** The 20 bytes announced: the level's rendezvous. */
    private readonly hash: Buffer,
    urls: readonly string[],
    private readonly options: TrackerDiscoveryOptions = {}
  ) {
    this.minS = options.minIntervalS ?? DEFAULT_MIN_INTERVAL_S
    this.maxS = Math.max(this.minS, options.maxIntervalS ?? DEFAULT_MAX_INTERVAL_S)
    this.trackers = announceableTrackers(urls).map(url => ({ url, timer: undefined, started: false, failures: 0 }))
    for (const t of this.trackers) void this.announceTo(t, 'started')
    // Trackers count seeds by `left`; tell them when we become one.
    handle.swarm.once('complete', () => {
      if (this.stopped || this.completedSent) return
      this.completedSent = true
      for (const t of this.trackers) if (t.started) { if (t.timer !== undefined) clearTimeout(t.timer); void this.announceTo(t, 'completed') }
    })
  }

  get urls (): string[] { return this.trackers.map(t => t.url) }

  /** Stop re-announcing and tell the trackers we leave (bounded: a dead tracker cannot hold up close). */
  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    for (const t of this.trackers) if (t.timer !== undefined) clearTimeout(t.timer)
    await Promise.all(this.trackers.filter(t => t.started).map(t =>
      announceAny(t.url, this.request('stopped'), { ...this.announceOptions(), timeoutMs: STOP_TIMEOUT_MS }).catch(() => undefined)))
  }

  private announceOptions (): AnyAnnounceOptions {
    return {
      ...(this.options.timeoutMs !== undefined ? { timeoutMs: this.options.timeoutMs } : {}),
      ...(this.options.udp !== undefined ? { udp: this.options.udp } : {}),
      ...(this.host.localAddress !== undefined ? { localAddress: this.host.localAddress } : {})
    }
  }

  private request (event: AnnounceEvent | undefined): AnnounceRequest {
    const swarm = this.handle.swarm
    const s = swarm.stats()
    const m = swarm.metainfo
    // Unknown size (magnet before metadata): any non-zero `left`, so the tracker does not take us for a seed.
    const left = swarm.complete ? 0 : m === undefined ? 1 : Math.max(1, m.totalLength - s.piecesDone * m.pieceLength)
    return {
      infoHash: this.hash,
      peerId: swarm.peerId,
      port: this.host.port,
      uploaded: s.uploaded,
      downloaded: s.downloaded,
      left,
      numwant: 50,
      ...(event !== undefined ? { event } : {}),
      params: capabilityParams(this.host.policy)
    }
  }

  private async announceTo (t: TrackerState, event: AnnounceEvent | undefined): Promise<void> {
    if (this.stopped) return
    t.timer = undefined
    let nextS: number
    try {
      const r = await announceAny(t.url, this.request(event), this.announceOptions())
      if (this.stopped) return
      t.started = true
      t.failures = 0
      nextS = Math.min(this.maxS, Math.max(this.minS, r.minInterval ?? 0, r.interval))
      const peers = responsePeers(r)
      this.host.report({ kind: 'announced', tracker: t.url, ...(event !== undefined ? { announceEvent: event } : {}), peers: peers.length, bttlsPeers: peers.filter(p => p.tls === true).length, intervalS: nextS })
      this.host.feed(this.handle, peers.map(p => ({ host: p.host, port: p.port, ...(p.tls === true ? { tls: true } : {}), source: 'tracker' as const })))
    } catch (err) {
      if (this.stopped) return
      nextS = Math.min(this.maxS, FIRST_RETRY_S * 2 ** t.failures++)
      this.host.report({ kind: 'failed', tracker: t.url, error: err as Error, retryS: nextS })
      // A failed `started` is retried as `started`; later ones as plain re-announces.
      if (!t.started) { this.schedule(t, nextS, event); return }
    }
    this.schedule(t, nextS, undefined)
  }

  private schedule (t: TrackerState, seconds: number, event: AnnounceEvent | undefined): void {
    if (this.stopped) return
    t.timer = setTimeout(() => { void this.announceTo(t, event) }, seconds * 1000)
    t.timer.unref()
  }
}
