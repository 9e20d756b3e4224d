/**
 * Where a session looks for peers besides PEX: the torrent's trackers, HTTP(S) and UDP
 * (discovery-trackers.ts), and the DHT (discovery-dht.ts). What they are told is the level's
 * rendezvous (SwarmLevel.rendezvous, BEP: "Strict rendezvous"):
 *
 *   Basic         the infohash, to trackers (its own and the session's extra ones) and the DHT; a
 *                 private torrent (BEP 27) to its trackers only.
 *   Strict        a rendezvous hash only holders of the strict input can compute, in place of the
 *                 infohash, to the same trackers and the DHT: they see an unknown 20-byte hash, never
 *                 the infohash, and cannot tell the swarm is Strict.
 *   Full Strict   nothing here: its secure tracker needs the user's passkey, and the certificate
 *                 manager (src/tracker/client/certificate-manager.ts) announces to it and feeds its peers.
 *
 * UDP trackers carry no bttls signal (BEP: "UDP trackers"): their peers come back of unknown
 * capability, as from the DHT, and prefer-tls dials them over TLS first.
 */
import type { SwarmLevel } from '../levels/level.js'
import type { Policy } from '../wire/policy.js'
import { DhtDiscovery, type DhtDiscoveryOptions, type DhtReport } from './discovery-dht.js'
import { announceableTrackers, TrackerAnnouncer, type TrackerDiscoveryOptions, type TrackerReport } from './discovery-trackers.js'
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

/**
 * What a torrent is announced under to trackers / the DHT, or why it is not: its level's announce
 * mode and hash (the infohash, or the Strict rendezvous), and no DHT for a private torrent (BEP 27).
 */
export function announceTarget (level: Pick<SwarmLevel, 'announce' | 'announceHash'>, isPrivate: boolean, where: 'tracker' | 'dht'): { readonly hash: Buffer } | { readonly withheld: string } {
  if (level.announce === 'secure-tracker') {
    return { withheld: where === 'tracker'
      ? 'Full Strict torrent: only its secure tracker lists its peers, announced to with the passkey (--passkey)'
      : 'Full Strict torrent: never announced to the DHT; peers come from its secure tracker' }
  }
  if (isPrivate && where === 'dht') return { withheld: 'private torrent (BEP 27): no DHT' }
  return { hash: level.announceHash() }
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
      const urls = announceableTrackers([...trackers, ...(trackerOptions?.extra ?? [])])
      const target = urls.length > 0 ? announceTarget(handle.level, isPrivate, 'tracker') : undefined
      if (target !== undefined && 'withheld' in target) this.host.report({ source: 'tracker', kind: 'skipped', infoHash, reason: target.withheld })
      else if (target !== undefined && !this.announcers.has(handle)) {
        this.announcers.set(handle, new TrackerAnnouncer({
          port: this.host.port,
          policy: this.host.policy,
          ...(this.host.localAddress !== undefined ? { localAddress: this.host.localAddress } : {}),
          feed: (h, c) => this.host.feed(h, c),
          report: e => this.host.report({ source: 'tracker', infoHash, ...e })
        }, handle, target.hash, urls, trackerOptions === undefined ? {} : trackerOptions))
      }
    }
    if (this.dht !== undefined) {
      const target = announceTarget(handle.level, isPrivate, 'dht')
      if ('withheld' in target) this.host.report({ source: 'dht', kind: 'skipped', infoHash, reason: target.withheld })
      else this.dht.add(handle, target.hash)
    }
  }

  async close (): Promise<void> {
    await Promise.all([...this.announcers.values()].map(a => a.stop()))
    this.announcers.clear()
    await this.dht?.close()
  }
}
