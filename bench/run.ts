/**
 * The whole bench in one command (issue #8), judged against issue #14's targets (bench/analysis.ts):
 * physical limits, bulk transfer (bttls via bench/throughput.ts, libtorrent via
 * bench/libtorrent-bulk.py), handshake cost, latency vs RTT and 5,000-peer scale, and a 32-process
 * swarm (bench/swarm-scale.ts); then bench/results/<date>.json, <date>.md and the SVG charts of
 * the sections that ran. With --only, the files are named <date>-<sections>[-quick].*, so a partial
 * run never overwrites the day's full one.
 *
 *   npm run bench [-- --quick] [-- --out-dir DIR] [-- --only limits,latency,...]
 *                 [-- --swarm-leechers N] [-- --swarm-size MiB]   (the swarm's size, when the machine cannot afford it)
 *
 * Full: about 7 minutes on 2 cores (1 GiB transfers, 3 runs each), plus the swarm's three modes.
 * --quick: about a minute and a half (32 MiB, one run, fewer handshakes, 200 peers, 8 leechers sharing
 * 16 MiB), every section still present, files named <date>-quick.*; it keeps the bench working in CI,
 * its numbers mean little. A section that fails is reported as
 * such and the others still run; the exit code is 1 if any failed. Targets never fail the run:
 * timings are too noisy for pass/fail.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { analyse, type BenchRun, type LibtorrentSection, type Section, type ThroughputSection } from './analysis.js'
import { charts, type ChartFiles } from './charts.js'
import { FULL_HANDSHAKES, QUICK_HANDSHAKES, runHandshakes } from './handshakes.js'
import { FULL_LATENCY, QUICK_LATENCY, runLatency } from './latency.js'
import { FULL_LIMITS, QUICK_LIMITS, runLimits } from './limits.js'
import { machine as describeMachine } from './machine.js'
import { markdown } from './report.js'
import { NOT_RUN, timed } from './sections.js'
import { FULL_SCALE, QUICK_SCALE, runScale } from './scale.js'
import { FULL_SWARM_SCALE, QUICK_SWARM_SCALE, runSwarmScale } from './swarm-scale.js'

const THROUGHPUT = fileURLToPath(new URL('./throughput.js', import.meta.url))
const LIBTORRENT = fileURLToPath(new URL('../../bench/libtorrent-bulk.py', import.meta.url))
const RESULTS = fileURLToPath(new URL('../../bench/results', import.meta.url))
/** Debian's python: python3-libtorrent is importable only there. */
const PYTHON = '/usr/bin/python3'

const SECTIONS = ['limits', 'throughput', 'libtorrent', 'handshakes', 'latency', 'scale', 'swarm-scale'] as const
type SectionName = typeof SECTIONS[number]

const exec = promisify(execFile)
const log = (line: string): void => { process.stderr.write(line + '\n') }

function skipped<T> (): Promise<Section<T>> {
  return Promise.resolve({ error: NOT_RUN, seconds: 0 })
}

/** Runs a bench that writes its JSON to --out, passing its progress lines through. */
async function jsonFromChild<T> (file: string, args: string[], timeoutMs: number): Promise<T> {
  const work = await mkdtemp(join(tmpdir(), 'bttls-run-'))
  const out = join(work, 'out.json')
  try {
    const child = exec(file, [...args, '--out', out], { timeout: timeoutMs, maxBuffer: 16 * 2 ** 20 })
    child.child.stderr?.on('data', (d: Buffer) => process.stderr.write(d))
    await child
    return JSON.parse(await readFile(out, 'utf8')) as T
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

async function main (): Promise<void> {
  const argv = process.argv.slice(2)
  const quick = argv.includes('--quick')
  const value = (name: string): string | undefined => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined }
  const outDir = value('--out-dir') ?? RESULTS
  const only = new Set((value('--only')?.split(',') ?? SECTIONS) as SectionName[])
  for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`unknown section ${s} (sections: ${SECTIONS.join(', ')})`)

  const started = performance.now()
  const date = new Date().toISOString()
  const machine = describeMachine()
  log(`bttls bench${quick ? ' --quick' : ''}: ${machine.cpus} × ${machine.cpuModel ?? 'CPU'}, load ${machine.loadAverageAtStart.toFixed(2)}`)
  const run = <T>(name: SectionName, fn: () => Promise<T>): Promise<Section<T>> => only.has(name) ? timed(name, fn, log) : skipped()

  // Limits first and alone: they want the machine to themselves.
  const limits = await run('limits', () => runLimits(quick ? QUICK_LIMITS : FULL_LIMITS, log))
  const tpArgs = quick ? ['--size', '32', '--runs', '1'] : ['--size', '1024', '--runs', '3']
  const throughput = await run('throughput', async () => ({
    ...await jsonFromChild<ThroughputSection>(process.execPath, [THROUGHPUT, ...tpArgs], 15 * 60_000),
    command: `node dist/bench/throughput.js ${tpArgs.join(' ')}`
  }))
  const ltArgs = quick ? ['--size', '32', '--runs', '1'] : ['--size', '1024', '--runs', '3']
  const libtorrent = await run('libtorrent', async () => {
    await exec(PYTHON, ['-c', 'import libtorrent']).catch(() => { throw new Error(`${PYTHON} cannot import libtorrent (apt-get install python3-libtorrent)`) })
    return { ...await jsonFromChild<LibtorrentSection>(PYTHON, [LIBTORRENT, ...ltArgs], 10 * 60_000), command: `/usr/bin/python3 bench/libtorrent-bulk.py ${ltArgs.join(' ')}` }
  })
  const handshakes = await run('handshakes', () => runHandshakes(quick ? QUICK_HANDSHAKES : FULL_HANDSHAKES, log))
  const latency = await run('latency', () => runLatency(quick ? QUICK_LATENCY : FULL_LATENCY, log))
  const scale = await run('scale', () => runScale(quick ? QUICK_SCALE : FULL_SCALE, log))
  const swarmBase = quick ? QUICK_SWARM_SCALE : FULL_SWARM_SCALE
  const swarmLeechers = value('--swarm-leechers')
  const swarmSize = value('--swarm-size')
  const swarmScale = await run('swarm-scale', () => runSwarmScale({
    ...swarmBase,
    ...(swarmLeechers !== undefined ? { leechers: Number(swarmLeechers) } : {}),
    ...(swarmSize !== undefined ? { sizeMiB: Number(swarmSize) } : {})
  }, log))

  const result: BenchRun = {
    date,
    quick,
    command: `npm run bench${argv.length > 0 ? ' -- ' + argv.join(' ') : ''}`,
    machine,
    seconds: (performance.now() - started) / 1000,
    sections: { limits, throughput, libtorrent, handshakes, latency, scale, 'swarm-scale': swarmScale }
  }
  const analysis = analyse(result)
  const partial = SECTIONS.some(s => !only.has(s))
  const stem = date.slice(0, 10) + (partial ? `-${[...only].join('+')}` : '') + (quick ? '-quick' : '')
  const svg = charts(result, analysis)
  // A chart of sections that did not run would be empty.
  const ran = (...names: SectionName[]): boolean => names.some(n => only.has(n))
  const files: ChartFiles = {
    ...(ran('throughput', 'libtorrent') ? { throughput: `${stem}-throughput.svg`, cpu: `${stem}-cpu.svg` } : {}),
    ...(ran('latency') ? { latency: `${stem}-latency.svg` } : {}),
    ...(ran('swarm-scale') ? { swarm: `${stem}-swarm.svg`, swarmCost: `${stem}-swarm-cost.svg` } : {})
  }
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, `${stem}.json`), JSON.stringify({ ...result, analysis }, null, 2) + '\n')
  writeFileSync(join(outDir, `${stem}.md`), markdown(result, analysis, files))
  for (const [chart, file] of Object.entries(files)) writeFileSync(join(outDir, file), svg[chart as keyof ChartFiles])

  log('')
  for (const t of analysis.targets) log(`${t.verdict.padEnd(4)}  ${t.name}: ${t.measured}`)
  log(`\n${result.seconds.toFixed(0)} s; wrote ${join(outDir, stem)}.{json,md} and ${Object.keys(files).length} SVG chart(s)`)
  const failedSections = Object.entries(result.sections).filter(([name, s]) => 'error' in s && only.has(name as SectionName))
  if (failedSections.length > 0) {
    log(`failed sections: ${failedSections.map(([name]) => name).join(', ')}`)
    process.exitCode = 1
  }
}

main().catch(err => {
  console.error((err as Error).stack ?? String(err))
  process.exit(1)
})
