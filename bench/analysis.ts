/**
 * What the report says about a bench run: the targets (PASS/MISS), the ratios between
 * modes, and every figure as a fraction of its physical limit measured in the same run. Computed
 * once here so the JSON, the Markdown and the charts never disagree.
 */
import type { HandshakeResult } from './handshakes.js'
import type { LatencyResult } from './latency.js'
import { handshakeLimitPerCore, type CipherLimit, type LimitsResult } from './limits.js'
import type { Machine } from './machine.js'
import type { ScaleResult } from './scale.js'
import type { SwarmScaleResult } from './swarm-scale.js'

/** Issue #14's idle-scale target: 5,000 TLS links in one process, at most this much memory each. */
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
  /** Least CPU per GiB a side can spend: raw TCP's CPU on that side plus the cipher alone. */
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
    leecherCpuFloor: limits.tcp.receiverCpuSeconds / gib + cipherCpu
  }
}

function ratio (a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b !== undefined && b > 0 ? a / b : undefined
}

function verdict (ok: boolean | undefined): Verdict {
  return ok === undefined ? 'n/a' : ok ? 'PASS' : 'MISS'
}

const x = (v: number | undefined): string => v === undefined ? 'not measured' : `${v.toFixed(2)}×`

export function analyse (run: BenchRun): Analysis {
  const limits = valueOf(run.sections.limits)
  const tp = valueOf(run.sections.throughput)
  const lt = valueOf(run.sections.libtorrent)
  const hs = valueOf(run.sections.handshakes)
  const lat = valueOf(run.sections.latency)
  const scale = valueOf(run.sections.scale)

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

  const rt = (mode: string, rtt: number): number | undefined => lat?.rows.find(r => r.mode === mode && r.rttMs === rtt)?.roundTrips
  const topRtt = Math.max(...(lat?.rows.map(r => r.rttMs) ?? [0]))
  const [rb, rp, rm] = [rt('basic', topRtt), rt('plain', topRtt), rt('mse', topRtt)]
  // Half a round trip of slack: the counts come from medians of noisy timings, not from a packet trace.
  const slack = 0.5
  const perPeer = scale?.perPeerBytes.total
  const swarm = valueOf(run.sections['swarm-scale'])
  const swarmSeconds = (mode: string): number | undefined => swarm?.modes.find(m => m.mode === mode)?.secondsToAllComplete
  const swarmRatio = ratio(swarmSeconds('tls'), swarmSeconds('plain'))
  const perCore = (mode: string): number | undefined => hs?.rows.find(r => r.mode === mode)?.perSecondPerCore
  const handshakeRatio = ratio(perCore('basic'), perCore('plain'))
  const floorRatio = ratio(perCore('node-tls'), perCore('node-tcp'))

  const targets: Target[] = [
    {
      name: 'Handshakes: Basic ≥ 0.7 × our plaintext per core',
      goal: '≥ 0.70×',
      measured: handshakeRatio === undefined ? 'not measured' : `${x(handshakeRatio)} (node:tls alone / TCP alone: ${x(floorRatio)})`,
      verdict: verdict(handshakeRatio === undefined ? undefined : handshakeRatio >= 0.7)
    },
    { name: 'Bulk: Basic ≥ 0.9 × our plaintext', goal: '≥ 0.90×', measured: x(ratios[0]!.value), verdict: verdict(ratios[0]!.value === undefined ? undefined : ratios[0]!.value >= 0.9) },
    { name: 'Bulk: Basic ≥ 4 × our MSE', goal: '≥ 4×', measured: `${x(ratios[1]!.value)} (JS RC4); ${x(ratios[2]!.value)} vs OpenSSL RC4`, verdict: verdict(ratios[1]!.value === undefined ? undefined : ratios[1]!.value >= 4) },
    { name: 'Bulk: Basic ≥ 2 × libtorrent SSL torrent', goal: '≥ 2×', measured: x(ratios[3]!.value), verdict: verdict(ratios[3]!.value === undefined ? undefined : ratios[3]!.value >= 2) },
    {
      name: `Latency: Basic ≤ plaintext + 1 RTT (at ${topRtt} ms RTT)`,
      goal: '≤ plaintext + 1',
      measured: rb === undefined || rp === undefined ? 'not measured' : `Basic ${rb.toFixed(1)} RTT, plaintext ${rp.toFixed(1)} RTT`,
      verdict: verdict(rb === undefined || rp === undefined ? undefined : rb <= rp + 1 + slack)
    },
    {
      name: `Latency: Basic ≤ MSE (at ${topRtt} ms RTT)`,
      goal: '≤ MSE',
      measured: rb === undefined || rm === undefined ? 'not measured' : `Basic ${rb.toFixed(1)} RTT, MSE ${rm.toFixed(1)} RTT`,
      verdict: verdict(rb === undefined || rm === undefined ? undefined : rb <= rm + slack)
    },
    {
      name: `Scale: memory per idle TLS peer (${scale?.peers ?? 0} peers in one process)`,
      goal: `≤ ${IDLE_LINK_TARGET_BYTES / 1024} KiB`,
      measured: perPeer === undefined ? 'not measured' : `${(perPeer / 1024).toFixed(1)} KiB`,
      verdict: verdict(perPeer === undefined ? undefined : perPeer <= IDLE_LINK_TARGET_BYTES)
    },
    {
      name: `Swarm (1 seeder + ${swarm?.options.leechers ?? 0} leechers, ${swarm?.options.sizeMiB ?? 0} MiB): time until every leecher is complete, Basic ≤ 1.1 × plaintext`,
      goal: '≤ 1.10×',
      measured: swarmRatio === undefined ? 'not measured' : `${x(swarmRatio)} (${swarmSeconds('tls')!.toFixed(1)} s vs ${swarmSeconds('plain')!.toFixed(1)} s)`,
      verdict: verdict(swarmRatio === undefined ? undefined : swarmRatio <= 1.1)
    }
  ]
  void hs
  return { bulk, ratios, handshakeLimits, targets }
}
