/**
 * From the captured samples, the probe answers and the classifier scores to what the report says:
 * the hello table (one row per client variant, one per server), and issue #11's targets for the
 * probe-resistant posture with met/missed and the numbers behind them.
 */
import type { ProbeSection } from './probe-battery.js'
import { REFERENCE_POPULATIONS, type RuleScore } from './rules.js'
import { recordString, type ClientHelloInfo, type FlowSample } from './samples.js'
import type { RunRecord } from './traffic.js'
import type { TreeResult } from './trees.js'

export interface HelloRow {
  readonly kind: string
  readonly variant: string
  readonly flows: number
  /** Distinct JA4s seen (normally one). */
  readonly ja4: readonly string[]
  readonly ja3: readonly string[]
  /** The answering server's JA4S. */
  readonly ja4s: readonly string[]
  readonly hello?: ClientHelloInfo
}

export interface ServerRow { readonly server: string, readonly ja4s: readonly string[], readonly certificateFlight: string }

const distinct = <T>(xs: ReadonlyArray<T | undefined>): T[] => [...new Set(xs.filter((x): x is T => x !== undefined))]

export function helloRows (samples: readonly FlowSample[]): HelloRow[] {
  const groups = new Map<string, FlowSample[]>()
  for (const s of samples) {
    // bttls: one row per level (piece lengths do not touch the hello).
    const variant = s.kind === 'bttls' ? s.variant.split(',')[0]! : s.variant
    const key = `${s.kind}\u0000${variant}`
    groups.set(key, [...(groups.get(key) ?? []), s])
  }
  return [...groups.entries()].map(([key, group]) => {
    const [kind, variant] = key.split('\u0000') as [string, string]
    return {
      kind,
      variant,
      flows: group.length,
      ja4: distinct(group.map(s => s.clientHello?.ja4)),
      ja3: distinct(group.map(s => s.clientHello?.ja3)),
      ja4s: distinct(group.map(s => s.serverHello?.ja4s)),
      hello: group.find(s => s.clientHello !== undefined)?.clientHello
    }
  }).filter(r => r.kind !== 'plain' && r.kind !== 'mse')
}

/** The server's encrypted flight after the ServerHello, by record length: certificate sizes show through. */
export function serverRows (samples: readonly FlowSample[]): ServerRow[] {
  const byServer = new Map<string, FlowSample[]>()
  for (const s of samples.filter(x => x.tls && (x.kind === 'bttls' || x.kind === 'https'))) {
    const name = s.kind === 'bttls' ? `bttls seed (${s.variant.split(',')[0]})` : s.variant.split(' ←')[0]!
    byServer.set(name, [...(byServer.get(name) ?? []), s])
  }
  return [...byServer.entries()].map(([server, group]) => ({
    server,
    ja4s: distinct(group.map(s => s.serverHello?.ja4s)),
    certificateFlight: distinct(group.map(s => s.records.slice(0, s.handshakeRecords).filter(r => r.dir === '<').map(r => r.length).join(' '))).slice(0, 3).join(' | ')
  }))
}

export interface ExampleSequence {
  readonly name: string
  readonly size: number
  /** TLS flows; undefined for plain and MSE, whose sequence is TCP segments. */
  readonly handshakeRecords?: number
  /** The first 30 records (or segments) as the lab wrote them: `>53 <266@2.3 …`. */
  readonly sequence: string
}

/** One flow per variant, the median size of its group: what the sequences look like. */
export function exampleSequences (samples: readonly FlowSample[]): ExampleSequence[] {
  const byVariant = new Map<string, FlowSample[]>()
  for (const s of samples.filter(x => x.kind !== 'hello')) {
    const name = `${s.kind}: ${s.variant}`
    byVariant.set(name, [...(byVariant.get(name) ?? []), s])
  }
  return [...byVariant.entries()].map(([name, group]) => {
    const s = [...group].sort((a, b) => (a.size ?? 0) - (b.size ?? 0))[Math.floor(group.length / 2)]!
    return { name, size: s.size ?? 0, handshakeRecords: s.tls ? s.handshakeRecords : undefined, sequence: recordString((s.tls ? s.records : s.segments).slice(0, 30)) }
  }).sort((a, b) => a.name.localeCompare(b.name))
}

export interface CleartextScan { readonly kind: string, readonly flows: number, readonly hits: number }

/** Infohash hits per kind (the issue's "keep": none in any cleartext byte of bttls; plain is the control). */
export function cleartextScan (runs: readonly RunRecord[]): CleartextScan[] {
  const out = new Map<string, { flows: number, hits: number }>()
  for (const r of runs) {
    if (r.infohashHits === undefined) continue
    const row = out.get(r.label.kind) ?? { flows: 0, hits: 0 }
    out.set(r.label.kind, { flows: row.flows + 1, hits: row.hits + r.infohashHits })
  }
  return [...out.entries()].map(([kind, v]) => ({ kind, ...v }))
}

export type Verdict = 'met' | 'missed' | 'not measured'

export interface Target {
  readonly name: string
  readonly goal: string
  readonly measured: string
  readonly verdict: Verdict
}

export const CLASSIFIER_GOAL = 0.75
export const CLASSIFIER_MOONSHOT = 0.60

/** A bttls-vs-HTTPS classifier's score, trees and rules alike. */
interface Score { readonly name: string, readonly accuracy: number }

/** The scores against one reference population (rules.ts REFERENCE_POPULATIONS; default the lab's). */
export function bttlsClassifierScores (rules: readonly RuleScore[], trees: readonly TreeResult[], suffix = ''): Score[] {
  const prefix = `bttls vs https${suffix}: `
  return [
    ...rules.filter(r => r.population === `bttls/https${suffix}`).map(r => ({ name: `rule: ${r.name}`, accuracy: r.accuracy })),
    ...trees.filter(t => t.name.startsWith(prefix) && t.mean !== undefined).map(t => ({ name: `tree: ${t.name.slice(prefix.length)}`, accuracy: t.mean! }))
  ]
}

const POPULATION_NAMES: Readonly<Record<string, string>> = {
  '': 'the lab\'s reference (8 tool/server pairs, RSA)',
  ' (wider)': 'the wider reference (ECDSA servers, Node with ALPN, page visits)',
  ' (all, balanced)': 'both references together (balanced accuracy)'
}

export function evaluateTargets (input: {
  readonly hellos?: readonly HelloRow[]
  readonly probes?: ProbeSection
  readonly posture?: string
  readonly rules?: readonly RuleScore[]
  readonly trees?: readonly TreeResult[]
}): Target[] {
  const targets: Target[] = []

  const hellos = input.hellos
  if (hellos === undefined) {
    targets.push({ name: 'initiator JA4', goal: 'equals a stock Node client\'s', measured: 'no capture', verdict: 'not measured' })
  } else {
    const bttls = distinct(hellos.filter(h => h.kind === 'bttls').flatMap(h => h.ja4))
    const node = hellos.filter(h => h.kind === 'hello' && h.variant.startsWith('node '))
    const nodeJa4 = new Set(node.flatMap(h => h.ja4))
    const matches = bttls.filter(j => nodeJa4.has(j))
    const closest = node.map(h => `${h.variant}: ${h.ja4.join(', ')}`).join('; ')
    targets.push({
      name: 'initiator JA4',
      goal: 'the bttls initiator\'s JA4 equals that of a stock Node client (https.request / http2.connect, to an IP or a name, with or without ALPN)',
      measured: bttls.length === 0 ? 'no bttls hello captured' : `bttls: ${bttls.join(', ')}; ${matches.length === bttls.length ? 'equal to' : 'not among'} Node's (${closest})`,
      verdict: bttls.length === 0 || node.length === 0 ? 'not measured' : matches.length === bttls.length ? 'met' : 'missed'
    })
  }

  const probes = input.probes
  const posture = input.posture
  if (probes === undefined || posture === undefined) {
    targets.push({ name: 'active probes', goal: 'every probe: same class of answer as stock node https', measured: 'not run', verdict: 'not measured' })
  } else {
    const rows = probes.rows.filter(r => r.answers[posture] !== undefined && r.answers[probes.reference] !== undefined)
    const same = rows.filter(r => r.answers[posture]!.verdict.startsWith('same'))
    const differ = rows.filter(r => !r.answers[posture]!.verdict.startsWith('same')).map(r => r.probe)
    targets.push({
      name: `active probes (${posture})`,
      goal: 'every probe gets the same class of answer as from stock node https (same bytes back or status, same closer, same timing bucket)',
      measured: `${same.length}/${rows.length} probes the same class${differ.length > 0 ? `; differ: ${differ.join(', ')}` : ''}`,
      verdict: rows.length === 0 ? 'not measured' : differ.length === 0 ? 'met' : 'missed'
    })
  }

  for (const population of REFERENCE_POPULATIONS) {
    const scores = bttlsClassifierScores(input.rules ?? [], input.trees ?? [], population.suffix)
    const against = POPULATION_NAMES[population.suffix] ?? population.suffix
    if (scores.length === 0) {
      targets.push({ name: `classifiers vs ${against}`, goal: `every bttls-vs-HTTPS classifier ≤ ${CLASSIFIER_GOAL}`, measured: 'not run', verdict: 'not measured' })
      continue
    }
    const worst = scores.reduce((a, b) => b.accuracy > a.accuracy ? b : a)
    const over = scores.filter(s => s.accuracy > CLASSIFIER_GOAL)
    targets.push({
      name: `classifiers (handshake + first 30 records) vs ${against}`,
      goal: `every classifier that separates bttls from HTTPS scores ≤ ${CLASSIFIER_GOAL} (moonshot ≤ ${CLASSIFIER_MOONSHOT})`,
      measured: `best classifier ${worst.name} at ${worst.accuracy.toFixed(3)}; ${over.length}/${scores.length} above ${CLASSIFIER_GOAL}` +
        (worst.accuracy <= CLASSIFIER_MOONSHOT ? '; moonshot met' : ''),
      verdict: over.length === 0 ? 'met' : 'missed'
    })
  }
  return targets
}
