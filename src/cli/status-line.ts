/**
 * The one-line display on a terminal, as aria2c's: what a user watches while downloading or seeding.
 *
 *   get:   37% 7.4/20.0 MiB  DL 5.1 MiB/s  UL 0 B/s  3 peers  ETA 3s
 *   seed:  seeding  UL 5.1 MiB/s  up 40.2 MiB  3 peers
 *
 * Speeds are current (bytes over the last RATE_WINDOW_MS), not averages since the start; a stall
 * shows as "stalled 12s" in place of the ETA. The line never exceeds the terminal's width (fields
 * are dropped from the right, then the line is cut), so a narrow terminal does not scroll.
 */
import type { Swarm } from '../swarm/swarm.js'

/** Speeds are measured over this window. */
export const RATE_WINDOW_MS = 5000
/** How often the line is redrawn. */
export const REDRAW_MS = 1000

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

function unitOf (n: number): number {
  let i = 0
  while (n >= 1024 ** (i + 1) && i < UNITS.length - 1) i++
  return i
}

export function formatBytes (n: number, unit = unitOf(n)): string {
  return unit === 0 ? `${Math.round(n)} B` : `${(n / 1024 ** unit).toFixed(1)} ${UNITS[unit]}`
}

/** "7.4/20.0 MiB": both in the unit of the total. */
export function formatProgress (done: number, total: number): string {
  const unit = unitOf(total)
  return `${formatBytes(done, unit).replace(/ \S+$/, '')}/${formatBytes(total, unit)}`
}

export function formatDuration (s: number): string {
  if (!Number.isFinite(s)) return '?'
  s = Math.round(s)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`
}

/** Keeps `fields` that fit in `width` columns, in order, then cuts the line to it. */
export function fitLine (fields: readonly string[], width: number): string {
  let line = ''
  for (const f of fields) {
    const next = line === '' ? f : `${line}  ${f}`
    if (next.length > width) break
    line = next
  }
  return (line === '' ? fields[0] ?? '' : line).slice(0, Math.max(0, width))
}

interface Sample { at: number, down: number, up: number }

/** Current rates from samples of cumulative byte counters. */
export class RateMeter {
  private readonly samples: Sample[] = []

  add (at: number, down: number, up: number): void {
    this.samples.push({ at, down, up })
    while (this.samples.length > 2 && at - this.samples[1]!.at >= RATE_WINDOW_MS) this.samples.shift()
  }

  /** Bytes per second over the window (0 until two samples exist). */
  rates (): { down: number, up: number } {
    const first = this.samples[0]
    const last = this.samples[this.samples.length - 1]
    if (first === undefined || last === undefined || last.at <= first.at) return { down: 0, up: 0 }
    const s = (last.at - first.at) / 1000
    return { down: (last.down - first.down) / s, up: (last.up - first.up) / s }
  }
}

function peerCount (n: number): string {
  return `${n} peer${n === 1 ? '' : 's'}`
}

/** The fields of the line, most important first. A seed line counts every torrent of `seeding` (one `seed` process may serve several). */
export function statusFields (mode: 'get' | 'seed', swarm: Swarm, rates: { down: number, up: number }, stalledSince: number | undefined, now: number, seeding: readonly Swarm[] = [swarm]): string[] {
  const s = swarm.stats()
  const peers = peerCount(s.peers)
  if (mode === 'seed') {
    const all = seeding.map(w => w.stats())
    const uploaded = all.reduce((a, x) => a + x.uploaded, 0)
    const torrents = seeding.length > 1 ? [`${seeding.length} torrents`] : []
    return ['seeding', `UL ${formatBytes(rates.up)}/s`, `up ${formatBytes(uploaded)}`, peerCount(all.reduce((a, x) => a + x.peers, 0)), ...torrents]
  }
  const m = swarm.metainfo
  if (m === undefined || s.piecesTotal === 0) return ['fetching metadata', peers]
  const total = m.files.filter(f => !f.pad).reduce((a, f) => a + f.length, 0)
  const done = total * s.piecesDone / s.piecesTotal
  const tail = stalledSince !== undefined
    ? `stalled ${formatDuration((now - stalledSince) / 1000)}`
    : `ETA ${rates.down > 0 ? formatDuration((total - done) / rates.down) : '?'}`
  return [
    `${Math.floor(100 * s.piecesDone / s.piecesTotal)}%`,
    formatProgress(done, total),
    `DL ${formatBytes(rates.down)}/s`,
    ...(stalledSince !== undefined ? [tail] : []),
    `UL ${formatBytes(rates.up)}/s`,
    peers,
    ...(stalledSince === undefined ? [tail] : [])
  ]
}

/**
 * Redraws the status line on a TTY every REDRAW_MS until stopped. `write` is given the line (or ''
 * to clear it); the Reporter owns the stream so that log lines and the status line do not mix.
 */
export class StatusLine {
  private readonly meter = new RateMeter()
  private readonly timer: NodeJS.Timeout
  private stalledSince: number | undefined
  private readonly swarm: Swarm
  private readonly swarms: readonly Swarm[]

  /** `swarms`: the torrent downloaded (get), or every torrent served (seed). */
  constructor (private readonly mode: 'get' | 'seed', swarms: Swarm | readonly Swarm[], private readonly draw: (fields: string[]) => void) {
    this.swarms = Array.isArray(swarms) ? swarms : [swarms as Swarm]
    const swarm: Swarm = this.swarm = this.swarms[0]!
    swarm.on('stalled', info => { this.stalledSince = Date.now() - info.sinceMs })
    swarm.on('resumed', () => { this.stalledSince = undefined })
    this.timer = setInterval(() => this.tick(), REDRAW_MS)
    this.timer.unref()
    this.tick()
  }

  stop (): void {
    clearInterval(this.timer)
  }

  private tick (): void {
    const now = Date.now()
    const all = this.swarms
    const totals = all.map(w => w.stats()).reduce((a, x) => ({ down: a.down + x.downloaded, up: a.up + x.uploaded }), { down: 0, up: 0 })
    this.meter.add(now, totals.down, totals.up)
    this.draw(statusFields(this.mode, this.swarm, this.meter.rates(), this.stalledSince, now, all))
  }
}
