/**
 * `npm run wire-image` (issue #11, part 1): how a bttls connection and a bttls listener look to a
 * censor, next to ordinary HTTPS, measured on loopback the way the wire-image lab did by hand
 * (shared/research/wire-image-lab.md), so that every protocol change can be re-measured.
 *
 *   npm run wire-image [-- --quick] [-- --out-dir DIR] [-- --only traffic,probes] [-- --tag before] [-- --keep]
 *
 * Sections:
 *   traffic  tcpdump on lo while bttls (every level), HTTPS (node https, node http2, nginx; curl and
 *            Node clients), plain BitTorrent and MSE move the same files; then the hello table
 *            (JA3/JA4/JA4S), the first 50 records of every flow, hand rules and decision trees.
 *   probes   the active-probe battery against bttls seeders (each policy) and the stock servers.
 * Then issue #11's targets, met or missed, and bench/results/wire-image-<date>[-quick][-tag].{json,md}
 * with an SVG chart of the classifiers.
 *
 * Full: 24 flows per kind, probes capped at 15 s, about 6 minutes on 2 cores. --quick: 6 flows per
 * kind, probes capped at 3 s, under 3 minutes (CI; its numbers mean little). A missing tool skips
 * its section with the reason (bench/wire-image/install.sh installs them). Every process started is
 * stopped at the end, also on failure or Ctrl-C.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { killEverythingNow, ProcessGroup } from '../../interop/lib/processes.js'
import type { Section } from '../analysis.js'
import { valueOf } from '../analysis.js'
import { machine as describeMachine } from '../machine.js'
import { timed } from '../sections.js'
import { cleartextScan, evaluateTargets, exampleSequences, helloRows, serverRows } from './analysis.js'
import { planBtFlows } from './bt-flows.js'
import { BTTLS_BIN, type Policy } from './bttls-cli.js'
import { planBttlsFlows } from './bttls-flows.js'
import { classifierChart } from './charts.js'
import type { PayloadFile, PlannedFlow, TrafficContext } from './flows.js'
import { planHelloFlows, planHttpsFlows } from './https-flows.js'
import { downloadPage, PAGE_SIZES } from './download-page.js'
import { FULL, logUniformSizes, QUICK } from './plan.js'
import { runProbeBattery } from './probe-battery.js'
import { wireImageMarkdown } from './report.js'
import type { TrafficSection, WireImageRun } from './results.js'
import { scoreRules } from './rules.js'
import { storedSample } from './samples.js'
import { describeTool, detectTools } from './tools.js'
import { runTraffic } from './traffic.js'
import { fitTrees, treeDatasets } from './trees.js'
import { counterfactualDatasets } from './counterfactuals.js'
import { makeWebCertificate } from './web-certificate.js'
import { startWebServers } from './web-servers.js'

const RESULTS = fileURLToPath(new URL('../../../bench/results', import.meta.url))
const REPO = fileURLToPath(new URL('../../..', import.meta.url))

/** Every port the harness uses: captured traffic in 29100–29499, probe targets above. */
const CAPTURED_PORTS = { from: 29100, to: 29499 }
const WEB_FIRST_PORT = 29400
const PROBE_BTTLS_PORT = 29510

const SECTIONS = ['traffic', 'probes'] as const
type SectionName = typeof SECTIONS[number]

const log = (line: string): void => { process.stderr.write(line + '\n') }

/** The order flows run in: kinds interleaved, so drift in the machine's load touches every kind alike. */
function interleave (lists: ReadonlyArray<readonly PlannedFlow[]>): PlannedFlow[] {
  const out: PlannedFlow[] = []
  for (let i = 0; i < Math.max(...lists.map(l => l.length)); i++) for (const l of lists) if (l[i] !== undefined) out.push(l[i]!)
  return out
}

/** The policies `bttls --help` lists: a probe-resistant one (e.g. "stealth") is probed too when it exists. */
function bttlsPolicies (): string[] {
  const help = spawnSync(process.execPath, [BTTLS_BIN, '--help'], { encoding: 'utf8' }).stdout ?? ''
  const line = help.split('\n').find(l => l.trim().startsWith('--policy')) ?? ''
  return line.replace(/\(.*\)/, '').replace('--policy', '').split('|').map(s => s.trim().split(/\s+/)[0]!).filter(s => /^[a-z-]+$/.test(s))
}

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean' }, 'out-dir': { type: 'string' }, only: { type: 'string' }, tag: { type: 'string' }, keep: { type: 'boolean' } }
  })
  const quick = values.quick === true
  const options = quick ? QUICK : FULL
  const outDir = values['out-dir'] ?? RESULTS
  const only = new Set((values.only?.split(',') ?? SECTIONS) as SectionName[])
  for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`unknown section ${s} (sections: ${SECTIONS.join(', ')})`)
  process.on('exit', killEverythingNow)
  let work: string | undefined
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      killEverythingNow()
      if (work !== undefined && values.keep !== true) rmSync(work, { recursive: true, force: true })
      process.exit(130)
    })
  }

  const started = performance.now()
  const date = new Date().toISOString()
  const tools = detectTools()
  const git = (args: string[]): string => (spawnSync('git', ['-C', REPO, ...args], { encoding: 'utf8' }).stdout ?? '').trim()
  const machine = describeMachine()
  log(`bttls wire-image${quick ? ' --quick' : ''} on ${git(['rev-parse', '--short', 'HEAD'])}: ${machine.cpus} × ${machine.cpuModel ?? 'CPU'}, load ${machine.loadAverageAtStart.toFixed(2)}`)
  for (const [name, tool] of Object.entries(tools)) if (typeof tool === 'object') log(`  ${describeTool(name, tool)}`)

  work = await mkdtemp(join(tmpdir(), 'bttls-wire-image-'))
  const logs = join(work, 'logs')
  await mkdir(logs, { recursive: true })
  const logFile = (name: string): string => join(logs, name)
  const procs = new ProcessGroup()
  const notes: string[] = []
  let traffic: Section<TrafficSection> = { error: 'not run (--only)', seconds: 0 }
  let probes: Section<Awaited<ReturnType<typeof runProbeBattery>>> = { error: 'not run (--only)', seconds: 0 }
  const policies = bttlsPolicies()
  const posture = policies.includes('stealth') ? 'stealth' : 'require-tls'
  try {
    if (!tools.openssl.available) throw new Error(`openssl is needed for the web servers' certificate: ${tools.openssl.reason ?? ''}`)
    const certificates = { rsa: await makeWebCertificate(work, 'rsa'), ecdsa: await makeWebCertificate(work, 'ecdsa') }
    const filesDir = join(work, 'files')
    await mkdir(filesDir, { recursive: true })
    const files: PayloadFile[] = []
    const pageSizes = logUniformSizes(options.flows, options.seed + 1, PAGE_SIZES.min, PAGE_SIZES.max)
    for (const [i, size] of logUniformSizes(options.flows, options.seed).entries()) {
      const name = `file-${String(i).padStart(2, '0')}.bin`
      await writeFile(join(filesDir, name), randomBytes(size))
      const page = downloadPage(name, pageSizes[i]!)
      await writeFile(join(filesDir, page.name), page.html)
      files.push({ path: join(filesDir, name), name, size, page: { name: page.name, size: page.html.length } })
    }
    const web = await startWebServers({
      procs, dir: work, docRoot: filesDir, host: '127.0.0.1', firstPort: WEB_FIRST_PORT, certificates, nginx: tools.nginx.available, log: logFile
    })
    for (const reason of new Set(Object.values(web.missing))) notes.push(reason)
    const ctx: TrafficContext = { procs, dir: work, files, filesDir, web, have: { curl: tools.curl.available, openssl: tools.openssl.available }, options, log, logFile }

    if (only.has('traffic')) {
      traffic = await timed('traffic', async () => {
        if (!tools.tcpdump.available) throw new Error(`skipped: ${tools.tcpdump.reason ?? 'tcpdump missing'} (bash bench/wire-image/install.sh)`)
        return await runTrafficSection(ctx, work, tools.sklearn.available ? undefined : tools.sklearn.reason, options.repeats)
      }, log)
    }
    if (only.has('probes')) {
      probes = await timed('probes', () => runProbeBattery({
        procs, dir: work, web, capMs: options.probeCapMs, log, logFile, bttlsPorts: [PROBE_BTTLS_PORT, PROBE_BTTLS_PORT + 1, PROBE_BTTLS_PORT + 2],
        policies: ['require-tls', 'prefer-tls', ...(policies.includes('stealth') ? ['stealth' as Policy] : [])]
      }), log)
    }
  } finally {
    await procs.stopAll()
    if (values.keep === true) log(`kept ${work}`)
    else await rm(work, { recursive: true, force: true })
  }

  const t = valueOf(traffic)
  const p = valueOf(probes)
  const targets = evaluateTargets({ hellos: t?.hellos, probes: p, posture: p === undefined ? undefined : `bttls ${posture}`, rules: t?.rules, trees: t?.trees.results })
  const result: WireImageRun = {
    date,
    quick,
    command: `npm run wire-image${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`,
    commit: `${git(['rev-parse', 'HEAD'])} (${git(['log', '-1', '--format=%s'])})`.slice(0, 200),
    machine,
    tools: Object.fromEntries(Object.entries(tools).filter(([, v]) => typeof v === 'object')) as WireImageRun['tools'],
    options,
    posture: `bttls ${posture}`,
    notes,
    seconds: (performance.now() - started) / 1000,
    sections: { traffic, probes },
    targets
  }
  const stem = `wire-image-${date.slice(0, 10)}${quick ? '-quick' : ''}${values.tag !== undefined ? `-${values.tag}` : ''}`
  const chart = `${stem}-classifiers.svg`
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, `${stem}.json`), JSON.stringify(result, null, 2) + '\n')
  writeFileSync(join(outDir, `${stem}.md`), wireImageMarkdown(result, chart))
  writeFileSync(join(outDir, chart), classifierChart(result))

  log('')
  for (const target of targets) log(`${target.verdict.padEnd(12)}  ${target.name}: ${target.measured}`)
  log(`\n${result.seconds.toFixed(0)} s; wrote ${join(outDir, stem)}.{json,md} and ${chart}`)
  const failed = Object.entries(result.sections).filter(([name, s]) => 'error' in s && only.has(name as SectionName) && !s.error.startsWith('skipped'))
  if (failed.length > 0) {
    log(`failed sections: ${failed.map(([name]) => name).join(', ')}`)
    process.exitCode = 1
  }
}

/** The passive section: flows, capture, samples, then hellos, rules and trees. */
async function runTrafficSection (ctx: TrafficContext, work: string, noTrees: string | undefined, repeats: number): Promise<TrafficSection> {
  const flows = interleave([
    await planBttlsFlows(ctx),
    planHttpsFlows(ctx),
    await planBtFlows(ctx, 'plain'),
    await planBtFlows(ctx, 'mse')
  ])
  const all = [...planHelloFlows(ctx), ...flows]
  log(`  ${all.length} flows (${ctx.files.length} per kind, sizes ${ctx.files.map(f => f.size).join(', ')} bytes)`)
  const captured = await runTraffic(ctx.procs, all, { pcap: join(work, 'traffic.pcap'), ports: CAPTURED_PORTS, log, logFile: ctx.logFile })
  const samples = captured.samples
  const rules = scoreRules(samples)
  const datasets = [...treeDatasets(samples), ...counterfactualDatasets(samples)]
  const trees = noTrees !== undefined
    ? { skipped: noTrees, results: [] }
    : { results: await fitTrees(datasets, { depth: 3, folds: 5, repeats }) }
  return {
    sizes: ctx.files.map(f => f.size),
    capture: captured.capture,
    runs: captured.runs,
    hellos: helloRows(samples),
    servers: serverRows(samples),
    examples: exampleSequences(samples),
    cleartext: cleartextScan(captured.runs),
    rules,
    trees,
    samples: samples.map(storedSample)
  }
}

main().catch(err => {
  console.error((err as Error).stack ?? String(err))
  killEverythingNow()
  process.exit(1)
})
