/**
 * A benchmark's helper process (a Node script or any executable) that reports JSON lines on stdout
 * and takes commands on stdin. Benchmarks put the side they do not measure in its own process so the
 * two never share an event loop, and each side's CPU time is its own.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { realpathSync } from 'node:fs'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export type JsonEvent = Record<string, unknown> & { event: string }

export class JsonChild {
  private readonly child: ChildProcess
  private readonly queue: JsonEvent[] = []
  private waiter: ((e: JsonEvent | Error) => void) | undefined
  private stderr = ''
  private ended: Error | undefined
  readonly exited: Promise<number>

  /**
   * `command` is spawned as is; a path ending in .js runs under this Node with `nodeFlags`. `env` is
   * added to this process's environment.
   */
  constructor (command: string, args: readonly string[], nodeFlags: readonly string[] = [], env?: Readonly<Record<string, string>>) {
    const [file, argv] = command.endsWith('.js') ? [process.execPath, [...nodeFlags, command, ...args]] : [command, [...args]]
    this.child = spawn(file, argv, { stdio: ['pipe', 'pipe', 'pipe'], ...(env !== undefined ? { env: { ...process.env, ...env } } : {}) })
    this.child.stderr!.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-4000) })
    createInterface({ input: this.child.stdout! }).on('line', line => {
      let e: JsonEvent
      try { e = JSON.parse(line) as JsonEvent } catch { return }
      if (typeof e !== 'object' || e === null || typeof e.event !== 'string') return
      this.deliver(e.event === 'error' ? new Error(`${command}: ${String(e.message)}`) : e)
    })
    this.exited = new Promise(resolve => this.child.once('exit', code => {
      this.ended = new Error(`${command} exited (${code ?? 'signal'}): ${this.stderr.trim().split('\n').slice(-5).join(' | ')}`)
      this.deliver(this.ended)
      resolve(code ?? 1)
    }))
    this.child.stdin!.on('error', () => {})
  }

  get pid (): number | undefined {
    return this.child.pid
  }

  /**
   * The next event (of this name, skipping others), or an error if the child fails or times out. One
   * wait at a time: a new call ends a pending one with an error (say, asking a stuck child for its stats).
   */
  async next (event: string, timeoutMs: number): Promise<JsonEvent> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const e = await this.take(deadline - Date.now(), event)
      if (e.event === event) return e
    }
  }

  send (command: unknown): void {
    if (this.ended === undefined) this.child.stdin!.write((typeof command === 'string' ? command : JSON.stringify(command)) + '\n')
  }

  /** Ask it to exit (stdin closes), and kill it if it has not within `graceMs`. */
  async stop (graceMs = 5000): Promise<void> {
    if (this.ended !== undefined) return
    this.child.stdin!.end()
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
    await this.exited
    clearTimeout(timer)
  }

  private take (timeoutMs: number, what: string): Promise<JsonEvent> {
    const queued = this.queue.shift()
    if (queued !== undefined) return Promise.resolve(queued)
    if (this.ended !== undefined) return Promise.reject(this.ended)
    this.waiter?.(new Error(`the wait was superseded by a wait for ${what}`))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.waiter = undefined; reject(new Error(`no ${what} event within the time allowed`)) }, Math.max(0, timeoutMs))
      this.waiter = e => {
        clearTimeout(timer)
        this.waiter = undefined
        if (e instanceof Error) reject(e)
        else resolve(e)
      }
    })
  }

  private deliver (e: JsonEvent | Error): void {
    if (this.waiter !== undefined) this.waiter(e)
    else if (!(e instanceof Error)) this.queue.push(e)
  }
}

/** For the child's side: one JSON line on stdout. */
export function emit (event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ event, ...fields }) + '\n')
}

/**
 * Whether this module is the script Node was started with (a bench file run directly, not imported).
 * Node names a module by its real path, so a script reached through a symbolic link is compared by its own.
 */
export function isMain (metaUrl: string): boolean {
  if (process.argv[1] === undefined) return false
  let script = resolve(process.argv[1])
  try { script = realpathSync(script) } catch { /* not a file: compared as given */ }
  return fileURLToPath(metaUrl) === script
}
