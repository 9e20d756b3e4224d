/**
 * Runs the `bttls` CLI as a user would, in a child process. The sources are compiled once per test
 * process into node_modules/.cache (inside the repo, so packages resolve): starting TypeScript for
 * every spawn cost ~3 s each and made the CLI tests the slowest and most load-sensitive of the suite.
 */
import { execFile, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { existsSync } from 'node:fs'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const OUT = join(ROOT, 'node_modules', '.cache', `bttls-cli-test-${process.pid}`)
const MAIN = join(OUT, 'src', 'cli', 'main.js')

/** The compiled CLI entry point, for tests that spawn it their own way (a shell pipeline, a pty). */
export const CLI_MAIN = MAIN
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')

let built: Promise<void> | undefined

/** Compiles the current sources (once per test process). */
export function buildCli (): Promise<void> {
  built ??= new Promise((resolve, reject) => {
    execFile(process.execPath, [TSC, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', OUT, '--sourceMap', 'false', '--inlineSources', 'false', '--declaration', 'false'], { cwd: ROOT }, (err, stdout) => {
      if (err) reject(new Error(`tsc failed: ${stdout}`))
      else resolve()
    })
  })
  return built
}

export interface CliResult { code: number, stdout: string, stderr: string }

export interface CliRun {
  result: Promise<CliResult>
  kill: () => void
  /** The process id once spawned (to signal it: SIGSTOP a peer, SIGINT a seeder). */
  pid: () => number | undefined
}

export function runCli (args: string[], options: { timeoutMs?: number, onStdout?: (line: string) => void, env?: NodeJS.ProcessEnv } = {}): CliRun {
  let child: ReturnType<typeof spawn> | undefined
  let killed = false
  const result = buildCli().then(() => new Promise<CliResult>(resolve => {
    child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(options.env ? { env: { ...process.env, ...options.env } } : {}) })
    if (killed) child.kill('SIGTERM')
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString()
      if (options.onStdout) for (const line of d.toString().split('\n')) if (line) options.onStdout(line)
    })
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => child?.kill('SIGKILL'), options.timeoutMs ?? 60_000)
    child.once('exit', code => { clearTimeout(timer); resolve({ code: code ?? 1, stdout, stderr }) })
  }))
  return { result, kill: () => { killed = true; child?.kill('SIGTERM') }, pid: () => child?.pid }
}

export interface BackgroundCli {
  /** The listening port (from its `listening` event). */
  port: number
  /** Every JSON event so far. */
  events: Array<Record<string, unknown>>
  run: CliRun
}

/**
 * Starts `bttls <args> --json` (a seeder, or `get --seed`) in the background, stopped (SIGTERM) when
 * the test ends; resolves once it listens, rejects if it exits first.
 */
export async function inBackground (t: { teardown: (fn: () => void) => void }, args: string[]): Promise<BackgroundCli> {
  let port = 0
  const events: Array<Record<string, unknown>> = []
  const run = runCli([...args, '--json'], {
    timeoutMs: 600_000,
    onStdout: line => { const e = JSON.parse(line); events.push(e); if (e.event === 'listening') port = e.port }
  })
  t.teardown(run.kill)
  let done = false
  void run.result.then(() => { done = true })
  while (port === 0 && !done) await new Promise(resolve => setTimeout(resolve, 50))
  if (port === 0) throw new Error(`bttls ${args[0]} exited: ${(await run.result).stderr}`)
  return { port, events, run }
}

/** Runs fn with process.stdout/stderr writes captured (for trackerMain/caMain, which print themselves). */
export async function quietly<T> (fn: () => Promise<T>): Promise<{ value: T, stdout: string, stderr: string }> {
  const o = process.stdout.write.bind(process.stdout)
  const e = process.stderr.write.bind(process.stderr)
  let stdout = ''
  let stderr = ''
  process.stdout.write = ((chunk: string) => { stdout += chunk; return true }) as typeof process.stdout.write
  process.stderr.write = ((chunk: string) => { stderr += chunk; return true }) as typeof process.stderr.write
  try { return { value: await fn(), stdout, stderr } } finally { process.stdout.write = o; process.stderr.write = e }
}

/** Whether `script` (util-linux) is here to give the CLI a pty. */
export function hasScript (): boolean {
  return ['/usr/bin/script', '/bin/script'].some(p => existsSync(p))
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`

export interface TerminalRun {
  /** Everything the terminal showed so far (status line frames separated by \r). */
  output: () => string
  /** The CLI's pid (the shell `script` started execs it), once known. */
  pid: () => number | undefined
  exited: Promise<number | null>
  kill: () => void
}

/**
 * Runs `bttls <args>` on a pty of `cols` columns (`script -qfec`), as a user at a terminal: the
 * status line is drawn. Killed when the test ends.
 */
export async function inTerminal (t: { teardown: (fn: () => void) => void }, args: string[], cols = 120): Promise<TerminalRun> {
  await buildCli()
  const command = [process.execPath, MAIN, ...args].map(shellQuote).join(' ')
  // The shell prints its pid, then becomes the CLI (exec): that pid gets signals as the user's Ctrl-C.
  const child = spawn('script', ['-qfec', `stty cols ${cols}; echo "pid=$$"; exec ${command}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] })
  let out = ''
  child.stdout!.on('data', (d: Buffer) => { out += d.toString() })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  const kill = (): void => { child.kill('SIGKILL'); const pid = Number(/pid=(\d+)/.exec(out)?.[1]); if (pid > 0) try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ } }
  t.teardown(kill)
  return { output: () => out, pid: () => { const m = /pid=(\d+)/.exec(out); return m ? Number(m[1]) : undefined }, exited, kill }
}
