/** Runs a `bttls` CLI command as a child process and collects its --json events. */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const BTTLS_BIN = fileURLToPath(new URL('../../../bin/bttls.js', import.meta.url))

export interface CliEvent { event: string, [key: string]: unknown }

export class CliProcess {
  readonly events: CliEvent[] = []
  readonly exited: Promise<number>
  private readonly child: ChildProcess
  private stderr = ''

  constructor (args: string[]) {
    this.child = spawn(process.execPath, [BTTLS_BIN, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.child.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString() })
    createInterface({ input: this.child.stdout! }).on('line', line => {
      try { this.events.push(JSON.parse(line) as CliEvent) } catch { /* not an event line */ }
    })
    this.exited = new Promise(resolve => this.child.once('exit', code => resolve(code ?? 1)))
  }

  get pid (): number { return this.child.pid ?? 0 }
  get errorOutput (): string { return this.stderr.trim() }

  /** Resolves with the first event of this kind, or rejects if the process exits first. */
  async next (event: string, timeoutMs = 60_000): Promise<CliEvent> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.events.find(e => e.event === event)
      if (found) return found
      if (this.child.exitCode !== null) throw new Error(`bttls exited (${this.child.exitCode}) before "${event}": ${this.stderr.trim()}`)
      if (Date.now() > deadline) throw new Error(`no "${event}" from bttls within ${timeoutMs} ms`)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }

  stop (): Promise<number> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM')
    return this.exited
  }
}
