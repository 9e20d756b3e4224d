/**
 * Keeps the peers named on the command line connected while a download needs them: a peer that
 * drops is dialed again, and a peer that fails MAX_FAILURES times in a row is given up. When every
 * peer is given up and none is connected, the download cannot finish and `exhausted` fires.
 */
import type { Session, TorrentHandle } from '../session/session.js'
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
    private readonly exhausted: (reason: string) => void
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
    if (this.stopped || this.handle.swarm.complete) return
    for (const peer of this.peers) {
      if (peer.link || peer.dialing || peer.failures >= MAX_FAILURES) continue
      peer.dialing = true
      void this.session.connect(this.handle, peer.host, peer.port).then(link => {
        peer.dialing = false
        if (!link) { peer.failures++; this.check(); return }
        peer.link = link
        void link.closed.then(err => {
          peer.link = undefined
          if (err) { peer.failures++; peer.lastError = `${err.name}: ${err.message}` }
          this.check()
        })
      })
    }
  }

  private check (): void {
    if (this.stopped || this.handle.swarm.complete || this.peers.length === 0) return
    if (this.peers.every(p => p.failures >= MAX_FAILURES && !p.link && !p.dialing)) {
      const last = this.peers.map(p => `${p.host}:${p.port}: ${p.lastError ?? 'failed'}`).join('; ')
      this.exhausted(`no peer can complete the download (${last})`)
    }
  }
}
