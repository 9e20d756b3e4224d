/**
 * `bttls release`: a publisher's TUF repository of releases delivered by Strict bttls swarms
 * (src/updates). init and add/rotate need the offline keys directory; serve runs with online keys only.
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { Reporter, PROCESS_IO, type CliIo } from '../reporter.js'
import { UsageError } from '../torrent-input.js'
import { intOption, runSubcommand } from './subcommand.js'
import { addRelease, initRepository, rotateKeys, rotateSeedKey, DEFAULT_EXPIRES_S } from '../../updates/release-repository.js'
import { ReleaseServer, type ReleaseServerOptions } from '../../updates/release-server.js'
import { isRoleName, type RoleName } from '../../updates/role-keys.js'
import type { LogEntry } from '../../updates/json-lines-log.js'

export const RELEASE_USAGE = `  bttls release init --repo <dir> --offline-keys <dir> [--keys ROLE=N]... [--threshold ROLE=N]...
                [--expires ROLE=DAYS]... [--server-name NAME]... [--json]
               a TUF repository: root, targets, snapshot, timestamp keys (ROLE: root|targets|snapshot|timestamp;
               default 1 key each, threshold 1; expiry root ${DEFAULT_EXPIRES_S.root / 86400} d, targets ${DEFAULT_EXPIRES_S.targets / 86400} d,
               snapshot ${DEFAULT_EXPIRES_S.snapshot / 86400} d, timestamp ${DEFAULT_EXPIRES_S.timestamp / 86400} d); root and targets keys go to --offline-keys
  bttls release add <file> --version V --repo <dir> --offline-keys <dir> [--piece-length N] [--json]
               publish a release: a Strict publisher torrent, its length, SHA-256 and magnet signed in targets
  bttls release rotate --role ROLE --repo <dir> --offline-keys <dir> [--keys N] [--threshold N] [--json]
               replace a role's keys (root included) with a new root chained to the old one;
               --role seed: a new seed key, every release torrent remade for it, named in new signed targets
  bttls release serve --repo <dir> [--port N] [--host ADDR] [--peer-port N] [--advertise HOST]
                [--tls-cert cert.pem --tls-key key.pem] [--json]
               HTTPS (metadata, fallback files, seeds.json) and bttls seeds of every release, until SIGINT
`

function roleValues (list: string[] | undefined, flag: string, min: number, max: number): Partial<Record<RoleName, number>> {
  const out: Partial<Record<RoleName, number>> = {}
  for (const item of list ?? []) {
    const [role, value] = item.split('=')
    if (role === undefined || !isRoleName(role)) throw new UsageError(`${flag} wants ROLE=N with ROLE one of root, targets, snapshot, timestamp; got "${item}"`)
    out[role] = intOption(value ?? '', `${flag} ${role}`, min, max)
  }
  return out
}

function print (reporter: Reporter): (e: LogEntry & { time: string }) => void {
  return e => {
    const { event, time: _time, ...fields } = e
    reporter.event(event, fields, `${event} ${JSON.stringify(fields)}`)
  }
}

/** `release serve` up to the point it serves (the command then waits for SIGINT/SIGTERM). */
export async function startReleaseServer (o: Omit<ReleaseServerOptions, 'onLog'>, reporter: Reporter): Promise<ReleaseServer> {
  const server = await ReleaseServer.start({ ...o, onLog: print(reporter) })
  reporter.line(`serving ${server.url} (pin ${server.pin}); seeding on port ${server.session.port}`)
  return server
}

/** `bttls release ...` (argv after "release"). */
export function releaseMain (argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  return runSubcommand('release', argv, `usage:\n${RELEASE_USAGE}`, async () => {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        repo: { type: 'string' },
        'offline-keys': { type: 'string' },
        keys: { type: 'string', multiple: true },
        threshold: { type: 'string', multiple: true },
        expires: { type: 'string', multiple: true },
        'server-name': { type: 'string', multiple: true },
        version: { type: 'string' },
        'piece-length': { type: 'string' },
        role: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'peer-port': { type: 'string' },
        advertise: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        json: { type: 'boolean' }
      },
      allowPositionals: true,
      strict: true
    })
    const reporter = new Reporter(values.json === true, io.stdout, io.stderr)
    const [action, target, ...extra] = positionals
    if (extra.length > 0 || (action !== 'add' && target !== undefined)) throw new UsageError(`unexpected argument "${extra[0] ?? target}"`)
    if (values.repo === undefined) throw new UsageError(`bttls release ${action ?? ''} needs --repo <dir>`)
    const repo = values.repo
    const offline = (): string => {
      if (values['offline-keys'] === undefined) throw new UsageError(`bttls release ${action ?? ''} needs --offline-keys <dir> (the root and targets keys)`)
      return values['offline-keys']
    }
    switch (action) {
      case 'init': {
        const r = await initRepository({
          repo, offlineKeys: offline(),
          keys: roleValues(values.keys, '--keys', 1, 16),
          thresholds: roleValues(values.threshold, '--threshold', 1, 16),
          expires: Object.fromEntries(Object.entries(roleValues(values.expires, '--expires', 1, 3650)).map(([k, d]) => [k, d! * 86400])),
          ...(values['server-name'] !== undefined ? { serverNames: values['server-name'] } : {})
        })
        reporter.event('initialized', { repo, root: r.rootFile, caPin: r.caPin, serverPin: r.serverPin, ca: r.caFile },
          `repository ${repo}: ship ${r.rootFile} with your application; root and targets keys are in ${offline()}: move them offline`)
        reporter.line(`root: ${r.rootFile}\nHTTPS CA: ${r.caFile}\npin (the CA's key, survives server certificate renewals): ${r.caPin}\npin (this server certificate's key): ${r.serverPin}`)
        return 0
      }
      case 'add': {
        if (target === undefined) throw new UsageError('bttls release add needs a file')
        if (values.version === undefined) throw new UsageError('bttls release add needs --version V')
        const r = await addRelease({ repo, offlineKeys: offline(), file: target, version: values.version, pieceLength: intOption(values['piece-length'], '--piece-length', 16384, 2 ** 26) })
        reporter.event('released', { ...r }, `released ${r.path}: ${r.length} bytes, sha256 ${r.sha256}, targets version ${r.targetsVersion}`)
        reporter.line(r.magnet)
        return 0
      }
      case 'rotate': {
        if (values.role === 'seed') {
          if (values.keys !== undefined || values.threshold !== undefined) throw new UsageError('--role seed is one key: no --keys or --threshold')
          const r = await rotateSeedKey({ repo, offlineKeys: offline() })
          reporter.event('rotated', { role: 'seed', ...r }, `rotated seed: targets version ${r.targetsVersion}, new key id ${r.keyIDs.join(', ')}; every release torrent remade`)
          return 0
        }
        if (values.role === undefined || !isRoleName(values.role)) throw new UsageError('bttls release rotate needs --role root|targets|snapshot|timestamp|seed')
        const r = await rotateKeys({ repo, offlineKeys: offline(), role: values.role, keys: intOption(values.keys?.[0], '--keys', 1, 16), threshold: intOption(values.threshold?.[0], '--threshold', 1, 16) })
        reporter.event('rotated', { role: values.role, ...r }, `rotated ${values.role}: root version ${r.rootVersion}, new key ids ${r.keyIDs.join(', ')}`)
        return 0
      }
      case 'serve': {
        if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) throw new UsageError('--tls-cert and --tls-key go together')
        const server = await startReleaseServer({
          repo, host: values.host, port: intOption(values.port, '--port', 0, 65535), peerPort: intOption(values['peer-port'], '--peer-port', 0, 65535), advertiseHost: values.advertise,
          ...(values['tls-cert'] !== undefined ? { certificate: { cert: await readFile(values['tls-cert'], 'utf8'), key: await readFile(values['tls-key']!, 'utf8') } } : {})
        }, reporter)
        await new Promise<void>(resolve => {
          process.once('SIGINT', resolve)
          process.once('SIGTERM', resolve)
        })
        await server.close()
        return 0
      }
      default:
        throw new UsageError(`unknown release command "${action ?? ''}"`)
    }
  }, io)
}
