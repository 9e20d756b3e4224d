/**
 * Runs a CLI subcommand that parses its own arguments (`bttls tracker ...`, `bttls ca ...`) with the
 * same exit status and error reporting as main.ts: 0 success, 1 failure, 2 usage error. A failure is
 * one `bttls:` line on stderr; a usage error adds the hint line main.ts adds, not the whole usage,
 * which `bttls <command> --help` prints on stdout.
 */
import { errorJson, PROCESS_IO, type CliIo } from '../reporter.js'
import { UsageError } from '../torrent-input.js'

export async function runSubcommand (command: string, argv: readonly string[], usage: string, body: () => Promise<number>, io: CliIo = PROCESS_IO): Promise<number> {
  const json = argv.includes('--json')
  if (argv.includes('--help') || argv.includes('-h')) { io.stdout.write(usage); return 0 }
  try {
    return await body()
  } catch (err) {
    const e = errorJson(err)
    if (json) io.stdout.write(JSON.stringify({ event: 'error', ...e }) + '\n')
    const isUsage = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true
    io.stderr.write(`bttls: ${isUsage ? '' : `${e.name}: `}${e.message}\n`)
    if (isUsage) io.stderr.write(`run "bttls ${command} --help" for usage\n`)
    return isUsage ? 2 : 1
  }
}

/** An integer flag within bounds, or a usage error naming the flag. */
export function intOption (value: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!(Number.isInteger(n) && n >= min && n <= max)) throw new UsageError(`${flag} must be an integer ${min}..${max}`)
  return n
}
