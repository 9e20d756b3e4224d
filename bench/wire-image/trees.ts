/**
 * Decision trees (depth 3, stratified 5-fold cross-validation repeated 10 times) on the feature sets
 * of features.ts, fitted by scikit-learn in bench/wire-image/classify.py. TypeScript builds the
 * datasets; Python only fits and scores. Skipped with a reason when Debian's python3-sklearn is
 * missing.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { FEATURE_SETS } from './features.js'
import { EVERY_FLOW, inPopulation, REFERENCE_POPULATIONS, type ReferencePopulation } from './rules.js'
import type { FlowKind, FlowSample } from './samples.js'

/** Debian's python: python3-sklearn is importable there, not in a pyenv on PATH. */
export const PYTHON = '/usr/bin/python3'
const SCRIPT = fileURLToPath(new URL('../../../bench/wire-image/classify.py', import.meta.url))

export interface TreeDataset {
  readonly name: string
  readonly features: string
  readonly classes: readonly FlowKind[]
  readonly X: number[][]
  readonly y: string[]
  readonly featureNames: string[]
  /** sklearn's scoring name; default 'accuracy'. */
  readonly scoring?: 'accuracy' | 'balanced_accuracy'
}

export interface TreeResult {
  readonly name: string
  readonly features: string
  readonly n: number
  readonly classes: Record<string, number>
  readonly folds?: number
  readonly repeats?: number
  readonly mean?: number
  readonly sd?: number
  readonly rootRule?: string
  readonly error?: string
}

/** bttls vs HTTPS on every TLS feature set; the 4-way and MSE-vs-HTTPS questions on the protocol-agnostic ones. */
export function treeDatasets (samples: readonly FlowSample[]): TreeDataset[] {
  const out: TreeDataset[] = []
  const add = (set: typeof FEATURE_SETS[number], classes: readonly FlowKind[], population: ReferencePopulation): void => {
    const chosen = samples.filter(s => classes.includes(s.kind) && (set.scope === 'all' || s.tls) && inPopulation(s, population))
    if (new Set(chosen.map(s => s.kind)).size < 2) return
    const X = chosen.map(s => set.vector(s))
    out.push({
      name: `${classes.join(' vs ')}${population.suffix}: ${set.name}`,
      features: set.description,
      classes,
      X,
      y: chosen.map(s => s.kind),
      featureNames: [...set.names],
      ...(population.balanced ? { scoring: 'balanced_accuracy' as const } : {})
    })
  }
  for (const population of REFERENCE_POPULATIONS) for (const set of FEATURE_SETS) add(set, ['bttls', 'https'], population)
  for (const set of FEATURE_SETS.filter(s => s.scope === 'all')) {
    add(set, ['plain', 'mse', 'bttls', 'https'], EVERY_FLOW)
    add(set, ['mse', 'https'], EVERY_FLOW)
  }
  return out
}

export async function fitTrees (datasets: readonly TreeDataset[], options: { depth: number, folds: number, repeats: number }): Promise<TreeResult[]> {
  const request = { datasets: datasets.map(d => ({ name: d.name, X: d.X, y: d.y, featureNames: d.featureNames, scoring: d.scoring ?? 'accuracy', seed: 1, ...options })) }
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('classify.py took more than 5 minutes')) }, 300_000)
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    child.on('error', e => { clearTimeout(timer); reject(e) })
    child.on('exit', code => {
      clearTimeout(timer)
      if (code === 0) resolve(out)
      else reject(new Error(`classify.py exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`))
    })
    child.stdin.end(JSON.stringify(request))
  })
  const { results } = JSON.parse(stdout) as { results: Array<Omit<TreeResult, 'features'>> }
  return results.map((r, i) => ({ ...r, features: datasets[i]!.features }))
}
