/**
 * Where a session looks for peers besides PEX: the torrent's HTTP(S) trackers (discovery-trackers.ts)
 * and the DHT (discovery-dht.ts), under one rule per level:
 *
 *   Basic         trackers (its own and the session's extra ones) and the DHT; a private torrent
 *                 (BEP 27) its trackers only.
 *   Strict        nothing: announcing the infohash would tell anyone watching a tracker or the DHT
 *                 where the swarm is, which Strict exists to hide. The BEP leaves open under which
 *                 rendezvous hash a Strict swarm could meet; until it says, Strict peers come from
 *                 the user (--peer, magnet x.pe) and PEX between members.
 *   Full Strict   nothing here: its secure tracker needs the user's passkey, and the certificate
 *                 manager (src/tracker/certificate-manager.ts) announces to it and feeds its peers.
 *
 * UDP trackers (BEP 15) are skipped. A bttls flag there would need BEP 41's URL-data option to carry
 * supportbttls and a response extension for per-peer flags, which BEP 15 responses have no room for;
 * without flags a UDP tracker gives what the DHT gives (bare endpoints), so it is left for later.
 */
import type { SwarmLevel } from '../levels/level.js'
import type { Policy } from '../wire/policy.js'
import { DhtDiscovery, type DhtDiscoveryOptions, type DhtReport } from './discovery-dht.js'
import { httpTrackers, TrackerAnnouncer, type TrackerDiscoveryOptions, type TrackerReport } from './discovery-trackers.js'
import type { PeerCandidate, TorrentHandle } from './session.js'

export interface DiscoveryOptions {
  /** false: never announce to trackers. */
  readonly trackers?: TrackerDiscoveryOptions | false
  /** Absent: no DHT (bttls never joins the public DHT on its own). */
  readonly dht?: DhtDiscoveryOptions
}

/** What discovery did, for the session's log. */
export type DiscoveryEvent =
  | ({ readonly source: 'tracker', readonly infoHash: string } & TrackerReport)
  | ({ readonly source: 'dht', readonly infoHash?: string } & DhtReport)
  | { readonly source: 'tracker' | 'dht', readonly kind: 'skipped', readonly infoHash: string, readonly reason: string }

export interface DiscoveryHost {
  readonly port: number
  readonly policy: Policy
  readonly localAddress?: string
  feed (handle: TorrentHandle, candidates: Iterable<PeerCandidate>): void
  report (event: DiscoveryEvent): void
}

/** Why a torrent is not announced to trackers / the DHT at this level, or undefined if it may be. */
export function withheldReason (level: Pick<SwarmLevel, 'announce'>, isPrivate: boolean, where: 'tracker' | 'dht'): string | undefined {
  if (level.announce === 'withheld') {
    return 'Strict torrent: announcing its infohash would reveal the swarm (the rendezvous hash for Strict is not specified yet); peers come from --peer, the magnet link and PEX'
  }
  if (level.announce === 'secure-tracker') {
    return where === 'tracker'
      ? 'Full Strict torrent: only its secure tracker lists its peers, announced to with the passkey (--passkey)'
      : 'Full Strict torrent: never announced to the DHT; peers come from its secure tracker'
  }
  if (isPrivate && where === 'dht') return 'private torrent (BEP 27): no DHT'
  return undefined
}

export class Discovery {
  private readonly announcers = new Map<TorrentHandle, TrackerAnnouncer>()

  private constructor (private readonly host: DiscoveryHost, private readonly options: DiscoveryOptions, private readonly dht: DhtDiscovery | undefined) {}

  static async start (host: DiscoveryHost, address: string, options: DiscoveryOptions): Promise<Discovery> {
    const dht = options.dht === undefined
      ? undefined
      : await DhtDiscovery.start({ port: host.port, feed: (h, c) => host.feed(h, c), report: e => host.report({ source: 'dht', ...e }) }, address, options.dht)
    return new Discovery(host, options, dht)
  }

  /** Our DHT node's UDP endpoint, if we run one. */
  get dhtAddress (): { address: string, port: number } | undefined {
    return this.dht?.address
  }

  /** Start announcing a torrent, under its level's rule. `trackers`: its announce URLs (metainfo or magnet). */
  add (handle: TorrentHandle, trackers: readonly string[], isPrivate: boolean): void {
    const infoHash = handle.wireInfoHash.toString('hex')
    const trackerOptions = this.options.trackers
    if (trackerOptions !== false) {
      const urls = httpTrackers([...trackers, ...(trackerOptions?.extra ?? [])])
      const reason = withheldReason(handle.level, isPrivate, 'tracker')
      if (urls.length > 0 && reason !== undefined) this.host.report({ source: 'tracker', kind: 'skipped', infoHash, reason })
      else if (urls.length > 0 && !this.announcers.has(handle)) {
        this.announcers.set(handle, new TrackerAnnouncer({
          port: this.host.port,
          policy: this.host.policy,
          ...(this.host.localAddress !== undefined ? { localAddress: this.host.localAddress } : {}),
          feed: (h, c) => this.host.feed(h, c),
          report: e => this.host.report({ source: 'tracker', infoHash, ...e })
        }, handle, urls, trackerOptions === undefined ? {} : trackerOptions))
      }
    }
    if (this.dht !== undefined) {
      const reason = withheldReason(handle.level, isPrivate, 'dht')
      if (reason !== undefined) this.host.report({ source: 'dht', kind: 'skipped', infoHash, reason })
      else this.dht.add(handle)
    }
  }

  async close (): Promise<void> {
    await Promise.all([...this.announcers.values()].map(a => a.stop()))
    this.announcers.clear()
    await this.dht?.close()
  }
}
