/**
 * Keeps the peers named on the command line connected: a peer that drops is dialed again after an
 * exponential back-off (redial-backoff.ts), and a peer that fails MAX_FAILURES times in a row without
 * delivering data is given up. A link that closes before the peer's BitTorrent handshake, or with an
 * error before it delivered a block, counts as a failure; a banned peer is given up at once. For a
 * download (`untilComplete`), dialing stops once it is complete, and when every peer is given up with
 * none connected, `exhausted` fires with each peer's last error: it cannot finish.
 */
import type { ConnectOverrides, Session, TorrentHandle } from '../session/session.js'
import { RedialBackoff, type BackoffOptions } from '../session/redial-backoff.js'
import type { PeerLink } from '../wire/peer-link.js'
import { dialReason, endpoint, oneLine } from './dial-reason.js'

const MAX_FAILURES = 5
const TICK_MS = 250
/** A link closed as a duplicate: we are connected to that peer another way; look again later. */
const DUPLICATE_RETRY_MS = 30_000

interface PeerState { host: string, port: number, key: string, link?: PeerLink, failures: number, dialing: boolean, gaveUp: boolean, lastError?: string, finished?: boolean, reported?: boolean }

export interface RedialerOptions {
  readonly untilComplete: boolean
  readonly overrides?: ConnectOverrides
  readonly backoff?: BackoffOptions
}

export class PeerRedialer {
  private readonly peers: PeerState[]
  private readonly timer: NodeJS.Timeout
  private readonly backoff: RedialBackoff
  private stopped = false

  constructor (
    private readonly session: Session,
    private readonly handle: TorrentHandle,
    targets: ReadonlyArray<{ host: string, port: number }>,
    private readonly exhausted: (reason: string) => void,
    private readonly options: RedialerOptions = { untilComplete: true }
  ) {
    this.backoff = new RedialBackoff(options.backoff)
    this.peers = targets.map(t => ({ ...t, key: `${t.host}|${t.port}`, failures: 0, dialing: false, gaveUp: false }))
    session.on('dial-failed', f => {
      const peer = this.peers.find(p => p.host === f.host && p.port === f.port)
      if (peer) peer.lastError = dialReason(f.error)
    })
    this.timer = setInterval(() => this.tick(), TICK_MS)
    this.timer.unref()
    this.tick()
  }

  stop (): void {
    this.stopped = true
    clearInterval(this.timer)
  }

  private done (): boolean {
    return this.stopped || (this.options.untilComplete && this.handle.swarm.complete)
  }

  private tick (): void {
    if (this.done()) return
    const now = Date.now()
    for (const peer of this.peers) {
      if (peer.link || peer.dialing || peer.gaveUp || !this.backoff.ready(peer.key, now)) continue
      if (this.handle.swarm.isBanned(peer.host, peer.port)) {
        this.giveUp(peer, 'banned for sending bad data')
        continue
      }
      peer.dialing = true
      void this.session.connect(this.handle, peer.host, peer.port, undefined, this.options.overrides).then(link => {
        peer.dialing = false
        if (!link) { this.failed(peer); return }
        this.watch(peer, link)
      })
    }
  }

  private watch (peer: PeerState, link: PeerLink): void {
    peer.link = link
    let shookHands = false
    let delivered = false
    let served = false
    link.remoteHandshake.then(() => { shookHands = true }, () => {})
    link.wire.once('upload', () => { served = true })
    // Only data proves a peer useful: one that shakes hands and then sends nothing (or bad data) must
    // not reset its failures, or it is redialed for ever.
    link.wire.once('download', () => {
      delivered = true
      peer.failures = 0
      this.backoff.succeeded(peer.key)
    })
    void link.closed.then(err => {
      peer.link = undefined
      if (err?.name === 'BadPeerError') {
        this.giveUp(peer, `banned: ${oneLine(err.message)}`)
      } else if (err?.name === 'SelfConnectionError') {
        this.giveUp(peer, `${err.name}: ${oneLine(err.message)}`)
      } else if (err?.name === 'DuplicateLinkError') {
        this.backoff.defer(peer.key, DUPLICATE_RETRY_MS)
      } else if (!this.options.untilComplete && shookHands && served) {
        // A seeder's peer that took data and left (often with a reset as its process exits) was
        // served, not failed: it is not dialed again and not warned about.
        peer.gaveUp = true
        peer.finished = true
      } else if (!shookHands || (err !== undefined && !delivered)) {
        peer.lastError = err ? `${err.name}: ${oneLine(err.message)}` : 'closed before its BitTorrent handshake'
        this.failed(peer)
        return
      } else if (!this.options.untilComplete) {
        // A seeder's peer that closed cleanly after a handshake has what it wanted (e.g. it is a seed too).
        peer.gaveUp = true
        peer.finished = true
      } else if (err !== undefined) {
        peer.lastError = `${err.name}: ${oneLine(err.message)}`
        this.backoff.failed(peer.key)
      }
      this.check()
    })
  }

  private failed (peer: PeerState): void {
    peer.failures++
    this.backoff.failed(peer.key)
    if (peer.failures >= MAX_FAILURES) peer.gaveUp = true
    this.check()
  }

  private giveUp (peer: PeerState, reason: string): void {
    peer.gaveUp = true
    peer.lastError = reason
    this.check()
  }

  private check (): void {
    if (this.peers.length === 0 || this.done()) return
    if (!this.options.untilComplete) {
      // A seeder has no download to fail: it says which peer it stopped dialing, and why, once.
      for (const p of this.peers) {
        if (!p.gaveUp || p.finished === true || p.reported === true) continue
        p.reported = true
        this.exhausted(`stopped dialing ${endpoint(p.host, p.port)}: ${p.lastError ?? 'failed'}`)
      }
      return
    }
    if (this.peers.every(p => p.gaveUp && !p.link && !p.dialing)) {
      const last = this.peers.map(p => `${endpoint(p.host, p.port)}: ${p.lastError ?? 'failed'}`).join('; ')
      this.exhausted(`no peer can complete the download (${last})`)
    }
  }
}
