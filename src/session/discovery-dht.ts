/**
 * BEP 5 DHT discovery for a session: one DHT node (UDP, on the session's address), announcing each
 * torrent it is given on our TCP listen port and looking its peers up periodically.
 *
 * There is no bttls flag in the DHT: get_peers values are bare compact endpoints, and a new key in
 * them would be dropped by every node that stores them. The design relies on the one port instead:
 * a bttls peer announces the same port that serves TLS, MSE and plaintext, prefer-tls dials TLS first
 * to every unknown peer, and once a peer has answered over TLS the capability memory keeps it TLS-only.
 *
 * Only bootstrap nodes we are given are used: an empty list is passed through explicitly, because
 * bittorrent-dht falls back to the public routers when it gets none.
 */
import DHT from 'bittorrent-dht'
import type { PeerCandidate, TorrentHandle } from './session.js'

export interface DhtDiscoveryOptions {
  /** 'host:port' of the nodes to bootstrap from. */
  readonly bootstrap: readonly string[]
  /** UDP port of our node; default 0 (any free port). */
  readonly port?: number
  /** How often each torrent is announced and looked up again; default 5 minutes. */
  readonly intervalMs?: number
}

export interface DhtHost {
  /** TCP listen port announced for every torrent. */
  readonly port: number
  feed (handle: TorrentHandle, candidates: Iterable<PeerCandidate>): void
  report (event: DhtReport): void
}

export type DhtReport =
  | { readonly kind: 'listening', readonly address: string, readonly port: number }
  | { readonly kind: 'announced', readonly infoHash: string, readonly error?: Error }
  | { readonly kind: 'warning', readonly error: Error }

const DEFAULT_INTERVAL_MS = 5 * 60_000

export class DhtDiscovery {
  private readonly torrents = new Map<string, { handle: TorrentHandle, timer: NodeJS.Timeout }>()
  private readonly intervalMs: number
  private closed = false

  private constructor (private readonly dht: DHT, private readonly host: DhtHost, options: DhtDiscoveryOptions) {
    this.intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS
    dht.on('peer', (peer, infoHash) => {
      const t = this.torrents.get(Buffer.from(infoHash).toString('hex'))
      if (t !== undefined) host.feed(t.handle, [{ host: peer.host, port: peer.port, source: 'dht' }])
    })
    dht.on('warning', err => host.report({ kind: 'warning', error: err }))
    dht.on('error', err => host.report({ kind: 'warning', error: err }))
  }

  /** Starts our node on `address` (UDP) and waits until it listens and has queried its bootstrap nodes. */
  static async start (host: DhtHost, address: string, options: DhtDiscoveryOptions): Promise<DhtDiscovery> {
    const dht = new DHT({ bootstrap: [...options.bootstrap], host: address })
    const d = new DhtDiscovery(dht, host, options)
    await new Promise<void>((resolve, reject) => {
      dht.once('error', reject)
      dht.listen(options.port ?? 0, address, () => { dht.off('error', reject); resolve() })
    })
    const a = dht.address()
    host.report({ kind: 'listening', address: a.address, port: a.port })
    if (!dht.ready) await new Promise<void>(resolve => dht.once('ready', () => resolve()))
    return d
  }

  get address (): { address: string, port: number } {
    const a = this.dht.address()
    return { address: a.address, port: a.port }
  }

  /**
   * Announce `handle` under `hash` (its level's rendezvous: the infohash, or a Strict rendezvous) now
   * and every interval; the lookups feed its peers to the session.
   */
  add (handle: TorrentHandle, hash: Buffer): void {
    const key = hash.toString('hex')
    if (this.closed || this.torrents.has(key)) return
    const timer = setInterval(() => this.announce(hash), this.intervalMs)
    timer.unref()
    this.torrents.set(key, { handle, timer })
    this.announce(hash)
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const t of this.torrents.values()) clearInterval(t.timer)
    this.torrents.clear()
    await new Promise<void>(resolve => this.dht.destroy(() => resolve()))
  }

  private announce (infoHash: Buffer): void {
    if (this.closed) return
    // A lookup each time (its get_peers replies emit the peers, and refresh the announce tokens);
    // announce() alone would reuse a cached table for 5 minutes and learn nothing new.
    this.dht.lookup(infoHash, () => {
      if (this.closed) return
      this.dht.announce(infoHash, this.host.port, err => {
        if (!this.closed) this.host.report({ kind: 'announced', infoHash: infoHash.toString('hex'), ...(err ? { error: err } : {}) })
      })
    })
  }
}
