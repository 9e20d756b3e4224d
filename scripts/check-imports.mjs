#!/usr/bin/env node
// The import graph of src/, checked by `npm test` (npm run lint):
//   - every folder (src/<folder>/; a file directly in src/ is its own node) sits in LAYERS, and imports
//     only from its own layer or a lower one, counting type-only imports too, since a folder that needs
//     another's types sits above it;
//   - no cycle between folders, inside a layer either, and no import at all between folders kept APART;
//   - no runtime import cycle between files (type-only imports erased);
//   - no source file over MAX_LINES lines: past that, a file holds more than one concept; split it.
// Usage: node scripts/check-imports.mjs [--graph]   (--graph also prints the folder edges)
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const SRC = join(ROOT, 'src')
export const MAX_LINES = 450
// The layers of src/, lowest first (README "Layout", docs/design.md "Layers"). A folder imports from
// its own layer or one below it, never from one above.
export const LAYERS = [
  ['errors.ts', 'version.ts', 'token-bucket.ts'],
  ['protocol', 'codec', 'pki'], // pure: no sockets, no files, no timers
  ['torrent', 'storage'], // the torrent model, and the pieces on disk
  ['levels'], // each level's crypto and policy, built from a torrent
  ['handshake'], // the TLS and auth-message procedures, given a level
  // peer links; the tracker's shared announce keys and errors, and its client and server apart
  ['wire', 'tracker', 'tracker/client', 'tracker/server'],
  ['swarm'],
  ['session'],
  ['updates'],
  ['cli', 'demo', 'index.ts']
]
const layerOf = new Map(LAYERS.flatMap((folders, i) => folders.map(f => [f, i])))
// Folders of one layer that must not import each other at all (a peer's tracker client needs none of
// the server, and the server none of the client).
const APART = [['tracker/client', 'tracker/server']]

function sourceFiles (dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter(e => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map(e => join(e.parentPath, e.name))
}

// Static imports and re-exports (`import x from`, `import type`, `export { } from`, `export * from`),
// side-effect imports and dynamic import('...'). Comments are stripped first so examples in them do not count.
const IMPORT = /(?:^|[\s;])(import|export)\s+(type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

function importsOf (file) {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
  const found = []
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[3] ?? m[4]
    if (!spec.startsWith('.')) continue
    const typeOnly = m[2] !== undefined || /^\s*(import|export)\s+type\s*\{/.test(m[0].trimStart())
    found.push({ target: resolve(dirname(file), spec.replace(/\.js$/, '.ts')), typeOnly })
  }
  return found
}

/**
 * The folder right under src/, or the file's own name for a file directly in src/; a subfolder
 * named in LAYERS (tracker/client) is a folder of its own.
 */
function folderOf (file) {
  const parts = relative(SRC, file).split(sep)
  const sub = parts.slice(0, 2).join('/')
  return parts.length > 2 && layerOf.has(sub) ? sub : parts[0]
}

/** Strongly connected components (Tarjan) of a graph given as Map<node, Set<node>>. */
function cycles (graph) {
  let index = 0
  const stack = []; const on = new Set(); const idx = new Map(); const low = new Map(); const out = []
  const visit = v => {
    idx.set(v, index); low.set(v, index); index++; stack.push(v); on.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v), low.get(w))) } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)))
    }
    if (low.get(v) === idx.get(v)) {
      const scc = []
      let w
      do { w = stack.pop(); on.delete(w); scc.push(w) } while (w !== v)
      if (scc.length > 1) out.push(scc.sort())
    }
  }
  for (const v of graph.keys()) if (!idx.has(v)) visit(v)
  return out
}

const files = sourceFiles(SRC)
const folderGraph = new Map()
const fileGraph = new Map()
const edgesBetween = new Map() // "a -> b" folders: the file imports that make the edge
for (const file of files) {
  const from = folderOf(file)
  if (!folderGraph.has(from)) folderGraph.set(from, new Set())
  fileGraph.set(file, new Set())
  for (const { target, typeOnly } of importsOf(file)) {
    if (!target.startsWith(SRC + sep)) continue
    if (!typeOnly) fileGraph.get(file).add(target)
    const to = folderOf(target)
    if (to === from) continue
    folderGraph.get(from).add(to)
    const key = `${from} -> ${to}`
    if (!edgesBetween.has(key)) edgesBetween.set(key, [])
    edgesBetween.get(key).push(`${relative(SRC, file)} -> ${relative(SRC, target)}${typeOnly ? ' (type)' : ''}`)
  }
}

let failed = false
const unplaced = [...folderGraph.keys()].filter(f => !layerOf.has(f)).sort()
const upward = [...edgesBetween.keys()].filter(k => {
  const [from, to] = k.split(' -> ')
  return layerOf.has(from) && layerOf.has(to) && layerOf.get(to) > layerOf.get(from)
}).sort()
console.log(`src/: ${files.length} files in ${folderGraph.size} folders, ${LAYERS.length} layers; imports pointing up a layer: ${upward.length}`)
for (const f of unplaced) {
  failed = true
  console.log(`  ${f} is in no layer: add it to LAYERS in scripts/check-imports.mjs (and to the README's layout)`)
}
for (const k of upward) {
  failed = true
  console.log(`  ${k} points up a layer:`)
  for (const e of edgesBetween.get(k)) console.log(`    ${e}`)
}
const together = APART.flatMap(([a, b]) => [`${a} -> ${b}`, `${b} -> ${a}`]).filter(k => edgesBetween.has(k))
for (const k of together) {
  failed = true
  console.log(`  ${k}: these folders stay apart (APART in scripts/check-imports.mjs):`)
  for (const e of edgesBetween.get(k)) console.log(`    ${e}`)
}
const folderCycles = cycles(folderGraph)
console.log(`folder cycles: ${folderCycles.length}`)
for (const scc of folderCycles) {
  failed = true
  console.log(`  cycle between folders: ${scc.join(', ')}`)
  for (const a of scc) for (const b of scc) for (const e of edgesBetween.get(`${a} -> ${b}`) ?? []) console.log(`    ${e}`)
}
const fileCycles = cycles(fileGraph)
console.log(`runtime import cycles between files: ${fileCycles.length}`)
for (const scc of fileCycles) {
  failed = true
  console.log(`  ${scc.map(f => relative(SRC, f)).join(' <-> ')}`)
}
if (process.argv.includes('--graph')) {
  for (const [from, tos] of [...folderGraph].sort((a, b) => (layerOf.get(a[0]) ?? -1) - (layerOf.get(b[0]) ?? -1) || a[0].localeCompare(b[0]))) {
    console.log(`  [${layerOf.get(from) ?? '?'}] ${from} -> ${[...tos].sort().join(', ') || '(nothing)'}`)
  }
}

const sizes = files.map(f => ({ file: relative(ROOT, f), lines: readFileSync(f, 'utf8').split('\n').length - 1 })).sort((a, b) => b.lines - a.lines)
const over = sizes.filter(s => s.lines > MAX_LINES)
console.log(`largest files: ${sizes.slice(0, 5).map(s => `${s.file} ${s.lines}`).join(', ')}`)
console.log(`files over ${MAX_LINES} lines: ${over.length}${over.length ? ` (${over.map(s => s.file).join(', ')}: split them)` : ''}`)
if (over.length > 0) failed = true

process.exitCode = failed ? 1 : 0
