/** The shape of one wire-image run, as written to bench/results/wire-image-<date>.json. */
import type { Client } from '../../interop/lib/clients.js'
import type { Section } from '../analysis.js'
import type { Machine } from '../machine.js'
import type { CleartextScan, ExampleSequence, HelloRow, ServerRow, Target } from './analysis.js'
import type { RunOptions } from './plan.js'
import type { ProbeSection } from './probe-battery.js'
import type { RuleScore } from './rules.js'
import type { StoredSample } from './samples.js'
import type { RunRecord, TrafficResult } from './traffic.js'
import type { TreeResult } from './trees.js'

export interface TrafficSection {
  /** The file sizes every kind moved, in bytes. */
  readonly sizes: readonly number[]
  readonly capture: TrafficResult['capture']
  readonly runs: readonly RunRecord[]
  readonly hellos: readonly HelloRow[]
  readonly servers: readonly ServerRow[]
  readonly examples: readonly ExampleSequence[]
  /** Infohash occurrences in the captured bytes (the first 2 MiB of each direction), per kind. */
  readonly cleartext: readonly CleartextScan[]
  readonly rules: readonly RuleScore[]
  readonly trees: { readonly skipped?: string, readonly results: readonly TreeResult[] }
  /** Every measured flow; records and segments as `>53/23@12.345` (direction, length, content type, ms since the SYN). */
  readonly samples: readonly StoredSample[]
}

export interface WireImageRun {
  readonly date: string
  readonly quick: boolean
  readonly command: string
  /** The commit measured (its protocol is what the numbers describe). */
  readonly commit: string
  readonly machine: Machine
  readonly tools: Record<string, Client>
  readonly options: RunOptions
  /** The bttls target the probe target is judged on. */
  readonly posture: string
  readonly notes: readonly string[]
  readonly seconds: number
  readonly sections: { readonly traffic: Section<TrafficSection>, readonly probes: Section<ProbeSection> }
  readonly targets: readonly Target[]
}
