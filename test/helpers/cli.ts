/**
 * Runs the `bttls` CLI as a user would, in a child process. The sources are compiled once per state
 * of the sources, into node_modules/.cache/bttls-cli-<digest> (inside the repo, so packages resolve),
 * and every test process that finds that directory uses it: starting TypeScript for every spawn cost
 * ~3 s each, and a build per test file cost some 30 s of CPU for each of the dozen files that run
 * the CLI, a third of `npm test`. Under `npm test` this file is itself part of the copy compiled
 * once (build/, see test/README.md), and the CLI is that copy's src/: nothing more to compile.
 */
import { execFile, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { join, relative } from 'node:path'
import type { main as Main } from '../../src/cli/main.js'
import { COMPILED, ROOT } from './project-root.js'

const CACHE = join(ROOT, 'node_modules', '.cache')
const PREFIX = 'bttls-cli-'
/** What tsconfig.build.json compiles, and the configs it reads. */
const INPUT_DIRS = ['src', 'bench', 'interop', 'types']
const INPUT_FILES = ['tsconfig.json', 'tsconfig.build.json', 'package.json']

/** A digest of everything the build reads: the same sources give the same directory. */
function sourceDigest (): string {
  const hash = createHash('sha256')
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name < b.name ? -1 : 1)) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.ts')) hash.update(relative(ROOT, path)).update('\0').update(readFileSync(path))
    }
  }
  for (const dir of INPUT_DIRS) if (existsSync(join(ROOT, dir))) walk(join(ROOT, dir))
  for (const file of INPUT_FILES) hash.update(file).update('\0').update(readFileSync(join(ROOT, file)))
  return hash.digest('hex').slice(0, 16)
}

const OUT = COMPILED ? fileURLToPath(new URL('../..', import.meta.url)) : join(CACHE, `${PREFIX}${sourceDigest()}`)
const MAIN = join(OUT, 'src', 'cli', 'main.js')

/** The compiled CLI entry point, for tests that spawn it their own way (a shell pipeline, a pty). */
export const CLI_MAIN = MAIN
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
/** Builds of other sources are removed once this old: long enough for a run that started before an edit. */
const STALE_MS = 3600_000

let built: Promise<void> | undefined

/**
 * Compiles the current sources unless a build of them is there. Built into a directory of this
 * process, then renamed into place, so a reader never sees half a build; of two processes that build
 * at once, the second rename fails and its copy is dropped.
 */
export function buildCli (): Promise<void> {
  if (COMPILED) return Promise.resolve()
  built ??= existsSync(MAIN) ? Promise.resolve(markEsm(OUT)) : new Promise((resolve, reject) => {
    const tmp = `${OUT}.${process.pid}.tmp`
    execFile(process.execPath, [TSC, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', tmp, '--sourceMap', 'false', '--inlineSources', 'false', '--declaration', 'false'], { cwd: ROOT }, (err, stdout) => {
      if (err) {
        rmSync(tmp, { recursive: true, force: true })
        reject(new Error(`tsc failed: ${stdout}`))
        return
      }
      try {
        markEsm(tmp)
        renameSync(tmp, OUT)
      } catch {
        rmSync(tmp, { recursive: true, force: true }) // another process put the same build in place first
      }
      pruneStaleBuilds()
      resolve()
    })
  })
  return built
}

/**
 * Says the build is ES modules where its own package.json can be found: tap's TypeScript loader,
 * which runInProcess imports it under, otherwise takes a .js file under node_modules for CommonJS.
 */
function markEsm (dir: string): void {
  const file = join(dir, 'package.json')
  if (!existsSync(file)) writeFileSync(file, '{ "type": "module" }\n')
}

function pruneStaleBuilds (): void {
  for (const name of readdirSync(CACHE)) {
    const path = join(CACHE, name)
    if (!name.startsWith(PREFIX) || path === OUT) continue
    try {
      if (Date.now() - statSync(path).mtimeMs > STALE_MS) rmSync(path, { recursive: true, force: true })
    } catch { /* removed by another process meanwhile */ }
  }
}

export interface CliResult { code: number, stdout: string, stderr: string }

/** A write-only stream that keeps what is written (not a terminal: no status line). */
function capture<S> (): { stream: S, text: () => string } {
  let text = ''
  const stream = {
    isTTY: false,
    write (chunk: string | Uint8Array, ...rest: unknown[]): boolean {
      text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()
      const done = rest.find(r => typeof r === 'function') as (() => void) | undefined
      if (done !== undefined) queueMicrotask(done)
      return true
    }
  }
  return { stream: stream as unknown as S, text: () => text }
}

/**
 * Runs `bttls <args>` in this process: the CLI's main() with its output captured, as a user would see
 * it, and its exit status. A CLI process costs some 0.8 s of CPU to start (its imports) and the tests
 * would start a hundred; a child process stays for what only a process shows: signals, the exit itself
 * (nothing left running), a pty, the environment, a closed stdout, a seeder that waits for Ctrl-C.
 */
export async function runInProcess (args: string[]): Promise<CliResult> {
  // The build's JavaScript, as the processes run it: the sources through tap's TypeScript loader cost
  // ~6 s of CPU to load, the build's modules well under one.
  await buildCli()
  const { main } = await import(pathToFileURL(MAIN).href) as { main: typeof Main }
  const stdout = capture<typeof process.stdout>()
  const stderr = capture<typeof process.stderr>()
  let code: number
  try {
    code = await main(args, { stdout: stdout.stream, stderr: stderr.stream })
  } catch (err) {
    // As bin/bttls.js would report it.
    stderr.stream.write(`bttls: internal error: ${String((err as Error)?.stack ?? err)}\n`)
    code = 1
  }
  return { code, stdout: stdout.text(), stderr: stderr.text() }
}

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
