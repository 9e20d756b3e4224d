/** `bttls ca create --out DIR [--name CN] [--days N]`: a swarm CA for Full Strict torrents and their tracker. */
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createSwarmCa } from '../../pki/certificate-profile.js'
import { Reporter } from '../reporter.js'
import { UsageError } from '../torrent-input.js'
import { runSubcommand } from './subcommand.js'

export const CA_USAGE = `  bttls ca create --out <dir> [--name CN] [--days N] [--json]
               writes <dir>/ca.pem (the swarm CA: give it to \`create --full-strict --ca\`)
               and <dir>/ca.key (its private key, mode 0600: the tracker's, keep it off peers)
`

export interface CaCreateArgs {
  readonly out: string
  /** Subject CN; default "bttls swarm CA". */
  readonly name?: string
  /** Validity; default 3650 days. */
  readonly days?: number
}

/** Writes ca.pem and ca.key (0600) under `out`; refuses to overwrite either. */
export async function caCreate (args: CaCreateArgs, reporter: Reporter): Promise<{ certFile: string, keyFile: string }> {
  const days = args.days ?? 3650
  if (!(Number.isInteger(days) && days > 0)) throw new UsageError('--days must be a positive integer')
  const dir = resolve(args.out)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const ca = await createSwarmCa(args.name ?? 'bttls swarm CA', days)
  const certFile = join(dir, 'ca.pem')
  const keyFile = join(dir, 'ca.key')
  // 'wx': an existing CA is never overwritten (its torrents and issued certificates depend on it).
  await writeFile(keyFile, ca.keyPem, { mode: 0o600, flag: 'wx' })
  await writeFile(certFile, ca.certPem, { mode: 0o644, flag: 'wx' })
  reporter.event('ca', { certFile, keyFile }, `wrote ${keyFile} (private key, mode 0600)`)
  reporter.line(certFile)
  return { certFile, keyFile }
}

/** `bttls ca ...` (argv after "ca"). */
export function caMain (argv: string[]): Promise<number> {
  return runSubcommand(argv, `usage:\n${CA_USAGE}`, async () => {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { out: { type: 'string' }, name: { type: 'string' }, days: { type: 'string' }, json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true
    })
    if (positionals[0] !== 'create' || positionals.length !== 1) throw new UsageError('usage: bttls ca create --out <dir> [--name CN]')
    if (values.out === undefined) throw new UsageError('ca create needs --out <dir>')
    await caCreate({ out: values.out, name: values.name, days: values.days === undefined ? undefined : Number(values.days) }, new Reporter(values.json === true))
    return 0
  })
}
