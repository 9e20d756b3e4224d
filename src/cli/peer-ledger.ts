/**
 * What became of every peer `get` tried, so that a download that cannot go on ends with a true one-line
 * reason ("3 peers tried: 1 banned, 2 unreachable") instead of a guess such as "no peer connected".
 */
import type { Session } from '../session/session.js'
import type { Swarm } from '../swarm/swarm.js'
import { dialReason, oneLine } from './dial-reason.js'

/** Bound on endpoints remembered; a tracker or PEX may name many. */
const MAX_ENDPOINTS = 4096

type Outcome = 'connected' | 'unreachable' | 'banned' | 'timed out' | 'closed'

export class PeerLedger {
  private readonly outcomes = new Map<string, { outcome: Outcome, error?: string }>()

  constructor (session: Session, swarm: Swarm) {
    session.on('dial-failed', f => this.set(`${f.host}:${f.port}`, 'unreachable', dialReason(f.error)))
    session.on('link', link => {
      const key = `${link.remoteAddress}:${link.remotePort}`
      this.set(key, 'connected')
      void link.closed.then(err => {
        if (this.outcomes.get(key)?.outcome === 'banned') return
        const outcome = err?.name === 'PeerTimeoutError' ? 'timed out' : err?.name === 'BadPeerError' ? 'banned' : 'closed'
        this.set(key, outcome, err ? `${err.name}: ${err.message}` : undefined)
      })
    })
    swarm.on('peer-banned', (p, err) => this.set(`${p.address}:${p.port}`, 'banned', `${err.name}: ${err.message}`))
  }

  /** One line: how many peers were tried, what became of them, and the last error seen. */
  summary (connected: number): string {
    if (this.outcomes.size === 0) return 'no peer was found'
    const counts = new Map<Outcome, number>()
    let last: string | undefined
    for (const o of this.outcomes.values()) {
      counts.set(o.outcome, (counts.get(o.outcome) ?? 0) + 1)
      if (o.error !== undefined) last = o.error
    }
    const parts = [...counts].filter(([o]) => o !== 'connected').map(([o, n]) => `${n} ${o}`)
    const tried = `${this.outcomes.size} peer${this.outcomes.size === 1 ? '' : 's'} tried`
    return `${connected} connected, ${tried}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}${last !== undefined ? `; last error: ${last}` : ''}`
  }

  private set (key: string, outcome: Outcome, error?: string): void {
    this.outcomes.delete(key)
    if (this.outcomes.size >= MAX_ENDPOINTS) {
      const oldest = this.outcomes.keys().next()
      if (oldest.done !== true) this.outcomes.delete(oldest.value)
    }
    this.outcomes.set(key, { outcome, ...(error !== undefined ? { error: oneLine(error) } : {}) })
  }
}
