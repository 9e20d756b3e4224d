/**
 * The report's charts, from one bench run: throughput by mode, CPU per GiB, latency vs RTT, and the
 * swarm's completions over time and its cost per mode.
 */
import type { Analysis, BenchRun } from './analysis.js'
import { valueOf } from './analysis.js'
import { barChart, lineChart } from './svg.js'

export interface Charts { readonly throughput: string, readonly cpu: string, readonly latency: string, readonly swarm: string, readonly swarmCost: string }

/** The file of each chart a run wrote (a chart of sections that did not run is not written). */
export type ChartFiles = { readonly [K in keyof Charts]?: string }

export function charts (run: BenchRun, analysis: Analysis): Charts {
  const limits = valueOf(run.sections.limits)
  const rows = analysis.bulk
  const categories = rows.map(r => r.implementation === 'bttls' ? `bttls ${r.mode}` : r.mode)
  const throughput = barChart({
    title: `Bulk transfer over loopback (${run.date.slice(0, 10)}${run.quick ? ', quick' : ''})`,
    yLabel: 'MiB/s (median)',
    categories,
    series: [
      { name: 'measured MiB/s', values: rows.map(r => r.mibPerSecond) },
      { name: 'limit: raw TCP with one core\'s cipher', values: rows.map(r => r.limitMiBps) }
    ],
    references: limits ? [{ label: 'raw TCP loopback, Node to Node', value: limits.tcp.mibPerSecond }] : []
  })
  const cpu = barChart({
    title: 'CPU seconds per GiB moved (lower is better)',
    yLabel: 'CPU-s per GiB',
    categories,
    series: [
      { name: 'seeder', values: rows.map(r => r.seederCpuSecondsPerGiB) },
      { name: 'leecher', values: rows.map(r => r.leecherCpuSecondsPerGiB) },
      { name: 'seeder floor (raw TCP + cipher)', values: rows.map(r => r.seederCpuFloor) },
      { name: 'leecher floor (raw TCP + cipher + SHA-1 + page-cache write)', values: rows.map(r => r.leecherCpuFloor) }
    ]
  })
  const lat = valueOf(run.sections.latency)
  const modes = [...new Set(lat?.rows.map(r => r.mode) ?? [])]
  const latency = lineChart({
    title: 'Connect to first verified block vs round-trip time',
    xLabel: 'RTT added by the delay proxy (ms)',
    yLabel: 'ms (median)',
    series: modes.map(mode => ({
      name: lat!.rows.find(r => r.mode === mode)!.label,
      points: lat!.rows.filter(r => r.mode === mode).map(r => [r.rttMs, r.firstBlockMs] as const)
    }))
  })
  const swarmScale = valueOf(run.sections['swarm-scale'])
  const swarmModes = swarmScale?.modes ?? []
  const who = swarmScale ? `1 seeder + ${swarmScale.options.leechers} leechers, ${swarmScale.options.sizeMiB} MiB` : 'not run'
  const swarm = lineChart({
    title: `Swarm: leechers complete over time (${who})`,
    xLabel: 'seconds since every peer was told to go',
    yLabel: 'leechers complete',
    series: swarmModes.map(m => ({ name: m.label, points: [[0, 0] as const, ...m.completionSeconds.map((s, i) => [s, i + 1] as const)] }))
  })
  const swarmCost = barChart({
    title: `Swarm: time and CPU per mode (${who})`,
    yLabel: 'seconds',
    categories: swarmModes.map(m => m.label),
    series: [
      { name: 'until every leecher is complete', values: swarmModes.map(m => m.secondsToAllComplete) },
      { name: 'CPU of all peer processes (user + system)', values: swarmModes.map(m => m.cpu.totalSeconds) }
    ]
  })
  return { throughput, cpu, latency, swarm, swarmCost }
}
