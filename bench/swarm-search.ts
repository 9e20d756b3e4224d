/**
 * The responder's search for an AuthHello's swarm (src/handshake/swarm-search.ts; bench/README.md,
 * "The responder's search") against the number of torrents served: the time one AuthHello takes when it
 * matches (the last swarm tried) and when it matches none (both passes), and the longest the event loop
 * went without a turn while the search ran, which the other links of the process wait. All in this
 * process, with real keys and HMACs; no sockets, no TLS. Times are wall clock on a process doing nothing
 * else: process.cpuUsage() would add the garbage collector's helper threads, which made it noisier.
 *
 *   node dist/bench/swarm-search.js [--served 1,100,1000,10000] [--rounds 20]
 */
import { randomBytes } from 'node:crypto'
import { performance, PerformanceObserver } from 'node:perf_hooks'
import { basicLevel } from '../src/levels/basic.js'
import { authHeader } from '../src/protocol/auth-message.js'
import { computeProof } from '../src/protocol/key-schedule.js'
import { Deadline } from '../src/handshake/deadline.js'
import { SEARCH_SLICE_KEYS, searchSwarms, type SwarmCandidate } from '../src/handshake/swarm-search.js'
import { isMain } from './json-child.js'
import { median } from './stats.js'

export interface SearchRow {
  readonly served: number
  /** Time per AuthHello whose swarm is the last tried, µs (median of the rounds). */
  readonly matchMicros: number
  /** Time per AuthHello that matches no swarm, µs. */
  readonly noneMicros: number
  /** The longest gap between two turns of the event loop during one search, ms: the median over the rounds. */
  readonly stallMedianMs: number
  /** … and the largest. */
  readonly stallMaxMs: number
  /** The longest garbage collection pause during those searches, ms: the search allocates an HMAC object per key. */
  readonly gcMaxMs: number
}

/** The longest gap between turns of the event loop while `work` runs (a setImmediate chain). */
async function longestStall (work: () => Promise<unknown>): Promise<number> {
  let last = performance.now()
  let longest = 0
  let running = true
  const tick = (): void => {
    const now = performance.now()
    longest = Math.max(longest, now - last)
    last = now
    if (running) setImmediate(tick)
  }
  setImmediate(tick)
  await work()
  running = false
  return Math.max(longest, performance.now() - last)
}

async function micros (work: () => Promise<unknown>): Promise<number> {
  const started = performance.now()
  await work()
  return (performance.now() - started) * 1000
}

export async function measureSearch (served: number, rounds: number): Promise<SearchRow> {
  const swarms: Array<SwarmCandidate<number>> = Array.from({ length: served }, (_, i) => ({ level: basicLevel([randomBytes(20)]), swarm: i }))
  const header = authHeader('basic', 0)
  const exporter = randomBytes(32)
  const last = { level: 'basic', header, proof: computeProof(swarms.at(-1)!.level.swarmKeys[0]!.key, 'initiator', header, exporter) }
  const stranger = { level: 'basic', header, proof: randomBytes(32) }
  const search = async (proof: typeof last): Promise<void> => { await searchSwarms(swarms, proof, exporter, Deadline.after(60_000)) }
  for (let i = 0; i < 3; i++) { await search(last); await search(stranger) } // warm
  const matchTimes: number[] = []
  const noneTimes: number[] = []
  const stalls: number[] = []
  let gcMaxMs = 0
  const gcs = new PerformanceObserver(list => { for (const entry of list.getEntries()) gcMaxMs = Math.max(gcMaxMs, entry.duration) })
  for (let i = 0; i < rounds; i++) {
    matchTimes.push(await micros(async () => await search(last)))
    noneTimes.push(await micros(async () => await search(stranger)))
    gcs.observe({ entryTypes: ['gc'] })
    stalls.push(await longestStall(async () => await search(last)))
    gcs.disconnect()
  }
  return { served, matchMicros: median(matchTimes), noneMicros: median(noneTimes), stallMedianMs: median(stalls), stallMaxMs: Math.max(...stalls), gcMaxMs }
}

async function main (): Promise<void> {
  const argv = process.argv.slice(2)
  const text = (name: string): string | undefined => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined }
  const counts = (text('--served') ?? '1,100,1000,10000').split(',').map(Number)
  const rounds = Number(text('--rounds') ?? '20')
  console.log(`slices of ${SEARCH_SLICE_KEYS} keys; medians of ${rounds} rounds`)
  console.log('| served swarms | time per AuthHello, matching (µs) | matching none (µs) | longest event-loop stall, median / max (ms) | longest GC pause (ms) |')
  console.log('| --: | --: | --: | --: | --: |')
  for (const served of counts) {
    const row = await measureSearch(served, rounds)
    console.log(`| ${served} | ${row.matchMicros.toFixed(0)} | ${row.noneMicros.toFixed(0)} | ${row.stallMedianMs.toFixed(2)} / ${row.stallMaxMs.toFixed(2)} | ${row.gcMaxMs.toFixed(2)} |`)
  }
}

if (isMain(import.meta.url)) main().catch(err => { console.error((err as Error).message); process.exit(1) })
