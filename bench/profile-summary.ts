/**
 * Summarises a .cpuprofile written by `node --cpu-prof` (e.g. from `throughput.js --cpu-prof DIR`):
 * self time per function, and total (inclusive) time per function, top N of each.
 *
 *   node dist/bench/profile-summary.js FILE.cpuprofile [--top N] [--after SECONDS]
 *
 * `--after` skips the first seconds of the profile (start-up and the seeder's resume scan).
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

function main (): void {
  const args = process.argv.slice(2)
  const file = args.find(a => !a.startsWith('--'))
  if (file === undefined) throw new Error('usage: profile-summary FILE.cpuprofile [--top N] [--after SECONDS]')
  const opt = (name: string, dflt: number): number => {
    const i = args.indexOf(name)
    return i >= 0 ? Number(args[i + 1]) : dflt
  }
  const top = opt('--top', 25)
  const afterUs = opt('--after', 0) * 1e6
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile

  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const name = (n: ProfileNode): string => {
    const url = n.callFrame.url.replace(/^.*\/(node_modules\/|dist\/)/, '$1')
    return `${n.callFrame.functionName || '(anonymous)'} ${url}${url ? ':' + String(n.callFrame.lineNumber + 1) : ''}`
  }

  const self = new Map<string, number>()
  const total = new Map<string, number>()
  let t = 0
  let counted = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0
    t += dt
    if (t < afterUs) continue
    const leaf = byId.get(profile.samples[i]!)!
    counted += dt
    self.set(name(leaf), (self.get(name(leaf)) ?? 0) + dt)
    const seen = new Set<string>()
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const k = name(byId.get(id)!)
      if (seen.has(k)) continue
      seen.add(k)
      total.set(k, (total.get(k) ?? 0) + dt)
    }
  }
  const print = (title: string, m: Map<string, number>): void => {
    console.log(`${title} (of ${(counted / 1e6).toFixed(2)} s sampled)`)
    for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`  ${(v / 1e6).toFixed(3).padStart(7)} s ${(100 * v / counted).toFixed(1).padStart(5)}%  ${k}`)
    }
  }
  print('self time', self)
  print('total time', total)
}

main()
