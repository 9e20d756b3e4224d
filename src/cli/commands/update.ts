/**
 * `bttls update`: fetch, verify and install the newest signed release (src/updates/updater.ts), or
 * roll back to the previous one. Every step goes to DIR/update.log; a failure is one line and exit 1.
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { Reporter, PROCESS_IO, type CliIo } from '../reporter.js'
import { parsePeer, UsageError } from '../torrent-input.js'
import { intOption, runSubcommand } from './subcommand.js'
import { rollback, update } from '../../updates/updater.js'
import { parsePin } from '../../updates/spki-pin.js'
import { DEFAULT_SWARM_IDLE_MS } from '../../updates/swarm-fetch.js'
import type { LogEntry } from '../../updates/json-lines-log.js'

export const UPDATE_USAGE = `  bttls update --root <root.json> --repo <https://host:port | dir> --out <dir> [--pin SPKI-SHA256]...
               [--ca <ca.pem>]... [--peer host:port]... [--swarm-timeout S] [--no-swarm] [--file <path>] [--json]
               refresh the TUF metadata, fetch the newest release through its swarm (publisher required;
               HTTPS after S seconds without data, default ${DEFAULT_SWARM_IDLE_MS / 1000}), verify it, install it as <dir>/current;
               --file installs a release obtained by hand once it matches the signed metadata
  bttls update --rollback --out <dir> [--json]
               switch <dir>/current back to the previous release (both are kept)
`

/** --json: every step as it is logged; human output is the outcome alone (the steps are in DIR/update.log). */
function print (reporter: Reporter): (e: LogEntry & { time: string }) => void {
  return e => {
    const { event, time: _time, ...fields } = e
    if (event !== 'error') reporter.event(event, fields)
  }
}

/** `bttls update ...` (argv after "update"). */
export function updateMain (argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  return runSubcommand('update', argv, `usage:\n${UPDATE_USAGE}`, async () => {
    const { values } = parseArgs({
      args: argv,
      options: {
        root: { type: 'string' },
        repo: { type: 'string' },
        out: { type: 'string' },
        pin: { type: 'string', multiple: true },
        ca: { type: 'string', multiple: true },
        peer: { type: 'string', multiple: true },
        'swarm-timeout': { type: 'string' },
        'no-swarm': { type: 'boolean' },
        file: { type: 'string' },
        rollback: { type: 'boolean' },
        json: { type: 'boolean' }
      },
      allowPositionals: false,
      strict: true
    })
    const reporter = new Reporter(values.json === true, io.stdout, io.stderr)
    if (values.out === undefined) throw new UsageError('bttls update needs --out <dir>')
    if (values.rollback === true) {
      const r = await rollback({ dir: values.out, onLog: print(reporter) })
      reporter.line(`rolled back from ${r.from} to ${r.to}`)
      return 0
    }
    if (values.repo === undefined) throw new UsageError('bttls update needs --repo <https URL or directory>')
    const pins = (values.pin ?? []).map(p => {
      const pin = parsePin(p)
      if (pin === undefined) throw new UsageError(`--pin wants a SPKI SHA-256 (base64, sha256//base64 or 64 hex digits), got "${p}"`)
      return pin
    })
    const swarmIdleS = intOption(values['swarm-timeout'], '--swarm-timeout', 1, 3600)
    const outcome = await update({
      dir: values.out,
      repository: values.repo,
      ...(values.root !== undefined ? { trustedRoot: await readFile(values.root) } : {}),
      pins,
      ca: await Promise.all((values.ca ?? []).map(f => readFile(f, 'utf8'))),
      peers: (values.peer ?? []).map(p => parsePeer(p)),
      ...(swarmIdleS !== undefined ? { swarmIdleMs: swarmIdleS * 1000 } : {}),
      swarm: values['no-swarm'] !== true,
      ...(values.file !== undefined ? { file: values.file } : {}),
      onLog: print(reporter)
    })
    reporter.event('outcome', { ...outcome })
    reporter.line(outcome.status === 'installed'
      ? `installed ${outcome.version} (via ${outcome.via}) as ${outcome.path}${outcome.previous !== undefined ? `; previous ${outcome.previous} kept for --rollback` : ''}`
      : outcome.status === 'up-to-date' ? `up to date: ${outcome.version}` : `${outcome.version} not installed: you rolled back from it (a newer release will be installed)`)
    return 0
  }, io)
}
