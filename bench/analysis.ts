/**
 * What the report says about a bench run: the targets (PASS/MISS), the ratios between
 * modes, and every figure as a fraction of its physical limit measured in the same run. Computed
 * once here so the JSON, the Markdown and the charts never disagree.
 */
import type { HandshakeResult, HandshakeRow } from './handshakes.js'
import type { LatencyResult } from './latency.js'
import { handshakeLimitPerCore, type CipherLimit, type LimitsResult } from './limits.js'
import type { Machine } from './machine.js'
import type { ScaleResult } from './scale.js'
import type { SwarmScaleResult } from './swarm-scale.js'

/*
 * Issue #14's targets. Each threshold is named once here; a target's goal text and its verdict both
 * come from it.
 */
/** Handshakes per core, Basic and Strict, as a share of our plaintext's in the same run. */
export const HANDSHAKE_OF_PLAINTEXT = 0.7
/** Handshakes per core, Basic and Strict, as a share of the public-key limit (bench/limits.ts). */
export const HANDSHAKE_OF_KEY_LIMIT = 0.3
/** Full Strict's handshakes per core as a share of its public-key limit (two P-256 signatures more). */
export const FULL_STRICT_OF_KEY_LIMIT = 0.2
/** Handshake latency, p99, of every TLS level... */
export const HANDSHAKE_P99_MS = 10
/** ...with this many handshakes in flight. */
export const HANDSHAKE_P99_IN_FLIGHT = 4
/** Bulk MiB/s: Basic over libtorrent's SSL torrent. */
export const BULK_OF_LIBTORRENT_SSL = 1.5
/** Bulk MiB/s: Basic over libtorrent plaintext. */
export const BULK_OF_LIBTORRENT_PLAIN = 0.9
/** Bulk MiB/s: Basic over our plaintext. */
export const BULK_OF_PLAINTEXT = 0.95
/** Bulk CPU-s per GiB of Basic's seeder... */
export const BULK_SEEDER_CPU_PER_GIB = 1.5
/** ...and of its leecher. */
export const BULK_LEECHER_CPU_PER_GIB = 2.5
/** Swarm: time until every leecher is complete, all-Basic over all-plaintext. */
export const SWARM_OF_PLAINTEXT = 1.1
/** Idle scale: this many TLS links in one process... */
export const IDLE_LINKS = 5000
/** ...at most this much memory each. */
export const IDLE_LINK_TARGET_BYTES = 48 * 1024

/** A row of bench/throughput.ts's JSON (the other bench; read, not imported, so either can change). */
export interface ThroughputRow {
  readonly mode: string
  readonly label: string
  readonly cipher: string | null
  readonly mibPerSecond: number
  readonly seederCpuSecondsPerGiB: number
  readonly leecherCpuSecondsPerGiB: number
}

export interface ThroughputSection { readonly sizeMiB: number, readonly runsPerMode: number, readonly command: string, readonly results: readonly ThroughputRow[] }

export interface LibtorrentSection {
  readonly libtorrent: string
  readonly sizeMiB: number
  readonly runsPerMode: number
  readonly command: string
  readonly settings: unknown
  readonly results: ReadonlyArray<{ mode: string, mibPerSecond: number, seederCpuSecondsPerGiB: number, leecherCpuSecondsPerGiB: number }>
}

/** A section either ran (`value`) or says why not; every section is always present. */
export type Section<T> = { readonly value: T, readonly seconds: number } | { readonly error: string, readonly seconds: number }

export interface BenchRun {
  readonly date: string
  readonly quick: boolean
  readonly command: string
  readonly machine: Machine
  readonly seconds: number
  readonly sections: {
    readonly limits: Section<LimitsResult>
    readonly throughput: Section<ThroughputSection>
    readonly libtorrent: Section<LibtorrentSection>
    readonly handshakes: Section<HandshakeResult>
    readonly latency: Section<LatencyResult>
    readonly scale: Section<ScaleResult>
    readonly 'swarm-scale': Section<SwarmScaleResult>
  }
}

export function valueOf<T> (s: Section<T>): T | undefined {
  return 'value' in s ? s.value : undefined
}

export type CipherName = keyof LimitsResult['ciphers']

export interface BulkRow {
  readonly implementation: 'bttls' | 'libtorrent'
  readonly mode: string
  readonly label: string
  readonly cipher: CipherName | undefined
  readonly mibPerSecond: number
  readonly seederCpuSecondsPerGiB: number
  readonly leecherCpuSecondsPerGiB: number
  /** Raw TCP loopback, and raw TCP composed with one core's cipher speed: 1 / (1/tcp + 1/cipher). */
  readonly limitMiBps?: number
  readonly ofTcp?: number
  readonly ofLimit?: number
  /**
   * Least CPU per GiB a side can spend: raw TCP's CPU on that side plus the cipher alone; the leecher's
   * adds SHA-1 and the page-cache write of a fresh file, where the limits measured them (bench/limits.ts).
   */
  readonly seederCpuFloor?: number
  readonly leecherCpuFloor?: number
}

export type Verdict = 'PASS' | 'MISS' | 'n/a'

export interface Target {
  readonly name: string
  readonly goal: string
  readonly measured: string
  readonly verdict: Verdict
}

export interface Analysis {
  readonly bulk: BulkRow[]
  readonly ratios: Array<{ name: string, value: number | undefined }>
  readonly handshakeLimits: Record<string, number | undefined>
  readonly targets: Target[]
}

/** The cipher a bttls row ran, from the suite it reports (TLS) or its transport (MSE is always RC4). */
function bttlsCipher (row: ThroughputRow): CipherName | undefined {
  const suite = row.cipher ?? ''
  if (suite.includes('AES_128_GCM')) return 'aes-128-gcm'
  if (suite.includes('AES_256_GCM')) return 'aes-256-gcm'
  if (suite.includes('CHACHA20')) return 'chacha20-poly1305'
  return row.mode.startsWith('mse') ? 'rc4' : undefined
}
// libtorrent's SSL torrents negotiate TLS_AES_256_GCM_SHA384 (docs: interop-lab.md, and the interop runs).
const LIBTORRENT_CIPHER: Record<string, CipherName | undefined> = { plain: undefined, rc4: 'rc4', ssl: 'aes-256-gcm' }
const LIBTORRENT_LABEL: Record<string, string> = { plain: 'libtorrent plaintext', rc4: 'libtorrent MSE (forced RC4)', ssl: 'libtorrent SSL torrent' }

/** The bttls rows the targets name: Basic runs TLS_AES_128_GCM_SHA256 unless the peer prefers otherwise. */
export const BASIC_MODE = 'tls-aes128gcm'
export const MSE_MODE = 'mse-js'

function bulkRow (implementation: BulkRow['implementation'], mode: string, label: string, cipher: CipherName | undefined,
  r: { mibPerSecond: number, seederCpuSecondsPerGiB: number, leecherCpuSecondsPerGiB: number }, limits: LimitsResult | undefined): BulkRow {
  const base = { implementation, mode, label, cipher, mibPerSecond: r.mibPerSecond, seederCpuSecondsPerGiB: r.seederCpuSecondsPerGiB, leecherCpuSecondsPerGiB: r.leecherCpuSecondsPerGiB }
  if (limits === undefined) return base
  const tcp = limits.tcp.mibPerSecond
  const c: CipherLimit | undefined = cipher !== undefined ? limits.ciphers[cipher] : undefined
  if (cipher !== undefined && c === undefined) return { ...base, ofTcp: r.mibPerSecond / tcp }
  const limit = c ? 1 / (1 / tcp + 1 / c.mibPerSecond) : tcp
  const gib = limits.tcp.mibPerSecond * limits.tcp.seconds / 1024
  const cipherCpu = c?.cpuSecondsPerGiB ?? 0
  return {
    ...base,
    limitMiBps: limit,
    ofTcp: r.mibPerSecond / tcp,
    ofLimit: r.mibPerSecond / limit,
    seederCpuFloor: limits.tcp.senderCpuSeconds / gib + cipherCpu,
    // A leecher also verifies and stores every byte: SHA-1, and the write into fresh page-cache pages.
    leecherCpuFloor: limits.tcp.receiverCpuSeconds / gib + cipherCpu + (limits.sha1?.cpuSecondsPerGiB ?? 0) + (limits.pageCacheWrite?.cpuSecondsPerGiB ?? 0)
  }
}

function ratio (a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b !== undefined && b > 0 ? a / b : undefined
}

const times = (v: number): string => `${v.toFixed(2)}×`
const percent = (v: number): string => `${(v * 100).toFixed(0)} %`
const millis = (v: number): string => `${v.toFixed(1)} ms`
const cpuPerGiB = (v: number): string => `${v.toFixed(2)} CPU-s/GiB`
/** The floor beside a CPU target, so that a miss the machine forces reads as one. */
const floorOf = (v: number | undefined): string | undefined => v === undefined ? undefined : `this machine's floor ${v.toFixed(2)}`
const kib = (v: number): string => `${(v / 1024).toFixed(1)} KiB`

/**
 * A target row: `value` against `threshold` (inclusive), both shown in `unit`. `detail` adds what the
 * value came from; `notJudged` says why a measured value cannot judge this target (n/a).
 */
function bound (name: string, op: '≥' | '≤', threshold: number, unit: (v: number) => string, value: number | undefined,
  detail?: string, notJudged?: string): Target {
  const goal = `${op} ${unit(threshold)}`
  if (value === undefined) return { name, goal, measured: 'not measured', verdict: 'n/a' }
  const measured = unit(value) + (detail !== undefined ? ` (${detail})` : '') + (notJudged !== undefined ? `; ${notJudged}` : '')
  if (notJudged !== undefined) return { name, goal, measured, verdict: 'n/a' }
  return { name, goal, measured, verdict: (op === '≥' ? value >= threshold : value <= threshold) ? 'PASS' : 'MISS' }
}

const HANDSHAKE_LEVELS = [
  { mode: 'basic', name: 'Basic', ofPlaintext: HANDSHAKE_OF_PLAINTEXT, ofKeyLimit: HANDSHAKE_OF_KEY_LIMIT },
  { mode: 'strict', name: 'Strict', ofPlaintext: HANDSHAKE_OF_PLAINTEXT, ofKeyLimit: HANDSHAKE_OF_KEY_LIMIT },
  { mode: 'full-strict', name: 'Full Strict', ofPlaintext: undefined, ofKeyLimit: FULL_STRICT_OF_KEY_LIMIT }
] as const

/** Issue #14's targets, each judged from this run's sections alone. */
function targets (run: BenchRun, bulk: readonly BulkRow[], handshakeLimits: Record<string, number | undefined>, opensslPerCore: number | undefined): Target[] {
  const out: Target[] = []
  const hs = valueOf(run.sections.handshakes)
  const row = (mode: string): HandshakeRow | undefined => hs?.rows.find(r => r.mode === mode)
  const plainPerCore = row('plain')?.perSecondPerCore
  const floor = ratio(row('node-tls')?.perSecondPerCore, row('node-tcp')?.perSecondPerCore)
  for (const level of HANDSHAKE_LEVELS) {
    const perCore = row(level.mode)?.perSecondPerCore
    if (level.ofPlaintext !== undefined) {
      out.push(bound(`Handshakes: ${level.name} / our plaintext, per core`, '≥', level.ofPlaintext, times, ratio(perCore, plainPerCore),
        perCore !== undefined && plainPerCore !== undefined ? `${perCore.toFixed(0)} vs ${plainPerCore.toFixed(0)} per s per core; node:tls alone / TCP alone ${floor === undefined ? '–' : times(floor)}` : undefined))
    }
    const limit = handshakeLimits[level.mode]
    // The floors beside the share: node:tls with nothing of bttls, and OpenSSL with no Node at all (its own s_time).
    const tlsAlone = ratio(row('node-tls')?.perSecondPerCore, limit)
    const opensslAlone = ratio(opensslPerCore, limit)
    const floors = [tlsAlone === undefined ? '' : `; node:tls alone ${percent(tlsAlone)}`, opensslAlone === undefined ? '' : `; OpenSSL alone ${percent(opensslAlone)}`].join('')
    out.push(bound(`Handshakes: ${level.name}, share of the public-key limit per core`, '≥', level.ofKeyLimit, percent, ratio(perCore, limit),
      perCore !== undefined && limit !== undefined ? `${perCore.toFixed(0)} of ${limit.toFixed(0)} per s per core${floors}` : undefined))
  }
  const inFlight = hs?.options.concurrency
  // node:tls alone under the same load: a p99 the TLS stack itself does not reach is not ours to reach.
  const floorP99 = row('node-tls')?.latencyMsP99
  const tlsFloorP99 = floorP99 === undefined ? undefined : `node:tls alone ${millis(floorP99)}`
  for (const level of HANDSHAKE_LEVELS) {
    out.push(bound(`Handshakes: ${level.name} latency p99 at ${inFlight ?? HANDSHAKE_P99_IN_FLIGHT} in flight`, '≤', HANDSHAKE_P99_MS, millis, row(level.mode)?.latencyMsP99,
      tlsFloorP99, inFlight === HANDSHAKE_P99_IN_FLIGHT ? undefined : `the target is at ${HANDSHAKE_P99_IN_FLIGHT} in flight`))
  }

  const tp = valueOf(run.sections.throughput)
  const bulkOf = (mode: string): BulkRow | undefined => bulk.find(b => b.mode === mode)
  const basic = bulkOf(BASIC_MODE)
  const size = tp === undefined ? '' : ` (${tp.sizeMiB} MiB, two processes)`
  const vs = (other: string): string | undefined => basic !== undefined && bulkOf(other) !== undefined ? `${basic.mibPerSecond.toFixed(1)} vs ${bulkOf(other)!.mibPerSecond.toFixed(1)} MiB/s` : undefined
  out.push(
    bound(`Bulk${size}: Basic / libtorrent SSL torrent, MiB/s`, '≥', BULK_OF_LIBTORRENT_SSL, times, ratio(basic?.mibPerSecond, bulkOf('libtorrent-ssl')?.mibPerSecond), vs('libtorrent-ssl')),
    bound(`Bulk${size}: Basic / libtorrent plaintext, MiB/s`, '≥', BULK_OF_LIBTORRENT_PLAIN, times, ratio(basic?.mibPerSecond, bulkOf('libtorrent-plain')?.mibPerSecond), vs('libtorrent-plain')),
    bound(`Bulk${size}: Basic / our plaintext, MiB/s`, '≥', BULK_OF_PLAINTEXT, times, ratio(basic?.mibPerSecond, bulkOf('plain')?.mibPerSecond), vs('plain')),
    bound(`Bulk${size}: Basic seeder CPU per GiB`, '≤', BULK_SEEDER_CPU_PER_GIB, cpuPerGiB, basic?.seederCpuSecondsPerGiB, floorOf(basic?.seederCpuFloor)),
    bound(`Bulk${size}: Basic leecher CPU per GiB`, '≤', BULK_LEECHER_CPU_PER_GIB, cpuPerGiB, basic?.leecherCpuSecondsPerGiB, floorOf(basic?.leecherCpuFloor))
  )

  const swarm = valueOf(run.sections['swarm-scale'])
  const swarmSeconds = (mode: string): number | undefined => swarm?.modes.find(m => m.mode === mode)?.secondsToAllComplete
  const [tls, plain] = [swarmSeconds('tls'), swarmSeconds('plain')]
  out.push(bound(`Swarm (1 seeder + ${swarm?.options.leechers ?? 0} leechers, ${swarm?.options.sizeMiB ?? 0} MiB): time until every leecher is complete, Basic / plaintext`,
    '≤', SWARM_OF_PLAINTEXT, times, ratio(tls, plain), tls !== undefined && plain !== undefined ? `${tls.toFixed(1)} s vs ${plain.toFixed(1)} s` : undefined))

  const scale = valueOf(run.sections.scale)
  out.push(bound(`Scale: memory per idle TLS link, ${scale?.peers ?? 0} links in one process`, '≤', IDLE_LINK_TARGET_BYTES, kib, scale?.perPeerBytes.total,
    undefined, scale === undefined || scale.peers >= IDLE_LINKS ? undefined : `the target is at ${IDLE_LINKS.toLocaleString('en')} links`))

  // Target 4. Auth padding, full records and the decoy are not options: every TLS row above ran with them.
  out.push({
    name: 'Wire image: the probe-resistant features\' cost shown separately, the targets above hold with them on',
    goal: 'every TLS target with them on',
    measured: 'on in every TLS row above (auth messages padded 0–1024 B, bulk in full 16 KiB records, the decoy behind a failed auth); ' +
      'they have no off switch, so this run has no without-row (bench/results/wire-image-cost-2026-12-04.md measured the code before and after them: no cost measurable); ' +
      'every peer runs the default posture prefer-tls (the listener sniffs for MSE and plaintext), require-tls is not measured',
    verdict: 'n/a'
  })
  return out
}

export function analyse (run: BenchRun): Analysis {
  const limits = valueOf(run.sections.limits)
  const tp = valueOf(run.sections.throughput)
  const lt = valueOf(run.sections.libtorrent)

  const bulk: BulkRow[] = [
    ...(tp?.results ?? []).map(r => bulkRow('bttls', r.mode, r.label, bttlsCipher(r), r, limits)),
    ...(lt?.results ?? []).map(r => bulkRow('libtorrent', `libtorrent-${r.mode}`, LIBTORRENT_LABEL[r.mode] ?? r.mode, LIBTORRENT_CIPHER[r.mode], r, limits))
  ]
  const speed = (mode: string): number | undefined => bulk.find(b => b.mode === mode)?.mibPerSecond
  const basic = speed(BASIC_MODE)
  const ratios = [
    { name: 'Basic / our plaintext', value: ratio(basic, speed('plain')) },
    { name: 'Basic / our MSE (RC4 in JS, the default)', value: ratio(basic, speed(MSE_MODE)) },
    { name: 'Basic / our MSE (RC4 in OpenSSL, --openssl-legacy-provider)', value: ratio(basic, speed('mse-native')) },
    { name: 'Basic / libtorrent SSL torrent', value: ratio(basic, speed('libtorrent-ssl')) },
    { name: 'Basic / libtorrent plaintext', value: ratio(basic, speed('libtorrent-plain')) },
    { name: 'libtorrent SSL / libtorrent plaintext', value: ratio(speed('libtorrent-ssl'), speed('libtorrent-plain')) }
  ]

  const handshakeLimits: Record<string, number | undefined> = {}
  for (const level of ['basic', 'strict', 'full-strict'] as const) handshakeLimits[level] = limits ? handshakeLimitPerCore(limits.publicKey, level) : undefined

  return { bulk, ratios, handshakeLimits, targets: targets(run, bulk, handshakeLimits, limits?.opensslHandshakes?.perSecondPerCore) }
}
