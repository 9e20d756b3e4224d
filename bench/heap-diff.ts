/**
 * What each idle link holds on the V8 heap: the difference between two heap snapshots (before the
 * links were opened, and with them open), divided by the links. Grouped three ways: by node type, by
 * type and name (constructor, or "system / Context"...), and the closures by the script line that
 * made them (a closure made per link shows as about 1.00 at its line).
 *
 *   node dist/bench/scale.js --peers 300 --heap        # prints the two snapshots' paths
 *   node dist/bench/heap-diff.js BEFORE AFTER LINKS [--top N]
 *
 * The snapshots are the responder's (bench/serve.ts's `heap` command, after two full GCs).
 */
import { readFileSync } from 'node:fs'
import { isMain } from './json-child.js'

interface Snapshot {
  readonly snapshot: { readonly meta: { readonly node_fields: string[], readonly node_types: [string[]], readonly edge_fields: string[], readonly edge_types: [string[]] } }
  readonly nodes: number[]
  readonly edges: number[]
  readonly locations: number[]
  readonly strings: string[]
}

/** Count and self size of every group, in one snapshot. */
export type Groups = Map<string, { count: number, bytes: number }>

export interface HeapGroups { readonly byName: Groups, readonly closures: Groups }

function add (groups: Groups, key: string, bytes: number): void {
  const g = groups.get(key) ?? { count: 0, bytes: 0 }
  g.count++
  g.bytes += bytes
  groups.set(key, g)
}

export function groupHeap (path: string): HeapGroups {
  const s = JSON.parse(readFileSync(path, 'utf8')) as Snapshot
  const { node_fields: nodeFields, node_types: [types], edge_fields: edgeFields, edge_types: [edgeTypes] } = s.snapshot.meta
  const NF = nodeFields.length
  const EF = edgeFields.length
  const [iType, iName, iSize, iEdges] = ['type', 'name', 'self_size', 'edge_count'].map(f => nodeFields.indexOf(f)) as [number, number, number, number]
  const { nodes, edges, strings } = s
  const count = nodes.length / NF
  const firstEdge = new Int32Array(count + 1)
  for (let i = 0, e = 0; i <= count; i++) { firstEdge[i] = e; if (i < count) e += nodes[i * NF + iEdges]! * EF }
  const edgeTo = (node: number, name: string): number => {
    for (let e = firstEdge[node]!; e < firstEdge[node + 1]!; e += EF) {
      if (strings[edges[e + 1]!] === name && edgeTypes[edges[e]!] !== 'element') return edges[e + 2]! / NF
    }
    return -1
  }
  const lineOf = new Map<number, [number, number]>()
  for (let k = 0; k < s.locations.length; k += 4) lineOf.set(s.locations[k]! / NF, [s.locations[k + 1]!, s.locations[k + 2]!])
  const scripts = new Map<number, string>()
  const byName: Groups = new Map()
  const closures: Groups = new Map()
  for (let i = 0; i < count; i++) {
    const type = types[nodes[i * NF + iType]!]!
    const name = type.includes('string') ? '' : strings[nodes[i * NF + iName]!]!.slice(0, 60)
    const bytes = nodes[i * NF + iSize]!
    add(byName, `${type}\t${name}`, bytes)
    if (type !== 'closure') continue
    const at = lineOf.get(i)
    if (at !== undefined && !scripts.has(at[0])) {
      const shared = edgeTo(i, 'shared')
      let script = shared < 0 ? -1 : edgeTo(shared, 'script')
      if (script < 0 && shared >= 0) script = edgeTo(shared, 'script_or_debug_info')
      const scriptName = script < 0 ? -1 : edgeTo(script, 'name')
      scripts.set(at[0], scriptName < 0 ? `script ${at[0]}` : strings[nodes[scriptName * NF + iName]!]!.replace(/^.*\/(dist|node_modules)\//, '$1/'))
    }
    add(closures, at === undefined ? `? ${name}` : `${scripts.get(at[0])}:${at[1] + 1} ${name}`, bytes)
  }
  return { byName, closures }
}

/** Rows (key, count per link, bytes per link) of what grew, largest first. */
export function perLink (before: Groups, after: Groups, links: number): Array<[string, number, number]> {
  const rows: Array<[string, number, number]> = []
  for (const [key, g] of after) {
    const b = before.get(key) ?? { count: 0, bytes: 0 }
    rows.push([key, (g.count - b.count) / links, (g.bytes - b.bytes) / links])
  }
  return rows.sort((x, y) => y[2] - x[2])
}

if (isMain(import.meta.url)) {
  const [beforePath, afterPath, linksArg] = process.argv.slice(2)
  const topAt = process.argv.indexOf('--top')
  const top = topAt > 0 ? Number(process.argv[topAt + 1]) : 40
  const links = Number(linksArg)
  if (beforePath === undefined || afterPath === undefined || !(links > 0)) {
    console.error('usage: node dist/bench/heap-diff.js BEFORE.heapsnapshot AFTER.heapsnapshot LINKS [--top N]')
    process.exit(2)
  }
  const before = groupHeap(beforePath)
  const after = groupHeap(afterPath)
  const rows = perLink(before.byName, after.byName, links)
  const byType = new Map<string, [number, number]>()
  for (const [key, n, bytes] of rows) {
    const type = key.split('\t')[0]!
    const t = byType.get(type) ?? [0, 0]
    byType.set(type, [t[0] + n, t[1] + bytes])
  }
  const line = (bytes: number, n: number, what: string): string => `${bytes.toFixed(0).padStart(7)} B ${n.toFixed(2).padStart(7)}  ${what}`
  console.log(`self size per link: ${rows.reduce((sum, r) => sum + r[2], 0).toFixed(0)} B (heap objects, and array buffers' native data)`)
  console.log('\nby type')
  for (const [type, [n, bytes]] of [...byType].sort((x, y) => y[1][1] - x[1][1])) if (Math.abs(bytes) >= 1) console.log(line(bytes, n, type))
  console.log('\nby type and name')
  for (const [key, n, bytes] of rows.slice(0, top)) console.log(line(bytes, n, key.replace('\t', ' ')))
  console.log('\nclosures by where they were made (about 1.00: one per link)')
  for (const [key, n, bytes] of perLink(before.closures, after.closures, links).filter(r => r[1] >= 0.5).sort((x, y) => x[0].localeCompare(y[0]))) console.log(line(bytes, n, key))
}
