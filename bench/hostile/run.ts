/**
 * `npm run hostile`: issue 18's hostile-peer cases with figures (RSS, FDs, CPU, honest peer time),
 * each in separate processes on 127.0.0.x and bounded in time (see bench/README.md):
 *
 *   npm run hostile [-- --quick] [-- --only insider-flood,pex-reflection,...] [-- --out-dir DIR] [-- --keep]
 *
 * Full: about 6 minutes on 2 cores. --quick: about 3 minutes, smaller floods and bounds, files named
 * hostile-<date>-quick.*; it keeps the script working in CI, its numbers mean little. Writes
 * bench/results/hostile-<date>[-quick][-<the --only cases>].{json,md}. A case that fails is reported
 * as such and the others still run; the exit code is 1 if any failed.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { killEverythingNow, ProcessGroup } from '../../interop/lib/processes.js'
import type { Section } from '../analysis.js'
import { machine as describeMachine } from '../machine.js'
import { timed } from '../sections.js'
import { badSeeders, chokeChurn, connectionsPerAddress, FULL, handshakeFlood, insiderFlood, makeFixture, pexReflection, QUICK, rejectAll, secureTracker, type CaseContext, type CaseResult } from './cases.js'
import { CASES, markdown, type CaseName, type HostileRun } from './report.js'

const RESULTS = fileURLToPath(new URL('../../../bench/results', import.meta.url))
const RUNNERS: Record<CaseName, (ctx: CaseContext) => Promise<CaseResult>> = {
  'insider-flood': insiderFlood,
  'bad-seeders': badSeeders,
  'pex-reflection': pexReflection,
  'handshake-flood': handshakeFlood,
  'secure-tracker': secureTracker,
  'connections-per-address': connectionsPerAddress,
  'choke-churn': chokeChurn,
  'reject-all': rejectAll
}

const log = (line: string): void => { process.stderr.write(line + '\n') }

async function main (): Promise<void> {
  const argv = process.argv.slice(2)
  const value = (name: string): string | undefined => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined }
  const quick = argv.includes('--quick')
  const keep = argv.includes('--keep')
  const outDir = value('--out-dir') ?? RESULTS
  const onlyList = value('--only')?.split(',')
  const only = (onlyList ?? [...CASES]) as CaseName[]
  for (const c of only) if (!CASES.includes(c)) throw new Error(`unknown case ${c} (cases: ${CASES.join(', ')})`)
  const sizes = quick ? QUICK : FULL

  const started = performance.now()
  const date = new Date().toISOString()
  const machine = describeMachine()
  log(`bttls hostile${quick ? ' --quick' : ''}: ${machine.cpus} × ${machine.cpuModel ?? 'CPU'}, load ${machine.loadAverageAtStart.toFixed(2)}`)
  const work = await mkdtemp(join(tmpdir(), 'bttls-hostile-'))
  process.once('exit', killEverythingNow)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { killEverythingNow(); process.exit(130) })
  const cases: Partial<Record<CaseName, Section<CaseResult>>> = {}
  try {
    const fixture = await makeFixture(work, sizes.payloadMiB)
    for (const name of CASES.filter(c => only.includes(c))) {
      const procs = new ProcessGroup()
      const caseWork = join(work, name)
      mkdirSync(caseWork, { recursive: true })
      try {
        cases[name] = await timed(name, () => RUNNERS[name]({ procs, work: caseWork, fixture, sizes, log }), log)
      } finally {
        await procs.stopAll()
      }
    }
  } finally {
    if (keep) log(`work directory kept: ${work}`)
    else await rm(work, { recursive: true, force: true })
  }

  const run: HostileRun = {
    date,
    quick,
    command: `npm run hostile${argv.length > 0 ? ' -- ' + argv.join(' ') : ''}`,
    machine,
    sizes,
    seconds: (performance.now() - started) / 1000,
    cases
  }
  // A partial run is named after its cases, so that it never overwrites a full run's files.
  const stem = `hostile-${date.slice(0, 10)}${quick ? '-quick' : ''}${onlyList !== undefined ? `-${onlyList.join('+')}` : ''}`
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, `${stem}.json`), JSON.stringify(run, null, 2) + '\n')
  writeFileSync(join(outDir, `${stem}.md`), markdown(run))
  log(`\n${run.seconds.toFixed(0)} s; wrote ${join(outDir, stem)}.{json,md}`)
  const failed = Object.entries(cases).filter(([, s]) => 'error' in s).map(([name]) => name)
  if (failed.length > 0) {
    log(`failed cases: ${failed.join(', ')}`)
    process.exitCode = 1
  }
}

main().catch(err => {
  console.error((err as Error).stack ?? String(err))
  process.exit(1)
})
