/**
 * What the CLI tells its user: JSON lines (`--json`, one object per line with an `event` field, for
 * tooling such as the interop harness) or human lines plus a progress bar when stderr is a TTY.
 */
import type { Session } from '../session/session.js'
import type { Swarm } from '../swarm/swarm.js'
import type { TransportKind } from '../wire/peer-link.js'
import { fitLine } from './status-line.js'
import { dialReason, endpoint, isTcpConnectFailure, oneLine } from './dial-reason.js'

export interface ErrorJson { name: string, code?: string, message: string }

/**
 * Where a CLI run writes: the process's own streams, or a caller's (main(argv, io) run in process, as
 * the tests do where the process itself is not what they test).
 */
export interface CliIo { readonly stdout: typeof process.stdout, readonly stderr: typeof process.stderr }

export const PROCESS_IO: CliIo = { stdout: process.stdout, stderr: process.stderr }

export function errorJson (err: unknown): ErrorJson {
  const e = err as { name?: string, code?: string, message?: string }
  return { name: e?.name ?? 'Error', code: e?.code, message: oneLine(e?.message ?? String(err)) }
}

export class Reporter {
  private lastBar = 0
  constructor (readonly json: boolean, private readonly out = process.stdout, private readonly err = process.stderr) {}

  event (event: string, fields: Record<string, unknown> = {}, human?: string): void {
    if (this.json) this.out.write(JSON.stringify({ event, ...fields }) + '\n')
    else if (human !== undefined) { this.clearBar(); this.err.write(human + '\n') }
  }

  /** Human summary line on stdout (JSON mode: the `complete` event carries the same numbers). */
  line (text: string): void {
    if (!this.json) { this.clearBar(); this.out.write(text + '\n') }
  }

  /** Whether a live status line is shown: human output on a terminal. */
  get live (): boolean {
    return !this.json && this.err.isTTY === true
  }

  /** Redraws the status line (status-line.ts), cut to the terminal's width. */
  status (fields: readonly string[]): void {
    if (!this.live) return
    this.lastBar = Date.now()
    this.err.write(`\r${fitLine(fields, (this.err.columns ?? 80) - 1)}\x1b[K`)
  }

  /** Clears the status line for good (before the final summary). */
  endStatus (): void {
    this.clearBar()
    this.lastBar = 0
  }

  private clearBar (): void {
    if (!this.json && this.err.isTTY && this.lastBar !== 0) this.err.write('\r\x1b[K')
  }
}

/** Reports the session's peer connections, refusals and failed dials. */
export function reportSession (session: Session, reporter: Reporter): void {
  session.on('link', link => {
    link.closed.then(error => reporter.event('peer-closed', {
      address: link.remoteAddress, port: link.remotePort, transport: link.transport, error: error ? errorJson(error) : undefined
    }, error ? `peer ${endpoint(link.remoteAddress, link.remotePort)} (${link.transport}) closed: ${error.name}: ${oneLine(error.message)}` : undefined), () => {})
    const tls = link.tls ? ` ${link.tls.protocol} ${link.tls.cipher} level ${link.tls.level}${link.tls.profile ? ` (${link.tls.profile} profile)` : ''}` : ''
    // A peer is reported once its BitTorrent handshake arrived: a plaintext dial "succeeds" at the TCP
    // connect, and a peer that then closes was never a plaintext peer.
    link.remoteHandshake.then(() => reporter.event('peer', {
      transport: link.transport, direction: link.direction, address: link.remoteAddress, port: link.remotePort, tls: link.tls
    }, `peer ${link.direction} ${endpoint(link.remoteAddress, link.remotePort)} over ${link.transport}${tls}`), () => {})
  })
  session.on('refused', r => reporter.event('refused', {
    transport: r.transport, address: r.remoteAddress, port: r.remotePort, error: errorJson(r.error)
  }, `refused ${endpoint(r.remoteAddress, r.remotePort)}${r.transport ? ` (${r.transport})` : ''}: ${r.error.name}: ${oneLine(r.error.message)}`))
  session.on('dial-failed', f => reporter.event('dial-failed', { host: f.host, port: f.port, error: errorJson(f.error) },
    `could not connect to ${endpoint(f.host, f.port)}: ${dialReason(f.error)}`))
  session.on('fallback', f => reporter.event('fallback', {
    host: f.host, port: f.port, transport: f.transport, from: f.from.map(a => ({ transport: a.transport, error: errorJson(a.error) }))
  }, `fell back to ${f.transport} with ${f.host}:${f.port} after ${f.from.map(a => `${a.transport} (${a.error.name}: ${a.error.message})`).join(', ')}`))
  // A peer known to speak bttls that cannot be reached at all (nothing listens) is not a downgrade:
  // the 'dial-failed' line says so. Only a TLS handshake that failed after the connect is one.
  session.on('downgrade-refused', d => {
    if (d.error.attempts.length > 0 && d.error.attempts.every(a => isTcpConnectFailure(a.error))) return
    reporter.event('downgrade-refused', { host: d.host, port: d.port, knownFrom: d.knownFrom, error: errorJson(d.error) },
      `not falling back to plaintext: ${endpoint(d.host, d.port)} is known to speak bttls (${d.knownFrom}) but its TLS handshake failed: ${dialReason(d.error)}`)
  })
  session.on('downgrade-suspected', d => reporter.event('downgrade-suspected', d,
    `possible downgrade: ${d.host}:${d.port}, known to speak bttls (${d.knownFrom}), reached us over ${d.transport} without advertising it`))
  session.on('upgraded', u => reporter.event('upgraded', u, `upgraded ${u.host}:${u.port} from ${u.from} to TLS`))
}

export function reportSwarm (swarm: Swarm, reporter: Reporter): void {
  swarm.on('piece', index => {
    const s = swarm.stats()
    reporter.event('piece', { index, done: s.piecesDone, total: s.piecesTotal })
  })
  swarm.on('bad-piece', (index, peers) => reporter.event('bad-piece', { index, peers: peers.map(p => `${p.address}:${p.port}`) },
    `piece ${index} failed verification (from ${peers.map(p => `${p.address}:${p.port}`).join(', ')}); it will be fetched again`))
  swarm.on('peer-banned', (peer, error) => reporter.event('peer-banned', { address: peer.address, port: peer.port, error: errorJson(error) },
    `banned ${peer.address}:${peer.port}: ${error.message}`))
  swarm.on('stalled', s => reporter.event('stalled', { sinceS: Math.round(s.sinceMs / 1000), peers: s.peers, unchokedWithPieces: s.unchokedWithPieces },
    `stalled: no data for ${Math.round(s.sinceMs / 1000)} s (${s.peers} peers connected, ${s.unchokedWithPieces} unchoking us with pieces we need)`))
  swarm.on('resumed', () => reporter.event('resumed', {}, 'resumed: data is flowing again'))
  swarm.on('metadata', m => reporter.event('metadata', { name: m.name, pieces: m.pieceCount }, `metadata received: ${m.name} (${m.pieceCount} pieces)`))
}

export function transportCounts (swarm: Swarm): { peers: Record<TransportKind, number>, bytes: Record<TransportKind, number> } {
  const t = swarm.stats().transports
  return {
    peers: { tls: t.tls.peers, plain: t.plain.peers, mse: t.mse.peers },
    bytes: { tls: t.tls.downloaded + t.tls.uploaded, plain: t.plain.downloaded + t.plain.uploaded, mse: t.mse.downloaded + t.mse.uploaded }
  }
}

export function cpuSeconds (): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}
