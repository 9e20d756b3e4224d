/**
 * A flow the traffic section runs while tcpdump captures: what it is (its label), the server
 * endpoint it connects to (which, with the time window of its run, finds it in the capture), and how
 * to run it. Preparation (torrents, certificates) happens before the capture starts.
 */
import type { ProcessGroup } from '../../interop/lib/processes.js'
import type { RunOptions } from './plan.js'
import type { FlowLabel } from './samples.js'
import type { Endpoint } from './tcp-flows.js'
import type { WebServers } from './web-servers.js'

export interface PlannedFlow {
  readonly label: FlowLabel
  readonly server: Endpoint
  /** Runs the flow; the capture window opens just before `transfer` and closes when it resolves. */
  readonly setUp?: () => Promise<void>
  readonly transfer: () => Promise<void>
  readonly tearDown?: () => Promise<void>
  /** Byte strings that must not appear in cleartext (the infohashes), counted in both directions. */
  readonly needles?: readonly Buffer[]
  /** Hello-only connections may fail after their hello (a client and server with no common ALPN). */
  readonly mayFail?: boolean
}

export interface PayloadFile {
  readonly path: string
  readonly name: string
  readonly size: number
  /** The download page that links to it (the page-visit clients fetch it first). */
  readonly page: { readonly name: string, readonly size: number }
}

export interface TrafficContext {
  readonly procs: ProcessGroup
  readonly dir: string
  /** The files every kind moves, one per flow index. */
  readonly files: readonly PayloadFile[]
  /** The directory holding them (what the web servers serve). */
  readonly filesDir: string
  readonly web: WebServers
  /** Stock clients this machine has (the Node ones always). */
  readonly have: { readonly curl: boolean, readonly openssl: boolean }
  readonly options: RunOptions
  readonly log: (line: string) => void
  readonly logFile: (name: string) => string
}
