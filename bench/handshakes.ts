/**
 * Handshake cost: complete connections per second per core, and CPU time per connection on each
 * side, for every bttls level and for MSE (and plaintext as the floor). The responder is a Session
 * in its own process (bench/serve.ts); the initiator is a Session in this one.
 *
 * One "handshake" is what a real connection costs before data can flow: TCP connect, the transport's
 * handshake (TLS 1.3 plus the bttls auth messages, or MSE's DH exchange), and the BitTorrent
 * handshake, ending when the initiator has the responder's BitTorrent handshake. Then the initiator
 * closes the link. Connections run a few at a time so both processes stay busy on a 2-core machine,
 * each from its own initiator Session (one Session shares a link among concurrent connects).
 *
 *   handshakes/s per core = count / (initiator CPU s + responder CPU s)
 *   responder handshakes/s per core = count / responder CPU s (how many peers one core can accept)
 *
 *   node dist/bench/handshakes.js [--quick] [--count N] [--seconds S] [--warmup N] [--modes basic,plain,...] [--cpu-prof DIR]
 *
 * `--cpu-prof DIR` starts the responder with `node --cpu-prof --cpu-prof-dir DIR`; run this process
 * under the same flags for the initiator's profile. Read them with profile-summary.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import tls from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Session, type TorrentHandle } from '../src/session/session.js'
import type { PeerLink, TransportKind } from '../src/wire/peer-link.js'
import { initiatorContext, initiatorOptions } from '../src/handshake/tls-profile.js'
import { connectionExporter } from '../src/protocol/key-schedule.js'
import { createFixture, credentialsFor, LEVELS, loadFixture, loadTorrent, type LevelKey } from './fixtures.js'
import { emit, isMain, JsonChild } from './json-child.js'
import { median, percentile } from './stats.js'

const SERVE = fileURLToPath(new URL('./serve.js', import.meta.url))

export interface HandshakeMode {
  readonly name: string
  readonly label: string
  readonly level: LevelKey
  readonly transport: TransportKind
  /**
   * A floor row: no bttls at all, only node:tls (the responder's context options and certificate kind,
   * the initiator's ClientHello and the exporter) or TCP, and FLOOR_MESSAGE_BYTES each way. What Basic
   * and plaintext cost beyond their floor is ours.
   */
  readonly floor?: 'tls' | 'tcp'
}

/** What a floor connection sends each way: a BitTorrent handshake's size. */
export const FLOOR_MESSAGE_BYTES = 68

export const HANDSHAKE_MODES: readonly HandshakeMode[] = [
  { name: 'basic', label: 'Basic (TLS 1.3 + auth)', level: 'basic', transport: 'tls' },
  { name: 'strict', label: 'Strict, secret mode', level: 'strict', transport: 'tls' },
  { name: 'full-strict', label: 'Full Strict (certificates)', level: 'full-strict', transport: 'tls' },
  { name: 'mse', label: 'MSE/PE (RC4)', level: 'basic', transport: 'mse' },
  { name: 'plain', label: 'plaintext', level: 'basic', transport: 'plain' },
  { name: 'node-tls', label: 'node:tls alone (floor of Basic)', level: 'basic', transport: 'tls', floor: 'tls' },
  { name: 'node-tcp', label: 'TCP alone (floor of plaintext)', level: 'basic', transport: 'plain', floor: 'tcp' }
]

export interface HandshakeOptions {
  /** Handshakes per mode at most. */
  readonly count: number
  /** Seconds per mode at most (whichever bound comes first). */
  readonly seconds: number
  /** Connections in flight at once. */
  readonly concurrency: number
  /** Connections of every mode made, uncounted, before any mode is measured (bounded by `seconds` too). */
  readonly warmup: number
  /** Only these modes (by name); all by default. */
  readonly modes?: readonly string[]
  /** Write each side's CPU profile into this directory. */
  readonly cpuProfDir?: string
}

export const FULL_HANDSHAKES: HandshakeOptions = { count: 1500, seconds: 6, concurrency: 4, warmup: 600 }
export const QUICK_HANDSHAKES: HandshakeOptions = { count: 150, seconds: 1, concurrency: 4, warmup: 50 }

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
  const server = new JsonChild(SERVE, [await createFixture(work)], options.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir])
  const clients: Session[] = []
  try {
    const fixture = await loadFixture(join(work, 'fixture.json'))
    const { port, tlsFloorPort, tcpFloorPort } = await server.next('ready', 30_000) as unknown as { port: number, tlsFloorPort: number, tcpFloorPort: number }
    // One initiator Session per connection in flight: a Session shares one link per endpoint among
    // concurrent connect() calls, so lanes of one Session would count a handshake several times.
    let lastFailure: Error | undefined
    const lanes: Array<Map<LevelKey, TorrentHandle>> = []
    for (let i = 0; i < options.concurrency; i++) {
      const client = await Session.start({ port: 0, host: '127.0.0.1', policy: 'prefer-tls', swarm: { closeSeedLinks: false } })
      clients.push(client)
      client.on('dial-failed', ({ error }) => { lastFailure = error })
      const handles = new Map<LevelKey, TorrentHandle>()
      for (const level of LEVELS) handles.set(level, await client.addTorrent(await loadTorrent(fixture, level), fixture.seedDir, credentialsFor(fixture, level, 'client')))
      lanes.push(handles)
    }

    const rows: HandshakeRow[] = []
    const seen = new WeakSet<PeerLink>()
    const selected = HANDSHAKE_MODES.filter(m => options.modes?.includes(m.name) ?? true)
    /** One counted connection of `mode` on lane `lane`: its latency in ms, and the TLS suite it ran. */
    const once = async (mode: HandshakeMode, lane: number): Promise<{ ms: number, cipher: string | null }> => {
      const started = performance.now()
      if (mode.floor !== undefined) {
        const cipher = await floorConnection(mode.floor, mode.floor === 'tls' ? tlsFloorPort : tcpFloorPort)
        return { ms: performance.now() - started, cipher }
      }
      // knownTls false for MSE and plaintext: the capability memory learnt from the TLS rows would refuse to dial them.
      const link = await clients[lane]!.connect(lanes[lane]!.get(mode.level)!, '127.0.0.1', port, mode.transport === 'tls' ? undefined : false, { transport: mode.transport })
      if (link === undefined) throw new Error(`${mode.name}: the dial failed: ${lastFailure?.message ?? '?'}`)
      if (link.transport !== mode.transport) throw new Error(`${mode.name}: connected over ${link.transport}`)
      if (seen.has(link)) throw new Error(`${mode.name}: connect() returned a link already counted`)
      seen.add(link)
      await link.remoteHandshake
      const ms = performance.now() - started
      const cipher = link.tls?.cipher ?? null
      link.close()
      return { ms, cipher }
    }
    /** `count` connections of `mode`, `concurrency` at a time, until `deadline` (performance.now() ms). */
    const batch = async (mode: HandshakeMode, count: number, deadline: number, latencies: number[] = []): Promise<string | null> => {
      let started = 0
      let cipher: string | null = null
      const lane = async (index: number): Promise<void> => {
        while (started < count && performance.now() < deadline) {
          started++
          const result = await once(mode, index)
          latencies.push(result.ms)
          cipher = result.cipher
        }
      }
      await Promise.all(Array.from({ length: options.concurrency }, (_, index) => lane(index)))
      return cipher
    }
    // Warm-up of every mode before any is measured: the modes share most of their code (Session, Wire,
    // swarm, node:net), and V8 takes thousands of calls to optimise it. Measured cold, the first mode
    // paid for compiling what the next ones then ran optimised: Basic, first, at twice its steady cost.
    for (const mode of selected) await batch(mode, options.warmup, performance.now() + options.seconds * 1000)

    for (const mode of selected) {
      server.send('cpu')
      await server.next('cpu', 5000)

      const latencies: number[] = []
      const cpu0 = process.cpuUsage()
      const t0 = performance.now()
      const cipher = await batch(mode, options.count, t0 + options.seconds * 1000, latencies)
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
    for (const client of clients) await client.close()
    await server.stop()
    await rm(work, { recursive: true, force: true })
  }
}

/**
 * One floor connection: TCP connect (no Nagle, as the dialer), for 'tls' the initiator's TLS handshake
 * with its shared context and the exporter, then FLOOR_MESSAGE_BYTES each way; then close. The cipher, for TLS.
 */
async function floorConnection (floor: 'tls' | 'tcp', port: number): Promise<string | null> {
  const raw = await new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    socket.once('connect', () => { socket.setNoDelay(true); resolve(socket) }).once('error', reject)
  })
  let socket: net.Socket = raw
  let cipher: string | null = null
  if (floor === 'tls') {
    const secure = tls.connect({ socket: raw, ...initiatorOptions(), secureContext: initiatorContext() })
    await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject))
    connectionExporter(secure)
    cipher = secure.getCipher().standardName
    socket = secure
  }
  await new Promise<void>((resolve, reject) => {
    let received = 0
    socket.on('data', (data: Buffer) => { received += data.length; if (received >= FLOOR_MESSAGE_BYTES) resolve() })
    socket.once('error', reject).once('close', () => reject(new Error('the floor server closed')))
    socket.write(Buffer.alloc(FLOOR_MESSAGE_BYTES))
  })
  socket.destroy()
  return cipher
}

if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2)
  const text = (name: string): string | undefined => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined }
  const value = (name: string): number | undefined => { const v = text(name); return v === undefined ? undefined : Number(v) }
  const base = argv.includes('--quick') ? QUICK_HANDSHAKES : FULL_HANDSHAKES
  const modes = text('--modes')?.split(',')
  const cpuProfDir = text('--cpu-prof')
  runHandshakes({
    ...base, count: value('--count') ?? base.count, seconds: value('--seconds') ?? base.seconds, warmup: value('--warmup') ?? base.warmup, ...(modes ? { modes } : {}), ...(cpuProfDir ? { cpuProfDir } : {})
  }, line => console.error(line))
    .then(result => emit('handshakes', { ...result }), err => { console.error((err as Error).stack); process.exit(1) })
}
