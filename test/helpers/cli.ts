/** Runs the `bttls` CLI from source (tap's TypeScript loader), as a user would, in a child process. */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

export interface CliResult { code: number, stdout: string, stderr: string }

export function runCli (args: string[], options: { timeoutMs?: number, onStdout?: (line: string) => void } = {}): { result: Promise<CliResult>, kill: () => void } {
  const child = spawn(process.execPath, ['--import', '@tapjs/typescript/import', MAIN, ...args], {
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString()
    if (options.onStdout) for (const line of d.toString().split('\n')) if (line) options.onStdout(line)
  })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
  const result = new Promise<CliResult>(resolve => child.once('exit', code => { clearTimeout(timer); resolve({ code: code ?? 1, stdout, stderr }) }))
  return { result, kill: () => child.kill('SIGTERM') }
}
