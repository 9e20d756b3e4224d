/**
 * Handshake cost: complete connections per second per core, and CPU time per connection on each
 * side, for every bttls level and for MSE (and plaintext as the floor). The responder is a Session
 * in its own process (bench/serve.ts); the initiator is a Session in this one.
 *
 * One "handshake" is what a real connection costs before data can flow: TCP connect, the transport's
 * handshake (TLS 1.3 plus the bttls auth messages, or MSE's DH exchange), and the BitTorrent
 * handshake, ending when the initiator has the responder's BitTorrent handshake. Then the initiator
 * closes the link. Connections run a few at a time so both processes stay busy on a 2-core machine.
 *
 *   handshakes/s per core = count / (initiator CPU s + responder CPU s)
 *   responder handshakes/s per core = count / responder CPU s (how many peers one core can accept)
 *
 *   node dist/bench/handshakes.js [--quick] [--count N] [--seconds S]
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Session, type TorrentHandle } from '../src/session/session.js'
import type { TransportKind } from '../src/wire/peer-link.js'
import { createFixture, credentialsFor, LEVELS, loadFixture, loadTorrent, type LevelKey } from './fixtures.js'
import { emit, isMain, JsonChild } from './json-child.js'
import { median, percentile } from './stats.js'

const SERVE = fileURLToPath(new URL('./serve.js', import.meta.url))

export interface HandshakeMode {
  readonly name: string
  readonly label: string
  readonly level: LevelKey
  readonly transport: TransportKind
}

export const HANDSHAKE_MODES: readonly HandshakeMode[] = [
  { name: 'basic', label: 'Basic (TLS 1.3 + auth)', level: 'basic', transport: 'tls' },
  { name: 'strict', label: 'Strict, secret mode', level: 'strict', transport: 'tls' },
  { name: 'full-strict', label: 'Full Strict (certificates)', level: 'full-strict', transport: 'tls' },
  { name: 'mse', label: 'MSE/PE (RC4)', level: 'basic', transport: 'mse' },
  { name: 'plain', label: 'plaintext (floor)', level: 'basic', transport: 'plain' }
]

export interface HandshakeOptions {
  /** Handshakes per mode at most. */
  readonly count: number
  /** Seconds per mode at most (whichever bound comes first). */
  readonly seconds: number
  /** Connections in flight at once. */
  readonly concurrency: number
}

export const FULL_HANDSHAKES: HandshakeOptions = { count: 1500, seconds: 6, concurrency: 4 }
export const QUICK_HANDSHAKES: HandshakeOptions = { count: 150, seconds: 1, concurrency: 4 }

export interface HandshakeRow {
  readonly mode: string
  readonly label: string
  readonly count: number
  readonly wallSeconds: number
  readonly perSecondWall: number
  readonly initiatorCpuMicros: number
  readonly responderCpuMicros: number
  readonly perSecondPerCore: number
  readonly responderPerSecondPerCore: number
  readonly latencyMsP50: number
  readonly latencyMsP99: number
  readonly cipher: string | null
}

export interface HandshakeResult {
  readonly options: HandshakeOptions
  readonly rows: HandshakeRow[]
}

export async function runHandshakes (options: HandshakeOptions, log: (line: string) => void = () => {}): Promise<HandshakeResult> {
  const work = await mkdtemp(join(tmpdir(), 'bttls-hs-'))
  const server = new JsonChild(SERVE, [await createFixture(work)])
  let client: Session | undefined
  try {
    const fixture = await loadFixture(join(work, 'fixture.json'))
    const { port } = await server.next('ready', 30_000) as unknown as { port: number }
    client = await Session.start({ port: 0, host: '127.0.0.1', policy: 'prefer-tls', swarm: { closeSeedLinks: false } })
    const handles = new Map<LevelKey, TorrentHandle>()
    for (const level of LEVELS) handles.set(level, await client.addTorrent(await loadTorrent(fixture, level), fixture.seedDir, credentialsFor(fixture, level, 'client')))

    let lastFailure: Error | undefined
    client.on('dial-failed', ({ error }) => { lastFailure = error })
    const rows: HandshakeRow[] = []
    for (const mode of HANDSHAKE_MODES) {
      const handle = handles.get(mode.level)!
      let cipher: string | null = null
      const once = async (): Promise<number> => {
        const started = performance.now()
        // knownTls false for MSE and plaintext: the capability memory learnt from the TLS rows would refuse to dial them.
        const link = await client!.connect(handle, '127.0.0.1', port, mode.transport === 'tls' ? undefined : false, { transport: mode.transport })
        if (link === undefined) throw new Error(`${mode.name}: the dial failed: ${lastFailure?.message ?? '?'}`)
        if (link.transport !== mode.transport) throw new Error(`${mode.name}: connected over ${link.transport}`)
        await link.remoteHandshake
        const ms = performance.now() - started
        cipher = link.tls?.cipher ?? null
        link.close()
        return ms
      }
      // Warm-up: JIT, first-use key derivations, the responder's session caches.
      for (let i = 0; i < 10; i++) await once()
      server.send('cpu')
      await server.next('cpu', 5000)

      const latencies: number[] = []
      const cpu0 = process.cpuUsage()
      const t0 = performance.now()
      const deadline = t0 + options.seconds * 1000
      let started = 0
      const lane = async (): Promise<void> => {
        while (started < options.count && performance.now() < deadline) {
          started++
          latencies.push(await once())
        }
      }
      await Promise.all(Array.from({ length: options.concurrency }, lane))
      const wallSeconds = (performance.now() - t0) / 1000
      const { user, system } = process.cpuUsage(cpu0)
      // Let the responder finish the closes it was sent, which belong to these connections.
      await new Promise(resolve => setTimeout(resolve, 50))
      server.send('cpu')
      const responderCpu = (await server.next('cpu', 5000)).cpuSeconds as number
      const initiatorCpu = (user + system) / 1e6
      const n = latencies.length
      const row: HandshakeRow = {
        mode: mode.name,
        label: mode.label,
        count: n,
        wallSeconds,
        perSecondWall: n / wallSeconds,
        initiatorCpuMicros: initiatorCpu / n * 1e6,
        responderCpuMicros: responderCpu / n * 1e6,
        perSecondPerCore: n / (initiatorCpu + responderCpu),
        responderPerSecondPerCore: n / responderCpu,
        latencyMsP50: median(latencies),
        latencyMsP99: percentile(latencies, 99),
        cipher
      }
      rows.push(row)
      log(`  handshakes ${mode.name.padEnd(12)} ${n} in ${wallSeconds.toFixed(2)} s: ${row.perSecondPerCore.toFixed(0)}/s per core, ` +
        `CPU ${row.initiatorCpuMicros.toFixed(0)} µs initiator + ${row.responderCpuMicros.toFixed(0)} µs responder, p50 ${row.latencyMsP50.toFixed(2)} ms`)
    }
    return { options, rows }
  } finally {
    await client?.close()
    await server.stop()
    await rm(work, { recursive: true, force: true })
  }
}

if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2)
  const value = (name: string): number | undefined => { const i = argv.indexOf(name); return i >= 0 ? Number(argv[i + 1]) : undefined }
  const base = argv.includes('--quick') ? QUICK_HANDSHAKES : FULL_HANDSHAKES
  runHandshakes({ ...base, count: value('--count') ?? base.count, seconds: value('--seconds') ?? base.seconds }, line => console.error(line))
    .then(result => emit('handshakes', { ...result }), err => { console.error((err as Error).stack); process.exit(1) })
}
