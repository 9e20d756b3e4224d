/**
 * `bttls tracker`: the secure tracker for Full Strict torrents (src/tracker) and its admin commands.
 *   bttls tracker --db FILE --ca-cert ca.pem --ca-key ca.key [--torrent X.torrent]... [--port N] [--host ADDR]
 *                 [--lifetime S] [--interval S] [--json]
 *   bttls tracker user add|revoke NAME --db FILE      bttls tracker user list --db FILE
 *   bttls tracker torrent add X.torrent --db FILE     bttls tracker torrent list --db FILE
 * The db is created on first use by any of them.
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { Reporter, PROCESS_IO, type CliIo } from '../reporter.js'
import { UsageError } from '../torrent-input.js'
import { caFingerprint } from '../../pki/certificate-profile.js'
import { parseTorrent } from '../../torrent/parse-torrent.js'
import { TrackerDb, unixNow, type RegisteredTorrent, type User } from '../../tracker/server/db.js'
import { TrackerConfigError } from '../../tracker/errors.js'
import { DEFAULT_INTERVAL_S, DEFAULT_LIFETIME_S, TrackerServer } from '../../tracker/server/server.js'
import { intOption, runSubcommand } from './subcommand.js'

export const TRACKER_USAGE = `  bttls tracker --db <file> --ca-cert <ca.pem> --ca-key <ca.key> [--torrent <file.torrent>]...
                [--port N] [--host ADDR] [--lifetime SECONDS] [--interval SECONDS] [--json]
               HTTPS announce endpoint for Full Strict torrents: passkey per user, peer certificates
               issued from a CSR (default lifetime ${DEFAULT_LIFETIME_S} s, at most 7 days), revoked serials
  bttls tracker user add <name> --db <file>       prints the user's passkey (shown once)
  bttls tracker user revoke <name> --db <file>
  bttls tracker user list --db <file>
  bttls tracker torrent add <file.torrent> --db <file>
  bttls tracker torrent list --db <file>
`

export interface TrackerArgs {
  readonly db: string
  readonly caCert: string
  readonly caKey: string
  readonly torrents?: readonly string[]
  readonly port?: number
  readonly host?: string
  readonly lifetimeSeconds?: number
  readonly intervalSeconds?: number
}

export interface RunningTracker {
  readonly server: TrackerServer
  readonly db: TrackerDb
  close (): Promise<void>
}

/** Opens (or creates) the db, registers the torrents, listens; reports 'listening' with the port. */
export async function startTracker (args: TrackerArgs, reporter: Reporter): Promise<RunningTracker> {
  const ca = { certPem: await readFile(args.caCert, 'utf8'), keyPem: await readFile(args.caKey, 'utf8') }
  const torrents = await Promise.all((args.torrents ?? []).map(async file => parseTorrent(await readFile(file))))
  const db = TrackerDb.open(args.db)
  let server: TrackerServer
  try {
    server = await TrackerServer.start({
      db, ca, torrents, port: args.port, host: args.host, lifetimeSeconds: args.lifetimeSeconds, intervalSeconds: args.intervalSeconds
    })
  } catch (err) {
    db.close()
    throw err
  }
  server.on('issued', e => reporter.event('issued', { user: e.user, infoHash: e.infoHash, serial: e.serial, notAfter: e.notAfter.toISOString(), peer: e.peerAddress },
    `issued ${e.serial} to ${e.user} (${e.peerAddress}) for ${e.infoHash}, valid until ${e.notAfter.toISOString()}`))
  server.on('rejected', e => reporter.event('rejected', { code: e.code, message: e.message, address: e.address }, `rejected ${e.address}: ${e.message}`))
  for (const t of db.listTorrents()) {
    reporter.event('torrent', { name: t.name, infoHashV1: t.infoHashV1, infoHashV2: t.infoHashV2 }, `serving ${t.name} (${t.infoHashV1 ?? t.infoHashV2})`)
  }
  reporter.event('listening', { port: server.port, host: args.host ?? '127.0.0.1', url: server.announceUrl, db: args.db },
    `tracker listening on ${server.announceUrl} (port ${server.port}); announce URL for a user: ${server.announceUrl}/<passkey>`)
  return { server, db, close: async () => { await server.close(); db.close() } }
}

/** Runs the tracker until SIGINT/SIGTERM. */
export async function trackerCommand (args: TrackerArgs, reporter: Reporter): Promise<number> {
  const running = await startTracker(args, reporter)
  await new Promise<void>(resolve => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await running.close()
  return 0
}

function withDb<T> (file: string, fn: (db: TrackerDb) => T): T {
  const db = TrackerDb.open(file)
  try { return fn(db) } finally { db.close() }
}

/** Adds a user; returns (and prints on stdout, alone on its line) the token, which is not stored. */
export function trackerUserAdd (args: { db: string, name: string }, reporter: Reporter): string {
  const token = withDb(args.db, db => db.addUser(args.name))
  reporter.event('user-added', { name: args.name, token }, `passkey for "${args.name}" (shown once, not stored: keep it now):`)
  reporter.line(token)
  return token
}

/** Revokes a user; returns the serials now published as revoked (unexpired certificates of that user). */
export function trackerUserRevoke (args: { db: string, name: string }, reporter: Reporter): { user: User, serials: string[] } {
  return withDb(args.db, db => {
    const user = db.revokeUser(args.name)
    const now = unixNow()
    const serials = db.issuances(args.name).filter(i => i.notAfter > now).map(i => i.serial)
    reporter.event('user-revoked', { name: user.name, revokedAt: user.revokedAt, serials },
      `revoked "${user.name}"; ${serials.length} unexpired certificate(s) now listed as revoked`)
    return { user, serials }
  })
}

export function trackerUserList (args: { db: string }, reporter: Reporter): Array<User & { issued: number }> {
  return withDb(args.db, db => {
    const counts = new Map<string, number>()
    for (const i of db.issuances()) counts.set(i.user, (counts.get(i.user) ?? 0) + 1)
    const users = db.listUsers().map(u => ({ ...u, issued: counts.get(u.name) ?? 0 }))
    const iso = (s: number | undefined) => s === undefined ? '-' : new Date(s * 1000).toISOString()
    reporter.event('users', { users: users.map(u => ({ name: u.name, created: iso(u.createdAt), revoked: u.revokedAt === undefined ? null : iso(u.revokedAt), issued: u.issued })) })
    for (const u of users) reporter.line(`${u.name}\tcreated ${iso(u.createdAt)}\trevoked ${iso(u.revokedAt)}\t${u.issued} certificate(s)`)
    return users
  })
}

/** Registers a Full Strict torrent with the tracker's db (served from the next start, or at once by a running tracker's next announce). */
export async function trackerTorrentAdd (args: { db: string, torrent: string }, reporter: Reporter): Promise<RegisteredTorrent> {
  const m = parseTorrent(await readFile(args.torrent))
  if (m.sslCert === undefined) throw new TrackerConfigError(`${args.torrent} is not a Full Strict torrent (no ssl-cert in its info dict)`)
  const t = withDb(args.db, db => db.addTorrent({ name: m.name, infoHashV1: m.infoHashV1, infoHashV2: m.infoHashV2, caFingerprint: caFingerprint(m.sslCert!) }))
  reporter.event('torrent-added', { name: t.name, infoHashV1: t.infoHashV1, infoHashV2: t.infoHashV2 }, `registered ${t.name}`)
  return t
}

export function trackerTorrentList (args: { db: string }, reporter: Reporter): RegisteredTorrent[] {
  return withDb(args.db, db => {
    const torrents = db.listTorrents()
    reporter.event('torrents', { torrents })
    for (const t of torrents) reporter.line(`${t.name}\t${t.infoHashV1 ?? '-'}\t${t.infoHashV2 ?? '-'}`)
    return torrents
  })
}

/** `bttls tracker ...` (argv after "tracker"). */
export function trackerMain (argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  return runSubcommand('tracker', argv, `usage:\n${TRACKER_USAGE}`, async () => {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        db: { type: 'string' },
        'ca-cert': { type: 'string' },
        'ca-key': { type: 'string' },
        torrent: { type: 'string', multiple: true },
        port: { type: 'string' },
        host: { type: 'string' },
        lifetime: { type: 'string' },
        interval: { type: 'string' },
        json: { type: 'boolean' }
      },
      allowPositionals: true,
      strict: true
    })
    const reporter = new Reporter(values.json === true, io.stdout, io.stderr)
    if (values.db === undefined) throw new UsageError('bttls tracker needs --db <file>')
    const db = values.db
    const [group, action, target, ...extra] = positionals
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`)
    if (group === undefined) {
      if (values['ca-cert'] === undefined || values['ca-key'] === undefined) throw new UsageError('bttls tracker needs --ca-cert <ca.pem> and --ca-key <ca.key>')
      return await trackerCommand({
        db,
        caCert: values['ca-cert'],
        caKey: values['ca-key'],
        torrents: values.torrent ?? [],
        port: intOption(values.port, '--port', 0, 65535),
        host: values.host,
        lifetimeSeconds: intOption(values.lifetime, '--lifetime', 1, 7 * 86400),
        intervalSeconds: intOption(values.interval, '--interval', 1, 86400) ?? DEFAULT_INTERVAL_S
      }, reporter)
    }
    const needs = (what: string): string => {
      if (target === undefined) throw new UsageError(`bttls tracker ${group} ${action} needs ${what}`)
      return target
    }
    if ((action === 'list') && target !== undefined) throw new UsageError(`unexpected argument "${target}"`)
    switch (`${group} ${action ?? ''}`) {
      case 'user add': trackerUserAdd({ db, name: needs('a user name') }, reporter); return 0
      case 'user revoke': trackerUserRevoke({ db, name: needs('a user name') }, reporter); return 0
      case 'user list': trackerUserList({ db }, reporter); return 0
      case 'torrent add': await trackerTorrentAdd({ db, torrent: needs('a .torrent file') }, reporter); return 0
      case 'torrent list': trackerTorrentList({ db }, reporter); return 0
      default: throw new UsageError(`unknown tracker command "${positionals.join(' ')}"`)
    }
  }, io)
}
