/**
 * Keeps the peers named on the command line connected: a peer that drops is dialed again, and a peer
 * that fails MAX_FAILURES times in a row is given up. A link that closes before the peer's BitTorrent
 * handshake counts as a failure. For a download (`untilComplete`), dialing stops once it is complete,
 * and when every peer is given up with none connected, `exhausted` fires: it cannot finish.
 */
import type { ConnectOverrides, Session, TorrentHandle } from '../session/session.js'
import type { PeerLink } from '../wire/peer-link.js'

const MAX_FAILURES = 5
const RETRY_MS = 1000

interface PeerState { host: string, port: number, link?: PeerLink, failures: number, dialing: boolean, lastError?: string }

export class PeerRedialer {
  private readonly peers: PeerState[]
  private readonly timer: NodeJS.Timeout
  private stopped = false

  constructor (
    private readonly session: Session,
    private readonly handle: TorrentHandle,
    targets: ReadonlyArray<{ host: string, port: number }>,
    private readonly exhausted: (reason: string) => void,
    private readonly options: { untilComplete: boolean, overrides?: ConnectOverrides } = { untilComplete: true }
  ) {
    this.peers = targets.map(t => ({ ...t, failures: 0, dialing: false }))
    session.on('dial-failed', f => {
      const peer = this.peers.find(p => p.host === f.host && p.port === f.port)
      if (peer) peer.lastError = f.error.message
    })
    this.timer = setInterval(() => this.tick(), RETRY_MS)
    this.timer.unref()
    this.tick()
  }

  stop (): void {
    this.stopped = true
    clearInterval(this.timer)
  }

  private tick (): void {
    if (this.stopped || (this.options.untilComplete && this.handle.swarm.complete)) return
    for (const peer of this.peers) {
      if (peer.link || peer.dialing || peer.failures >= MAX_FAILURES) continue
      peer.dialing = true
      void this.session.connect(this.handle, peer.host, peer.port, undefined, this.options.overrides).then(link => {
        peer.dialing = false
        if (!link) { peer.failures++; this.check(); return }
        peer.link = link
        let shookHands = false
        link.remoteHandshake.then(() => { shookHands = true; peer.failures = 0 }, () => {})
        void link.closed.then(err => {
          peer.link = undefined
          if (err || !shookHands) {
            peer.failures++
            peer.lastError = err ? `${err.name}: ${err.message}` : 'closed before its BitTorrent handshake'
          } else if (!this.options.untilComplete) {
            // A seeder's peer that closed cleanly after a handshake has what it wanted (e.g. it is a seed too).
            peer.failures = MAX_FAILURES
          }
          this.check()
        })
      })
    }
  }

  private check (): void {
    if (this.stopped || this.peers.length === 0 || (this.options.untilComplete && this.handle.swarm.complete)) return
    if (this.peers.every(p => p.failures >= MAX_FAILURES && !p.link && !p.dialing)) {
      const last = this.peers.map(p => `${p.host}:${p.port}: ${p.lastError ?? 'failed'}`).join('; ')
      this.exhausted(`no peer can complete the download (${last})`)
    }
  }
}
