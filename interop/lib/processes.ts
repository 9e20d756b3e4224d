/**
 * Child processes of one harness run: every peer is spawned through here, so its pid is tracked and
 * it is stopped at the end of its scenario (and again when the harness exits), even on failure.
 * Each child leads its own process group, so stopping it also stops anything it forked.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { splitJsonLines } from './json-lines.js'

export interface JsonEvent { event: string, [field: string]: unknown }

export interface SpawnOptions {
  /** Label for logs and reasons, e.g. 'bttls seed'. */
  name: string
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** Files the child's stdout/stderr are copied to, for a post-mortem. */
  logPrefix: string
  /** Parse stdout as JSON lines (bttls --json, lt_peer.py). */
  json?: boolean
}

export class Peer {
  readonly events: JsonEvent[] = []
  stdout = ''
  stderr = ''
  exitCode: number | null = null
  signal: NodeJS.Signals | null = null
  readonly exited: Promise<void>
  private readonly waiters = new Set<() => void>()

  constructor (readonly name: string, readonly child: ChildProcess, json: boolean, logPrefix: string) {
    const out = createWriteStream(`${logPrefix}.out`)
    const err = createWriteStream(`${logPrefix}.err`)
    let pending = ''
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out.write(chunk)
      this.stdout += chunk
      if (json) {
        const { events, rest } = splitJsonLines(pending + chunk)
        pending = rest
        for (const e of events) this.events.push(e)
      }
      this.wake()
    })
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { err.write(chunk); this.stderr += chunk; this.wake() })
    this.exited = new Promise(resolve => {
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        this.exitCode = code
        this.signal = signal
        out.end()
        err.end()
        this.wake()
        resolve()
      }
      child.once('exit', done)
      child.once('error', e => { this.stderr += `spawn error: ${e.message}\n`; done(127, null) })
    })
  }

  get pid (): number | undefined { return this.child.pid }
  get running (): boolean { return this.exitCode === null && this.signal === null }

  /** Waits until `test` holds (re-checked on every output and at exit), or fails with a reason. */
  async until<T> (what: string, test: () => T | undefined | false, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const v = test()
      if (v !== undefined && v !== false) return v
      if (!this.running) throw new Error(`${this.name} exited (${this.exitCode ?? this.signal}) before ${what}${this.lastWords()}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`${this.name}: no ${what} within ${(timeoutMs / 1000).toFixed(0)} s${this.lastWords()}`)
      await new Promise<void>(resolve => {
        const timer = setTimeout(wake, Math.min(left, 250))
        const self = this.waiters
        function wake (): void { clearTimeout(timer); self.delete(wake); resolve() }
        self.add(wake)
      })
    }
  }

  /** Waits for the first JSON event matching. */
  async event (name: string, timeoutMs: number, match: (e: JsonEvent) => boolean = () => true): Promise<JsonEvent> {
    return await this.until(`"${name}" event`, () => this.events.find(e => e.event === name && match(e)), timeoutMs)
  }

  /** The last error the child reported: a JSON `error` event, else its last stderr line. */
  lastWords (): string {
    const e = [...this.events].reverse().find(x => x.event === 'error')
    if (e) return `: ${String(e.message)}`
    const line = this.stderr.trim().split('\n').filter(l => l.trim() !== '').pop()
    return line ? `: ${line.trim().slice(0, 300)}` : ''
  }

  private wake (): void { for (const w of [...this.waiters]) w() }
}

/** Every group ever made, so the harness's exit handler can kill whatever is still running. */
const groups = new Set<ProcessGroup>()

export function killEverythingNow (): void {
  for (const g of groups) g.killAllNow()
}

export class ProcessGroup {
  private readonly peers = new Set<Peer>()
  /** Every process this group started, running or not (for the post-mortem of a failed scenario). */
  readonly all: Peer[] = []
  /** Log prefixes already taken: a second process of the same name logs to `<prefix>-2`, not over the first. */
  private readonly prefixes = new Map<string, number>()

  constructor () { groups.add(this) }

  spawn (command: string, args: string[], options: SpawnOptions): Peer {
    const child = spawn(command, args, {
      cwd: options.cwd, env: options.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe']
    })
    const taken = this.prefixes.get(options.logPrefix) ?? 0
    this.prefixes.set(options.logPrefix, taken + 1)
    const peer = new Peer(options.name, child, options.json === true, taken === 0 ? options.logPrefix : `${options.logPrefix}-${taken + 1}`)
    this.peers.add(peer)
    this.all.push(peer)
    void peer.exited.then(() => this.peers.delete(peer))
    return peer
  }

  get pids (): number[] { return [...this.peers].map(p => p.pid).filter((p): p is number => p !== undefined) }

  /** SIGTERM (so peers report their totals), then SIGKILL after `graceMs`. */
  async stop (peer: Peer, graceMs = 3000): Promise<void> {
    if (!peer.running || peer.pid === undefined) return
    killGroup(peer.pid, 'SIGTERM')
    const timer = setTimeout(() => { if (peer.pid !== undefined) killGroup(peer.pid, 'SIGKILL') }, graceMs)
    await peer.exited
    clearTimeout(timer)
    // Whatever the leader forked and left behind.
    killGroup(peer.pid, 'SIGKILL')
  }

  async stopAll (graceMs = 3000): Promise<void> {
    await Promise.all([...this.peers].map(p => this.stop(p, graceMs)))
  }

  /** Last resort from process 'exit': synchronous, no waiting. */
  killAllNow (): void {
    for (const pid of this.pids) killGroup(pid, 'SIGKILL')
  }
}

function killGroup (pid: number, signal: NodeJS.Signals): void {
  try { process.kill(-pid, signal) } catch { /* already gone */ }
}
