/**
 * Every probe against every target: a bttls seeder under require-tls and under the default policy
 * (prefer-tls), and the stock servers (node https, node http2, nginx). Probes run a few at a time
 * (most of them just wait for the target to close), each bounded by the cap, and every answer is
 * compared with stock node https's answer to the same probe.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Peer, ProcessGroup } from '../../interop/lib/processes.js'
import { bttlsCreate, bttlsSeed, type Policy } from './bttls-cli.js'
import { answerClass, classifyProbe, verdict, type ProbeAnswer } from './probe-answers.js'
import { ProbeRelay } from './probe-relay.js'
import { PROBES, sendProbe, type ClientView, type ProbeEnv } from './probes.js'
import type { WebServers } from './web-servers.js'

export interface ProbeTarget { readonly name: string, readonly host: string, readonly port: number }

export interface ProbeRow {
  readonly probe: string
  readonly title: string
  readonly answers: Record<string, ProbeAnswer & { readonly class: string, readonly verdict: string }>
}

export interface ProbeSection {
  readonly capMs: number
  readonly targets: readonly ProbeTarget[]
  readonly reference: string
  readonly rows: ProbeRow[]
  readonly notes: string[]
}

export const REFERENCE_TARGET = 'node https'

/** At most this many probes in flight: enough to overlap the waits, few enough to keep timings honest. */
const CONCURRENCY = 12

async function pool<T> (tasks: ReadonlyArray<() => Promise<T>>, width: number): Promise<T[]> {
  const results = new Array<T>(tasks.length)
  let next = 0
  const lane = async (): Promise<void> => { while (next < tasks.length) { const i = next++; results[i] = await tasks[i]!() } }
  await Promise.all(Array.from({ length: Math.min(width, tasks.length) }, lane))
  return results
}

export interface BatteryOptions {
  readonly procs: ProcessGroup
  readonly dir: string
  readonly web: WebServers
  /** bttls seeders to probe, one per policy, on these ports (one each). */
  readonly policies: readonly Policy[]
  readonly bttlsPorts: readonly number[]
  readonly capMs: number
  readonly log: (line: string) => void
  readonly logFile: (name: string) => string
}

export async function runProbeBattery (o: BatteryOptions): Promise<ProbeSection> {
  const notes: string[] = []
  const payload = join(o.dir, 'probe-target.bin')
  const torrent = join(o.dir, 'probe-target.torrent')
  await writeFile(payload, randomBytes(256 * 1024))
  const created = bttlsCreate(payload, torrent, ['--v1'])
  const env: ProbeEnv = { infohashHex: created.infoHashV1 ?? randomBytes(20).toString('hex') }
  const targets: ProbeTarget[] = []
  const seeds: Peer[] = []
  try {
    for (const [i, policy] of o.policies.entries()) {
      const port = o.bttlsPorts[i]!
      seeds.push(await bttlsSeed(o.procs, torrent, payload, { host: '127.0.0.1', port, policy, logPrefix: o.logFile(`probe-seed-${policy}`) }))
      targets.push({ name: `bttls ${policy}`, host: '127.0.0.1', port })
    }
    const stock: ReadonlyArray<[string, keyof WebServers['ports']]> = [[REFERENCE_TARGET, 'node-h1'], ['node http2', 'node-h2'], ['nginx', 'nginx-h1']]
    for (const [name, server] of stock) {
      const port = o.web.ports[server]
      if (port !== undefined) targets.push({ name, host: o.web.host, port })
      else notes.push(`${name} not probed: ${o.web.missing[server] ?? 'not running'}`)
    }
    const rows = await probeTargets(targets, env, o)
    return { capMs: o.capMs, targets, reference: REFERENCE_TARGET, rows, notes }
  } finally {
    for (const seed of seeds) await o.procs.stop(seed)
  }
}

async function probeTargets (targets: readonly ProbeTarget[], env: ProbeEnv, o: BatteryOptions): Promise<ProbeRow[]> {
  // Interleave targets so the long waits of one target overlap the quick answers of another.
  const jobs = PROBES.flatMap(probe => targets.map(target => ({ probe, target })))
  let done = 0
  const answers = await pool(jobs.map(({ probe, target }) => async () => {
    const relay = await ProbeRelay.start(target)
    try {
      // The hard bound: whatever happens inside, a probe ends a little after its cap.
      let timer: NodeJS.Timeout | undefined
      const client = await Promise.race([
        sendProbe(probe, relay, env, o.capMs),
        new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`probe ${probe.id} overran its cap`)), o.capMs * 2 + 5000) })
      ]).catch((err: Error): ClientView => ({ data: Buffer.alloc(0), referenceAt: performance.now(), reference: 'connect', error: err.message }))
        .finally(() => clearTimeout(timer))
      const answer = classifyProbe(relay.observation(), client)
      if (++done % 20 === 0) o.log(`  probes: ${done}/${jobs.length}`)
      return { probe, target, answer }
    } finally {
      relay.close()
    }
  }), CONCURRENCY)

  return PROBES.map(probe => {
    const mine = answers.filter(a => a.probe === probe)
    const reference = mine.find(a => a.target.name === REFERENCE_TARGET)?.answer
    const row: ProbeRow['answers'] = {}
    for (const { target, answer } of mine) {
      row[target.name] = { ...answer, class: answerClass(answer), verdict: reference === undefined ? 'no reference' : target.name === REFERENCE_TARGET ? 'reference' : verdict(answer, reference) }
    }
    return { probe: probe.id, title: probe.title, answers: row }
  })
}
