#!/usr/bin/env node
// `npm test` type-checks and compiles the whole project (tsconfig.json: src, test, bench, interop) once,
// into build/, then runs the entries this script writes to build/runs/ under tap, one process each:
//   - build/runs/<folder>/<name>.test.js: a file of OWN_PROCESS, alone (it waits on timers or child
//     processes for seconds; alone, it overlaps with the other tap job instead of holding up a group);
//   - build/runs/<folder>.group.js: every other test file of test/<folder>/, imported one after the
//     other into one process (their tests run in turn, as in a process of their own).
// A test process costs ~2 s of CPU before its first test (tap, its loaders, the modules under test);
// compiled and grouped, `npm test` starts some 45 processes with no TypeScript in them instead of 120
// through tap's TypeScript loader. test/README.md "How `npm test` runs" has the measurements.
// `npx tap test/<folder>/<name>.test.ts` runs one file from its source, as before.
//
// build/ is emptied first, so a test file that was removed or renamed does not run on from an old
// build. Exits with tsc's status: a type error fails `npm test` here, as `npm run typecheck` would.
// Tests find sources, fixtures and documents from the project root (test/helpers/project-root.ts);
// the one module that reads files next to itself, bep/generate-vectors.ts, gets them copied beside it.
import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const OUT = join(ROOT, 'build')
const RUNS = join(OUT, 'runs')
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

/** Test files that run in a process of their own: each takes 4 s or more, mostly waiting. */
const OWN_PROCESS = [
  'bench/swarm-scale',
  'cli/ca-issue', 'cli/cli', 'cli/display', 'cli/messages', 'cli/never-hang', 'cli/rate-limit', 'cli/seeding',
  'conformance/bep-vectors', 'conformance/readme-library',
  'handshake/deadline', 'handshake/probe-limit',
  'levels/full-strict-magnet', 'levels/strict',
  'session/redial-churn',
  'swarm/send-budget', 'swarm/send-queue',
  'tracker/cli', 'tracker/renewal',
  'updates/attacks', 'updates/cli', 'updates/errors', 'updates/seed-key', 'updates/swarm',
  'wire/decoy', 'wire/wire-image'
]

rmSync(OUT, { recursive: true, force: true })
const result = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.json'), '--outDir', OUT], { stdio: 'inherit' })
if (result.status === 0) {
  cpSync(join(ROOT, 'bep', 'vectors'), join(OUT, 'bep', 'vectors'), { recursive: true, filter: src => !src.endsWith('.ts') })
  writeRuns()
}
process.exitCode = result.status ?? 1

function writeRuns () {
  const tests = readdirSync(join(OUT, 'test'), { recursive: true })
    .filter(f => f.endsWith('.test.js') && !f.startsWith('fixtures'))
    .map(f => f.replace(/\\/g, '/').slice(0, -'.test.js'.length))
    .sort()
  for (const name of OWN_PROCESS) {
    if (!tests.includes(name)) throw new Error(`OWN_PROCESS names test/${name}.test.ts, which does not exist`)
  }
  const groups = new Map()
  for (const name of tests) {
    if (OWN_PROCESS.includes(name)) {
      entry(join(RUNS, `${name}.test.js`), [name])
    } else {
      const folder = name.includes('/') ? name.slice(0, name.lastIndexOf('/')) : 'top'
      groups.set(folder, [...(groups.get(folder) ?? []), name])
    }
  }
  for (const [folder, names] of groups) entry(join(RUNS, `${folder}.group.js`), names)
}

function entry (file, names) {
  mkdirSync(dirname(file), { recursive: true })
  const imports = names.map(name => {
    const path = relative(dirname(file), join(OUT, 'test', `${name}.test.js`)).replace(/\\/g, '/')
    return `import '${path.startsWith('.') ? path : `./${path}`}'\n`
  })
  writeFileSync(file, `// Written by scripts/compile-tests.mjs.\n${imports.join('')}`)
}
