/**
 * bench/analysis.ts judges a bench run against issue #14's targets: a synthetic run (no process, no
 * socket: only the sections' JSON) puts each measured figure at its threshold, where the target
 * passes, and just past it, where it misses; a section that did not run leaves its targets n/a. The
 * Markdown report (bench/report.ts) prints the same rows under "Targets (issue #14)".
 */
import { readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import t from 'tap'
import {
  analyse, BULK_LEECHER_CPU_PER_GIB, BULK_OF_LIBTORRENT_PLAIN, BULK_OF_LIBTORRENT_SSL, BULK_OF_PLAINTEXT, BULK_SEEDER_CPU_PER_GIB, FULL_STRICT_OF_KEY_LIMIT,
  HANDSHAKE_OF_KEY_LIMIT, HANDSHAKE_OF_PLAINTEXT, HANDSHAKE_P99_IN_FLIGHT, HANDSHAKE_P99_MS, IDLE_LINK_TARGET_BYTES, IDLE_LINKS, SWARM_OF_PLAINTEXT,
  type BenchRun, type Target
} from '../../bench/analysis.js'
import { FULL_HANDSHAKES, type HandshakeResult, type HandshakeRow } from '../../bench/handshakes.js'
import { execFileSync } from 'node:child_process'
import { handshakeLimitPerCore, opensslHandshakes, pageCacheWriteCost, parseProcStatTicks, parseStimeConnections, type LimitsResult } from '../../bench/limits.js'
import { markdown } from '../../bench/report.js'
import type { ScaleResult } from '../../bench/scale.js'
import type { SwarmModeResult } from '../../bench/swarm-scale.js'
import { NOT_RUN } from '../../bench/sections.js'

const publicKey = { command: 'openssl speed ...', x25519: 8000, ed25519Sign: 4000, ed25519Verify: 2000, p256Sign: 2000, p256Verify: 4000 }
const limits: LimitsResult = {
  openssl: 'OpenSSL 3.0.19',
  ciphers: { 'aes-128-gcm': { command: 'openssl speed -evp aes-128-gcm', mibPerSecond: 4000, cpuSecondsPerGiB: 0.256 } },
  publicKey,
  tcp: { mibPerSecond: 2000, seconds: 3, senderCpuSeconds: 1.5, receiverCpuSeconds: 1.8 },
  errors: []
}
const keyLimit = (level: 'basic' | 'full-strict'): number => handshakeLimitPerCore(publicKey, level)!

t.test('the public-key limit: 4 X25519 and the P-256 signature and check of the responder certificate; Full Strict 2 signatures and 4 checks more', async t => {
  // 4/8000 + 1/2000 + 1/4000 s per handshake; Ed25519's speeds, which no Basic handshake uses, play no part.
  t.equal(handshakeLimitPerCore(publicKey, 'basic'), 800)
  t.equal(handshakeLimitPerCore(publicKey, 'strict'), 800)
  t.equal(handshakeLimitPerCore({ ...publicKey, ed25519Sign: 1, ed25519Verify: 1 }, 'basic'), 800)
  t.equal(handshakeLimitPerCore(publicKey, 'full-strict'), 1 / (4 / 8000 + 3 / 2000 + 5 / 4000))
  t.equal(handshakeLimitPerCore({ command: '', x25519: 8000 }, 'basic'), undefined, 'no P-256 figures: no limit')
})

function handshake (mode: string, perSecondPerCore: number): HandshakeRow {
  return {
    mode, label: mode, count: 1000, wallSeconds: 2, perSecondWall: 500, initiatorCpuMicros: 900, responderCpuMicros: 700,
    perSecondPerCore, responderPerSecondPerCore: perSecondPerCore * 2, latencyMsP50: 3, latencyMsP99: 5, cipher: null
  }
}

function swarmMode (mode: SwarmModeResult['mode'], seconds: number): SwarmModeResult {
  return {
    mode, label: mode, ciphers: [], loadAverageAtStart: 1, secondsToAllComplete: seconds, completionSeconds: [seconds / 2, seconds],
    cpu: { totalSeconds: 40, userSeconds: 30, systemSeconds: 10, seederSeconds: 5, leecherMedianSeconds: 4, perGiBDelivered: 100, lifetimeTotalSeconds: 50 },
    peakRss: { sumBytes: 3 * 2 ** 26, maxBytes: 2 ** 26, seederBytes: 2 ** 26, leecherMedianBytes: 2 ** 26 },
    seederShare: 0.5, wastedBytes: 0, links: { [mode]: 4 }, closes: {}, pexMessages: 2, trackerPeersListed: 3, trackerFailures: 0
  }
}

const memory = { rss: 2 ** 26, heapTotal: 2 ** 25, heapUsed: 2 ** 24, external: 2 ** 22, arrayBuffers: 2 ** 20, links: 0 }
const latencies = { p50: 3, p95: 4, p99: 5, max: 6 }
const scale: ScaleResult = {
  options: { peers: IDLE_LINKS, concurrency: 16, probes: 50, seconds: 180 },
  peers: IDLE_LINKS,
  openFilesLimit: { responder: 65536, initiator: 65536 },
  connectSeconds: 30,
  before: memory,
  after: { ...memory, links: IDLE_LINKS },
  perPeerBytes: { rss: 40_000, heapUsed: 20_000, heapTotal: 25_000, external: 10_000, arrayBuffers: 1000, total: 40_000 },
  connectLatencyMs: latencies,
  lastQuarterLatencyMs: latencies,
  probeLatencyMs: latencies
}

/** A run that meets every target with room to spare; each test moves one figure to a target's edge. */
function passingRun (): BenchRun {
  const bulk = (mode: string, label: string, cipher: string | null, mibPerSecond: number, seeder: number, leecher: number) =>
    ({ mode, label, cipher, mibPerSecond, seederCpuSecondsPerGiB: seeder, leecherCpuSecondsPerGiB: leecher })
  return {
    date: '2026-12-05T00:00:00.000Z',
    quick: false,
    command: 'npm run bench',
    machine: { cpus: 2, cpuModel: 'CPU', node: 'v20.20.2', openssl: '3.0.19', kernel: 'Linux', loadAverageAtStart: 0.5 },
    seconds: 400,
    sections: {
      limits: { value: limits, seconds: 10 },
      throughput: {
        value: {
          sizeMiB: 1024, runsPerMode: 3, command: 'node dist/bench/throughput.js',
          results: [
            bulk('plain', 'plaintext', null, 200, 1, 2),
            bulk('tls-aes128gcm', 'Basic TLS, AES-128-GCM', 'TLS_AES_128_GCM_SHA256', 200, 1, 2),
            bulk('mse-js', 'MSE, RC4 in JS', null, 50, 5, 6)
          ]
        },
        seconds: 60
      },
      libtorrent: {
        value: {
          libtorrent: '2.0.8', sizeMiB: 1024, runsPerMode: 3, command: 'python3 bench/libtorrent-bulk.py',
          settings: { preset: 'high_performance_seed', presetChanges: {}, overrides: {} },
          results: [
            { mode: 'plain', mibPerSecond: 200, seederCpuSecondsPerGiB: 1, leecherCpuSecondsPerGiB: 2 },
            { mode: 'ssl', mibPerSecond: 100, seederCpuSecondsPerGiB: 4, leecherCpuSecondsPerGiB: 5 }
          ]
        },
        seconds: 60
      },
      handshakes: {
        value: {
          options: { ...FULL_HANDSHAKES, concurrency: HANDSHAKE_P99_IN_FLIGHT },
          rows: [handshake('basic', 900), handshake('strict', 900), handshake('full-strict', 500), handshake('plain', 1000)]
        },
        seconds: 30
      },
      latency: { error: NOT_RUN, seconds: 0 },
      scale: { value: scale, seconds: 60 },
      'swarm-scale': {
        value: { options: { leechers: 31, sizeMiB: 256, pieceLength: 262_144, timeoutSeconds: 900 }, modes: [swarmMode('tls', 100), swarmMode('plain', 100)] },
        seconds: 300
      }
    }
  }
}

type Sections = BenchRun['sections']
type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** The run with one section's value changed. */
function withSection<K extends keyof Sections> (key: K, change: (value: Mutable<Extract<Sections[K], { value: unknown }>['value']>) => void): BenchRun {
  const run = structuredClone(passingRun())
  const section = run.sections[key]
  if (!('value' in section)) throw new Error(`${key} has no value`)
  change(section.value as Mutable<typeof section.value>)
  return run
}

function target (run: BenchRun, name: string): Target {
  const found = analyse(run).targets.filter(x => x.name.includes(name))
  if (found.length !== 1) throw new Error(`${found.length} targets named "${name}"`)
  return found[0]!
}

const setHandshake = (mode: string, change: Partial<HandshakeRow>): BenchRun => withSection('handshakes', hs => {
  hs.rows = hs.rows.map(r => r.mode === mode ? { ...r, ...change } : r)
})
const setBulk = (mode: string, change: { mibPerSecond?: number, seederCpuSecondsPerGiB?: number, leecherCpuSecondsPerGiB?: number }): BenchRun => withSection('throughput', tp => {
  tp.results = tp.results.map(r => r.mode === mode ? { ...r, ...change } : r)
})

// Each target: its name (a unique part of it), its goal, and the run at its edge and just past it.
const EDGES: ReadonlyArray<{ name: string, goal: string, at: BenchRun, past: BenchRun }> = [
  {
    name: 'Handshakes: Basic / our plaintext, per core', goal: '≥ 0.70×',
    at: setHandshake('basic', { perSecondPerCore: 1000 * HANDSHAKE_OF_PLAINTEXT }), past: setHandshake('basic', { perSecondPerCore: 1000 * HANDSHAKE_OF_PLAINTEXT - 1 })
  },
  {
    name: 'Handshakes: Strict / our plaintext, per core', goal: '≥ 0.70×',
    at: setHandshake('strict', { perSecondPerCore: 1000 * HANDSHAKE_OF_PLAINTEXT }), past: setHandshake('strict', { perSecondPerCore: 1000 * HANDSHAKE_OF_PLAINTEXT - 1 })
  },
  {
    name: 'Handshakes: Basic, share of the public-key limit', goal: '≥ 30 %',
    at: setHandshake('basic', { perSecondPerCore: keyLimit('basic') * HANDSHAKE_OF_KEY_LIMIT * (1 + 1e-9) }),
    past: setHandshake('basic', { perSecondPerCore: keyLimit('basic') * HANDSHAKE_OF_KEY_LIMIT * (1 - 1e-3) })
  },
  {
    name: 'Handshakes: Strict, share of the public-key limit', goal: '≥ 30 %',
    at: setHandshake('strict', { perSecondPerCore: keyLimit('basic') * HANDSHAKE_OF_KEY_LIMIT * (1 + 1e-9) }),
    past: setHandshake('strict', { perSecondPerCore: keyLimit('basic') * HANDSHAKE_OF_KEY_LIMIT * (1 - 1e-3) })
  },
  {
    name: 'Handshakes: Full Strict, share of the public-key limit', goal: '≥ 20 %',
    at: setHandshake('full-strict', { perSecondPerCore: keyLimit('full-strict') * FULL_STRICT_OF_KEY_LIMIT * (1 + 1e-9) }),
    past: setHandshake('full-strict', { perSecondPerCore: keyLimit('full-strict') * FULL_STRICT_OF_KEY_LIMIT * (1 - 1e-3) })
  },
  ...(['basic', 'strict', 'full-strict'] as const).map(mode => ({
    name: `Handshakes: ${{ basic: 'Basic', strict: 'Strict', 'full-strict': 'Full Strict' }[mode]} latency p99 at 4 in flight`, goal: '≤ 10.0 ms',
    at: setHandshake(mode, { latencyMsP99: HANDSHAKE_P99_MS }), past: setHandshake(mode, { latencyMsP99: HANDSHAKE_P99_MS + 0.01 })
  })),
  {
    name: 'Basic / libtorrent SSL torrent', goal: '≥ 1.50×',
    at: setBulk('tls-aes128gcm', { mibPerSecond: 100 * BULK_OF_LIBTORRENT_SSL }), past: setBulk('tls-aes128gcm', { mibPerSecond: 100 * BULK_OF_LIBTORRENT_SSL - 0.1 })
  },
  {
    name: 'Basic / libtorrent plaintext', goal: '≥ 0.90×',
    at: setBulk('tls-aes128gcm', { mibPerSecond: 200 * BULK_OF_LIBTORRENT_PLAIN }), past: setBulk('tls-aes128gcm', { mibPerSecond: 200 * BULK_OF_LIBTORRENT_PLAIN - 0.1 })
  },
  {
    name: 'Basic / our plaintext, MiB/s', goal: '≥ 0.95×',
    at: setBulk('tls-aes128gcm', { mibPerSecond: 200 * BULK_OF_PLAINTEXT }), past: setBulk('tls-aes128gcm', { mibPerSecond: 200 * BULK_OF_PLAINTEXT - 0.1 })
  },
  {
    name: 'Basic seeder CPU per GiB', goal: '≤ 1.50 CPU-s/GiB',
    at: setBulk('tls-aes128gcm', { seederCpuSecondsPerGiB: BULK_SEEDER_CPU_PER_GIB }), past: setBulk('tls-aes128gcm', { seederCpuSecondsPerGiB: BULK_SEEDER_CPU_PER_GIB + 0.01 })
  },
  {
    name: 'Basic leecher CPU per GiB', goal: '≤ 2.50 CPU-s/GiB',
    at: setBulk('tls-aes128gcm', { leecherCpuSecondsPerGiB: BULK_LEECHER_CPU_PER_GIB }), past: setBulk('tls-aes128gcm', { leecherCpuSecondsPerGiB: BULK_LEECHER_CPU_PER_GIB + 0.01 })
  },
  {
    name: 'Swarm (1 seeder + 31 leechers, 256 MiB)', goal: '≤ 1.10×',
    at: withSection('swarm-scale', s => { s.modes = [swarmMode('tls', 100 * SWARM_OF_PLAINTEXT), swarmMode('plain', 100)] }),
    past: withSection('swarm-scale', s => { s.modes = [swarmMode('tls', 100 * SWARM_OF_PLAINTEXT + 0.1), swarmMode('plain', 100)] })
  },
  {
    name: 'memory per idle TLS link, 5000 links', goal: '≤ 48.0 KiB',
    at: withSection('scale', s => { s.perPeerBytes = { ...s.perPeerBytes, total: IDLE_LINK_TARGET_BYTES } }),
    past: withSection('scale', s => { s.perPeerBytes = { ...s.perPeerBytes, total: IDLE_LINK_TARGET_BYTES + 1 } })
  }
]

t.test('a run that meets every target passes each, and the wire-image row says what was measured', async t => {
  const { targets } = analyse(passingRun())
  t.equal(new Set(targets.map(x => x.name)).size, targets.length, 'target names are unique')
  t.equal(targets.length, EDGES.length + 1, 'each of issue #14\'s targets has a row, and the wire image one more')
  for (const edge of EDGES) t.equal(target(passingRun(), edge.name).verdict, 'PASS', edge.name)
  const wire = target(passingRun(), 'Wire image')
  t.equal(wire.verdict, 'n/a', 'the wire image\'s cost has no without-row to compare with')
  t.match(wire.measured, /prefer-tls/, 'it names the posture the bench ran')
  t.notOk(targets.some(x => /MSE/.test(x.name)), 'MSE is a comparison, not a target')
  t.ok(analyse(passingRun()).ratios.some(r => r.name.startsWith('Basic / our MSE')), 'MSE stays among the ratios')
})

for (const edge of EDGES) {
  t.test(`${edge.name}: PASS at the threshold, MISS just past it`, async t => {
    t.match(target(edge.at, edge.name), { goal: edge.goal, verdict: 'PASS' })
    t.match(target(edge.past, edge.name), { goal: edge.goal, verdict: 'MISS' })
  })
}

t.test('sections that did not run leave their targets n/a, "not measured"', async t => {
  const run = passingRun()
  const notRun = { error: NOT_RUN, seconds: 0 }
  const empty: BenchRun = { ...run, sections: { limits: notRun, throughput: notRun, libtorrent: notRun, handshakes: notRun, latency: notRun, scale: notRun, 'swarm-scale': notRun } }
  for (const x of analyse(empty).targets) {
    t.equal(x.verdict, 'n/a', x.name)
    if (!x.name.startsWith('Wire image')) t.equal(x.measured, 'not measured', x.name)
  }
  // Without the limits section, no public-key limit: those targets alone are n/a.
  const noLimits: BenchRun = { ...run, sections: { ...run.sections, limits: notRun } }
  t.equal(target(noLimits, 'Basic, share of the public-key limit').verdict, 'n/a')
  t.equal(target(noLimits, 'Basic / our plaintext, per core').verdict, 'PASS')
})

t.test('a figure measured away from the target\'s conditions is n/a, with the reason', async t => {
  const eight = withSection('handshakes', hs => { hs.options = { ...hs.options, concurrency: 8 } })
  t.match(target(eight, 'Basic latency p99 at 8 in flight'), { verdict: 'n/a', measured: /5\.0 ms; the target is at 4 in flight/ })
  const few = withSection('scale', s => { s.peers = 200 })
  t.match(target(few, 'memory per idle TLS link, 200 links'), { verdict: 'n/a', measured: /39\.1 KiB; the target is at 5,000 links/ })
})

t.test('the report prints the targets under issue #14, goal, measured value and verdict', async t => {
  const run = EDGES.find(e => e.name === 'Basic / libtorrent SSL torrent')!.at
  const md = markdown(run, analyse(run), {})
  t.match(md, '## Targets (issue #14)')
  t.notMatch(md, 'issue #8')
  t.match(md, '| Bulk (1024 MiB, two processes): Basic / libtorrent SSL torrent, MiB/s | ≥ 1.50× | 1.50× (150.0 vs 100.0 MiB/s) | **PASS** |')
  t.match(md, /\| Handshakes: Full Strict, share of the public-key limit per core \| ≥ 20 % \| \d+ % \(500 of \d+ per s per core\) \| \*\*PASS\*\* \|/)
  t.match(md, '| Swarm (1 seeder + 31 leechers, 256 MiB): time until every leecher is complete, Basic / plaintext | ≤ 1.10× | 1.00× (100.0 s vs 100.0 s) | **PASS** |')
})

t.test('a leecher\'s CPU floor adds SHA-1 and the page-cache write; a seeder\'s is raw TCP and the cipher', async t => {
  const base = passingRun()
  const measured: LimitsResult = {
    ...limits,
    sha1: { command: 'openssl speed -evp sha1 -seconds 2 -bytes 16384', mibPerSecond: 1600, cpuSecondsPerGiB: 0.64 },
    pageCacheWrite: { cpuSecondsPerGiB: 1.5, samples: [1.2, 1.5, 4.7], command: '256 MiB to a new file in 4 MiB writes, median of 3 (bench/limits.ts)' }
  }
  const run: BenchRun = { ...base, sections: { ...base.sections, limits: { value: measured, seconds: 10 } } }
  const basic = analyse(run).bulk.find(b => b.mode === 'tls-aes128gcm')!
  const gib = 2000 * 3 / 1024
  t.equal(basic.seederCpuFloor!.toFixed(6), (1.5 / gib + 0.256).toFixed(6))
  t.equal(basic.leecherCpuFloor!.toFixed(6), (1.8 / gib + 0.256 + 0.64 + 1.5).toFixed(6))
  const before = analyse(base).bulk.find(b => b.mode === 'tls-aes128gcm')!
  t.equal(before.leecherCpuFloor!.toFixed(6), (1.8 / gib + 0.256).toFixed(6), 'a run from before these limits: raw TCP and the cipher')
  const md = markdown(run, analyse(run), {})
  t.match(md, '| sha1 | 1600 MiB/s | 0.64 CPU-s/GiB | `openssl speed -evp sha1 -seconds 2 -bytes 16384` |')
  t.match(md, '| page-cache write, fresh file |  | 1.50 CPU-s/GiB (samples 1.20, 1.50, 4.70) | 256 MiB to a new file in 4 MiB writes, median of 3 (bench/limits.ts) |')
  t.match(md, 'a leecher\'s adds SHA-1')
  const target = analyse(run).targets.find(x => x.name.endsWith('Basic leecher CPU per GiB'))!
  t.equal(target.measured, `2.00 CPU-s/GiB (this machine's floor ${(1.8 / gib + 0.256 + 0.64 + 1.5).toFixed(2)})`, 'the target row shows the floor beside the figure')
})

t.test('the page-cache write is timed on a real file, which is gone afterwards', async t => {
  const before = readdirSync(tmpdir()).filter(n => n.startsWith('bttls-limits-')).length
  const cost = pageCacheWriteCost()
  t.ok(Number.isFinite(cost) && cost > 0, `a positive CPU cost per GiB (${cost.toFixed(2)})`)
  t.equal(readdirSync(tmpdir()).filter(n => n.startsWith('bttls-limits-')).length, before, 'no probe directory left behind')
})

t.test('the handshake targets show node:tls alone beside the figure: its share of the key limit and its p99', async t => {
  const base = passingRun()
  const hs = (base.sections.handshakes as { value: HandshakeResult }).value
  const floor: HandshakeRow = { ...handshake('node-tls', 600), latencyMsP99: 12.25 }
  const run: BenchRun = { ...base, sections: { ...base.sections, handshakes: { value: { ...hs, rows: [...hs.rows, floor] }, seconds: 10 } } }
  const targets = analyse(run).targets
  const share = targets.find(x => x.name === 'Handshakes: Basic, share of the public-key limit per core')!
  t.match(share.measured, `; node:tls alone ${(600 / keyLimit('basic') * 100).toFixed(0)} %)`)
  const p99 = targets.find(x => x.name === 'Handshakes: Basic latency p99 at 4 in flight')!
  t.equal(p99.measured, '5.0 ms (node:tls alone 12.3 ms)')
  t.equal(p99.verdict, 'PASS', 'the floor is shown, not judged')
})

t.test('the share target shows OpenSSL alone beside node:tls alone, and the limits table its handshakes', async t => {
  const base = passingRun()
  const measured: LimitsResult = { ...limits, opensslHandshakes: { command: 'openssl s_time ...', handshakes: 4000, clientCpuSeconds: 3, serverCpuSeconds: 2, perSecondPerCore: 800 } }
  const run: BenchRun = { ...base, sections: { ...base.sections, limits: { value: measured, seconds: 10 } } }
  const share = analyse(run).targets.find(x => x.name === 'Handshakes: Basic, share of the public-key limit per core')!
  t.match(share.measured, `; OpenSSL alone ${(800 / keyLimit('basic') * 100).toFixed(0)} %)`)
  t.match(markdown(run, analyse(run), {}), '| TLS 1.3 handshakes, OpenSSL alone | 800 per s per core | 4000 in 3.00 + 2.00 CPU-s (client + server) |')
  t.notMatch(analyse(passingRun()).targets.find(x => x.name === share.name)!.measured, 'OpenSSL alone', 'absent when not measured')
})

t.test('s_time\'s count and /proc\'s CPU times are read from their text', async t => {
  t.equal(parseStimeConnections('Collecting connection statistics for 3 seconds\n7501 connections in 11 real seconds, 0 bytes read per connection\n'), 7501)
  t.equal(parseStimeConnections('no figure'), undefined)
  // A process name with spaces and a parenthesis: the fields are counted from the last ')'.
  const stat = '4242 (a (b) c) S 1 4242 4242 0 -1 4194560 120 0 0 0 250 75 31 9 20 0 1 0 123 4567 89'
  t.same(parseProcStatTicks(stat), { self: 325, children: 40 })
})

const haveOpenssl = (() => { try { execFileSync('openssl', ['version']); return true } catch { return false } })()
t.test('OpenSSL alone: real s_server and s_time handshakes on loopback, both sides\' CPU counted', {
  skip: haveOpenssl && process.platform === 'linux' ? false : 'needs the openssl command and /proc (Linux)'
}, async t => {
  const before = readdirSync(tmpdir()).filter(n => n.startsWith('bttls-limits-tls-')).length
  const result = await opensslHandshakes(1)
  t.ok(result.handshakes > 0, `${result.handshakes} handshakes`)
  t.ok(result.clientCpuSeconds > 0 && result.serverCpuSeconds > 0, `CPU ${result.clientCpuSeconds} + ${result.serverCpuSeconds} s`)
  t.equal(result.perSecondPerCore, result.handshakes / (result.clientCpuSeconds + result.serverCpuSeconds))
  t.equal(readdirSync(tmpdir()).filter(n => n.startsWith('bttls-limits-tls-')).length, before, 'no key directory left behind')
})
