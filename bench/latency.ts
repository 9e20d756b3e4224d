/**
 * Latency: time from the start of the TCP connect to the first verified block, over plaintext, MSE and
 * Basic TLS, at 0, 20 and 100 ms RTT (bench/delay-proxy.ts adds the delay; the kernel has no netem).
 *
 * The seeder is a Session in its own process (bench/serve.ts), the delay proxy another; each sample is
 * a fresh leecher Session in this process that dials the proxy with the transport forced, and stops
 * when its swarm verifies the torrent's one 16 KiB piece (the first block is the whole piece).
 *
 *   round trips = (median at RTT - median at 0 ms) / RTT
 *
 * i.e. the time the RTT adds, in RTTs; subtracting the 0 ms time removes CPU and event-loop time.
 * The proxy cannot delay TCP's own SYN/SYN-ACK, so on a real network each mode pays one round trip
 * more than shown here (the same one for all).
 *
 *   node dist/bench/latency.js [--quick] [--samples N]
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Session } from '../src/session/session.js'
import type { TransportKind } from '../src/wire/peer-link.js'
import { createFixture, loadFixture, loadTorrent } from './fixtures.js'
import { emit, isMain, JsonChild } from './json-child.js'
import { median } from './stats.js'

const SERVE = fileURLToPath(new URL('./serve.js', import.meta.url))
const PROXY = fileURLToPath(new URL('./delay-proxy.js', import.meta.url))

export const LATENCY_MODES: ReadonlyArray<{ name: string, label: string, transport: TransportKind }> = [
  { name: 'plain', label: 'plaintext', transport: 'plain' },
  { name: 'mse', label: 'MSE/PE (RC4)', transport: 'mse' },
  { name: 'basic', label: 'Basic TLS', transport: 'tls' }
]
export const RTTS_MS: readonly number[] = [0, 20, 100]

export interface LatencyOptions {
  readonly samples: number
}

export const FULL_LATENCY: LatencyOptions = { samples: 5 }
export const QUICK_LATENCY: LatencyOptions = { samples: 1 }

export interface LatencyRow {
  readonly mode: string
  readonly label: string
  readonly rttMs: number
  /** Median time from connect start to the link being handed to the swarm (handshakes done). */
  readonly linkMs: number
  /** Median time from connect start to the first verified block. */
  readonly firstBlockMs: number
  readonly samplesMs: number[]
  /** (firstBlockMs - firstBlockMs at 0 ms RTT) / RTT; undefined at 0 ms. */
  readonly roundTrips?: number
  readonly linkRoundTrips?: number
}

export interface LatencyResult {
  readonly options: LatencyOptions
  readonly rows: LatencyRow[]
}

async function sample (metainfo: Awaited<ReturnType<typeof loadTorrent>>, port: number, transport: TransportKind, work: string): Promise<{ linkMs: number, firstBlockMs: number }> {
  const dir = await mkdtemp(join(work, 'get-'))
  const session = await Session.start({ port: 0, host: '127.0.0.1', policy: 'prefer-tls' })
  try {
    const handle = await session.addTorrent(metainfo, dir)
    const piece = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${transport}: no verified block within 20 s`)), 20_000)
      handle.swarm.once('piece', () => { clearTimeout(timer); resolve(performance.now()) })
    })
    const t0 = performance.now()
    const link = await session.connect(handle, '127.0.0.1', port, transport === 'tls' ? undefined : false, { transport })
    const linked = performance.now()
    if (link === undefined || link.transport !== transport) throw new Error(`${transport}: the dial failed`)
    const firstBlock = await piece
    return { linkMs: linked - t0, firstBlockMs: firstBlock - t0 }
  } finally {
    await session.close()
    await rm(dir, { recursive: true, force: true })
  }
}

export async function runLatency (options: LatencyOptions, log: (line: string) => void = () => {}): Promise<LatencyResult> {
  const work = await mkdtemp(join(tmpdir(), 'bttls-latency-'))
  const seeder = new JsonChild(SERVE, [await createFixture(work), 'basic'])
  const proxies: JsonChild[] = []
  try {
    const fixture = await loadFixture(join(work, 'fixture.json'))
    const metainfo = await loadTorrent(fixture, 'basic')
    await mkdir(join(work, 'get'), { recursive: true })
    const { port: seedPort } = await seeder.next('ready', 30_000) as unknown as { port: number }
    const rows: LatencyRow[] = []
    // Warm-up (JIT, the seeder's piece cache), not counted.
    for (const mode of LATENCY_MODES) await sample(metainfo, seedPort, mode.transport, work)
    for (const rttMs of RTTS_MS) {
      // 0 ms goes through the proxy too, so the only difference between rows is the delay.
      const proxy = new JsonChild(PROXY, ['--rtt', String(rttMs), '--target', String(seedPort)])
      proxies.push(proxy)
      const { port } = await proxy.next('listening', 10_000) as unknown as { port: number }
      const samples = new Map(LATENCY_MODES.map(m => [m.name, [] as Array<{ linkMs: number, firstBlockMs: number }>]))
      // Interleaved, so drift over the run spreads over all modes alike.
      for (let i = 0; i < options.samples; i++) {
        for (const mode of LATENCY_MODES) samples.get(mode.name)!.push(await sample(metainfo, port, mode.transport, work))
      }
      for (const mode of LATENCY_MODES) {
        const s = samples.get(mode.name)!
        const base = rows.find(r => r.mode === mode.name && r.rttMs === 0)
        const firstBlockMs = median(s.map(x => x.firstBlockMs))
        const linkMs = median(s.map(x => x.linkMs))
        const row: LatencyRow = {
          mode: mode.name,
          label: mode.label,
          rttMs,
          linkMs,
          firstBlockMs,
          samplesMs: s.map(x => x.firstBlockMs),
          ...(base !== undefined && rttMs > 0
            ? { roundTrips: (firstBlockMs - base.firstBlockMs) / rttMs, linkRoundTrips: (linkMs - base.linkMs) / rttMs }
            : {})
        }
        rows.push(row)
        log(`  latency ${mode.name.padEnd(6)} RTT ${String(rttMs).padStart(3)} ms: first block ${firstBlockMs.toFixed(1)} ms` +
          (row.roundTrips !== undefined ? ` = ${row.roundTrips.toFixed(2)} RTT (link ${row.linkRoundTrips!.toFixed(2)} RTT)` : ''))
      }
      await proxy.stop()
    }
    return { options, rows }
  } finally {
    await Promise.all([seeder.stop(), ...proxies.map(p => p.stop())])
    await rm(work, { recursive: true, force: true })
  }
}

if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2)
  const i = argv.indexOf('--samples')
  const base = argv.includes('--quick') ? QUICK_LATENCY : FULL_LATENCY
  runLatency({ samples: i >= 0 ? Number(argv[i + 1]) : base.samples }, line => console.error(line))
    .then(result => emit('latency', { ...result }), err => { console.error((err as Error).stack); process.exit(1) })
}
