/**
 * The passive section: every planned flow run one after another while tcpdump captures, then the
 * capture parsed and each flow found by its server endpoint and its run's time window. Runs are
 * sequential so windows never overlap and timings are not disturbed by each other.
 */
import { readFile } from 'node:fs/promises'
import type { ProcessGroup } from '../../interop/lib/processes.js'
import { startCapture } from './capture.js'
import type { PlannedFlow } from './flows.js'
import { tcpSegments } from './pcap.js'
import { flowSample, type FlowLabel, type FlowSample } from './samples.js'
import { tcpFlows, type TcpFlow } from './tcp-flows.js'

export interface RunRecord {
  readonly label: FlowLabel
  readonly server: string
  readonly seconds: number
  /** Connections to the server in the window (the largest one is the sample). */
  readonly connections: number
  /** Infohash occurrences in the captured bytes of its connections, both directions (flows with needles). */
  readonly infohashHits?: number
  readonly error?: string
}

export interface TrafficResult {
  readonly samples: FlowSample[]
  readonly runs: RunRecord[]
  readonly capture: { readonly file: string, readonly filter: string, readonly packets?: number, readonly droppedByKernel?: number, readonly bytes: number }
}

/** How often `needle` occurs in `haystack` (overlaps counted). */
export function occurrences (haystack: Buffer, needle: Buffer): number {
  let n = 0
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) n++
  return n
}

/**
 * Microseconds of slack around a window (the SYN leaves inside it by construction; the slack covers
 * the two clocks), and the pause between runs, longer than twice the slack, so that a connection can
 * only ever fall into its own run's window.
 */
const SLACK_US = 2000
const PAUSE_MS = 20

/** Wall-clock microseconds, as precise as the monotonic clock (Date.now() has only milliseconds). */
const nowUs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000)

export async function runTraffic (procs: ProcessGroup, flows: readonly PlannedFlow[], o: { pcap: string, ports: { from: number, to: number }, log: (line: string) => void, logFile: (name: string) => string }): Promise<TrafficResult> {
  const windows: Array<{ flow: PlannedFlow, startUs: number, endUs: number, seconds: number, error?: string }> = []
  const capture = await startCapture(procs, o.pcap, o.ports, o.logFile('tcpdump'))
  let stats: { captured?: number, droppedByKernel?: number }
  try {
    for (const [i, flow] of flows.entries()) {
      let error: string | undefined
      let startUs = nowUs()
      const t0 = performance.now()
      try {
        await flow.setUp?.()
        startUs = nowUs()
        await flow.transfer()
      } catch (err) {
        if (flow.mayFail !== true) error = (err as Error).message.split('\n')[0]
      } finally {
        const endUs = nowUs()
        await flow.tearDown?.().catch(() => {})
        await new Promise(resolve => setTimeout(resolve, PAUSE_MS))
        windows.push({ flow, startUs, endUs, seconds: (performance.now() - t0) / 1000, error })
      }
      if (error !== undefined) o.log(`  ${flow.label.kind} ${flow.label.variant}: ${error}`)
      if ((i + 1) % 10 === 0) o.log(`  flows: ${i + 1}/${flows.length}`)
    }
  } finally {
    stats = await capture.stop()
  }

  const file = await readFile(o.pcap)
  const connections = tcpFlows(tcpSegments(file))
  const samples: FlowSample[] = []
  const runs: RunRecord[] = []
  for (const w of windows) {
    const mine = connections.filter(c => c.server.address === w.flow.server.address && c.server.port === w.flow.server.port &&
      c.synUs >= w.startUs - SLACK_US && c.synUs <= w.endUs + SLACK_US)
    const biggest = mine.reduce<TcpFlow | undefined>((a, b) => a === undefined || b.toClient.totalBytes > a.toClient.totalBytes ? b : a, undefined)
    let error = w.error
    if (biggest !== undefined && error === undefined) samples.push(flowSample(biggest, w.flow.label))
    else if (biggest === undefined) error ??= 'no connection to the server captured in its window'
    const needles = w.flow.needles
    const infohashHits = needles === undefined || mine.length === 0 ? undefined
      : mine.reduce((n, c) => n + needles.reduce((m, needle) => m + occurrences(c.toServer.bytes, needle) + occurrences(c.toClient.bytes, needle), 0), 0)
    runs.push({ label: w.flow.label, server: `${w.flow.server.address}:${w.flow.server.port}`, seconds: w.seconds, connections: mine.length, infohashHits, error })
  }
  return { samples, runs, capture: { file: o.pcap, filter: capture.filter, packets: stats.captured, droppedByKernel: stats.droppedByKernel, bytes: file.length } }
}
