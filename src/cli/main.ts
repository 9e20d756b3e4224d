/**
 * `bttls`: create, inspect, seed and download torrents over BitTorrent-over-TLS (the bttls BEP).
 * Exit status: 0 success, 1 failure (one line on stderr saying why), 2 usage error.
 */
import { parseArgs } from 'node:util'
import { isPolicy, DEFAULT_POLICY, POLICIES, type Policy } from '../wire/policy.js'
import { createCommand, type CreateArgs } from './commands/create.js'
import { trackerMain, TRACKER_USAGE } from './commands/tracker.js'
import { caMain, CA_USAGE } from './commands/ca.js'
import { releaseMain, RELEASE_USAGE } from './commands/release.js'
import { updateMain, UPDATE_USAGE } from './commands/update.js'
import { readFile, stat } from 'node:fs/promises'
import { decoyTarget, forwardingDecoy } from '../wire/decoy-forward.js'
import { siteDecoy } from '../wire/decoy-site.js'
import type { PeerCommandArgs } from './commands/peer-options.js'
import type { TorrentCredentials } from '../levels/credentials.js'
import { staticCertificateSource } from '../levels/full-strict/certificate-source.js'
import { getCommand } from './commands/get.js'
import { inspectCommand } from './commands/inspect.js'
import { seedCommand } from './commands/seed.js'
import { errorJson, PROCESS_IO, Reporter, type CliIo } from './reporter.js'
import { parsePeer, UsageError } from './torrent-input.js'
import { dhtBootstrapFor } from './dht-default.js'
import { credentialValue, keylogFile, parseRate, parseSize, publisherPrivateKey } from './option-values.js'
import { keygenCommand } from './commands/keygen.js'
import { VERSION } from '../version.js'

export const USAGE = `usage:
  bttls create <path> -o <file.torrent> [--v1|--v2|--hybrid] [--piece-length N|256K|1M] [--tracker URL]...
               [--private] [--comment TEXT]
               [--strict-secret [--passphrase P] | --strict-cert <cert.pem> | --full-strict --ca <ca.pem>]
  bttls seed <file.torrent|magnet>... --data <path> [--port N] [--host ADDR] [--policy P] [--peer host:port]... [--keylog FILE] [--json]
  bttls get <file.torrent|magnet> --out <dir> [--peer host:port]... [--port N] [--host ADDR] [--policy P] [--keylog FILE] [--json] [--seed]
  bttls inspect <file.torrent|magnet> [--json]
  bttls keygen <key.pem>     a publisher's Ed25519 key pair (<key>.pub.pem for create --strict-cert)
  bttls --version
${TRACKER_USAGE.trimEnd()}
${CA_USAGE.trimEnd()}
${RELEASE_USAGE.trimEnd()}
${UPDATE_USAGE.trimEnd()}

  Strict torrents (seed/get): [--secret HEX] [--passphrase P] [--publisher-key key.pem] [--require-publisher]
  Full Strict torrents (seed/get): --cert peer.pem --key peer.key | --passkey TOKEN   [--libtorrent-ssl]
    A Full Strict magnet link (x.bttls=full-strict) names its swarm CA by hash (x.bttls.ca): get takes
    the CA from the link's https tracker, then a certificate with --passkey (or the link's own
    /announce/<passkey>), and the metadata only from peers whose certificates that CA issued.
  Wire image (seed/get): [--decoy URL | --decoy-site DIR] [--tls-cert cert.pem --tls-key key.pem]
  Discovery (seed/get): [--tracker URL]... [--dht-bootstrap host:port]... [--no-dht]
    Torrents are announced to their http(s) and udp trackers and each --tracker (supportbttls=1 over
    http). The DHT is off when --host is a loopback address (the default) and joins the public DHT
    otherwise; --dht-bootstrap replaces its bootstrap nodes, --no-dht turns it off. PEX is always on
    (BEP 11, flag 0x20 = speaks bttls) except for private torrents. Strict torrents are announced
    under their rendezvous hash, never their infohash; Full Strict ones to their secure tracker only.

  --policy     ${POLICIES.join(' | ')} (default ${DEFAULT_POLICY}); require-tls is the
               probe-resistant posture: the port answers everything but bttls as an HTTPS web site
               (prefer-tls and allow-plain also answer MSE and plaintext BitTorrent on it)
  --port       listening port for peers, all transports (default 0: any free port)
  --host       listening address (default 127.0.0.1; 0.0.0.0 to accept peers from the network)
  --keylog     append TLS secrets in SSLKEYLOGFILE format (Wireshark can then decrypt); default
               $SSLKEYLOGFILE when set; the file is created mode 0600
  --capability-file FILE  remember peers reached over bttls across restarts (read at start, written
               at exit, mode 0600; it lists those peers' addresses: see docs/design.md)
  --decoy URL  forward TLS visitors that are not bttls peers to this web server (http://host:port)
  --decoy-site DIR   serve TLS visitors that are not bttls peers the files of DIR (default: one page)
  --tls-cert, --tls-key   the TLS certificate our port presents, e.g. a real site's (PEM; default
               a generated ECDSA certificate, renewed daily)
  --json       one JSON object per line on stdout instead of human output
  --stop-timeout S   get: give up after S seconds without receiving data (default 60)
  --seed       get: keep seeding once the download is verified, until Ctrl-C (SIGINT) or SIGTERM
  seed a.torrent b.torrent ...   several torrents on one port, each announced; --data is then the
               directory that holds each torrent's file or directory
  --max-upload-rate R, --max-download-rate R   seed/get: limit piece data sent / received, over all
               peers, to R bytes per second (500K, 2M; K = 1024; default 0: unlimited)

  --strict-secret      create a Strict torrent with a fresh 256-bit secret (carried by the .torrent
                       and its magnet link); with --passphrase, a passphrase torrent instead (nothing
                       secret is stored; peers need the passphrase)
  --strict-cert FILE   create a Strict publisher torrent naming the Ed25519 key of FILE (certificate
                       or public key, PEM); seeds holding the private key (--publisher-key) prove it
  --secret HEX         the secret of a Strict torrent whose .torrent or magnet does not carry it
  --secret-file F, --passphrase-file F   read it from the first line of F instead (argv shows in ps);
                       or set BTTLS_SECRET / BTTLS_PASSPHRASE
  --publisher-key FILE the publisher's Ed25519 private key (PEM): sign as an authentic publisher peer
  --require-publisher  accept only peers that prove they hold the publisher key
  --full-strict        create a Full Strict torrent: the swarm CA (--ca, PEM) goes into info["ssl-cert"],
                       as in libtorrent's SSL torrents; every peer needs a certificate the CA issued for it
  --cert, --key        this peer's certificate and key for a Full Strict torrent (PEM)
  --passkey TOKEN      get this peer's certificate from the torrent's secure tracker (renewed before
                       it expires); TOKEN comes from "bttls tracker user add"
  --libtorrent-ssl     speak libtorrent's SSL-torrent profile too: accept it on our port, and retry with it
                       when a peer does not speak bttls (SNI = infohash in cleartext, as libtorrent needs)
`

const options = {
  output: { type: 'string', short: 'o' },
  v1: { type: 'boolean' },
  v2: { type: 'boolean' },
  hybrid: { type: 'boolean' },
  'piece-length': { type: 'string' },
  tracker: { type: 'string', multiple: true },
  data: { type: 'string' },
  out: { type: 'string' },
  peer: { type: 'string', multiple: true },
  port: { type: 'string' },
  host: { type: 'string' },
  policy: { type: 'string' },
  keylog: { type: 'string' },
  json: { type: 'boolean' },
  'strict-secret': { type: 'boolean' },
  'strict-cert': { type: 'string' },
  passphrase: { type: 'string' },
  secret: { type: 'string' },
  'publisher-key': { type: 'string' },
  'require-publisher': { type: 'boolean' },
  'full-strict': { type: 'boolean' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'libtorrent-ssl': { type: 'boolean' },
  passkey: { type: 'string' },
  'dht-bootstrap': { type: 'string', multiple: true },
  'no-dht': { type: 'boolean' },
  'capability-file': { type: 'string' },
  decoy: { type: 'string' },
  'decoy-site': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'stop-timeout': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  'secret-file': { type: 'string' },
  'passphrase-file': { type: 'string' },
  private: { type: 'boolean' },
  comment: { type: 'string' },
  'max-upload-rate': { type: 'string' },
  'max-download-rate': { type: 'string' },
  seed: { type: 'boolean' }
} as const

function fullStrictCreate (values: { 'full-strict'?: boolean, ca?: string, 'strict-secret'?: boolean, 'strict-cert'?: string }): string | undefined {
  if (values['full-strict'] !== true) {
    if (values.ca !== undefined) throw new UsageError('--ca goes with --full-strict')
    return undefined
  }
  if (values.ca === undefined) throw new UsageError('--full-strict needs --ca <ca.pem>')
  if (values['strict-secret'] || values['strict-cert'] !== undefined) throw new UsageError('choose one level: --strict-secret, --strict-cert or --full-strict')
  return values.ca
}

function strictCreate (values: { 'strict-secret'?: boolean, 'strict-cert'?: string, passphrase?: string }): CreateArgs['strict'] {
  if (values['strict-secret'] && values['strict-cert'] !== undefined) throw new UsageError('choose one of --strict-secret and --strict-cert')
  if (values.passphrase !== undefined && !values['strict-secret']) throw new UsageError('--passphrase at create goes with --strict-secret')
  if (values['strict-cert'] !== undefined) return { mode: 'publisher', certFile: values['strict-cert'] }
  if (values['strict-secret']) return values.passphrase !== undefined ? { mode: 'passphrase' } : { mode: 'secret' }
  return undefined
}

async function credentialsFrom (given: { secret?: string, passphrase?: string, 'secret-file'?: string, 'passphrase-file'?: string, 'publisher-key'?: string, 'require-publisher'?: boolean, cert?: string, key?: string }): Promise<TorrentCredentials> {
  const values = {
    ...given,
    secret: await credentialValue('secret', given.secret, given['secret-file']),
    passphrase: await credentialValue('passphrase', given.passphrase, given['passphrase-file'])
  }
  if (values.secret !== undefined && !/^[0-9a-f]{64}$/i.test(values.secret)) throw new UsageError('--secret must be 64 hex characters')
  if ((values.cert === undefined) !== (values.key === undefined)) throw new UsageError('--cert and --key go together')
  return {
    ...(values.cert !== undefined ? { certificates: staticCertificateSource({ certPem: await readFile(values.cert, 'utf8'), keyPem: await readFile(values.key!, 'utf8') }) } : {}),
    ...(values.secret !== undefined ? { secret: Buffer.from(values.secret, 'hex') } : {}),
    ...(values.passphrase !== undefined ? { passphrase: values.passphrase } : {}),
    ...(values['publisher-key'] !== undefined ? { publisherPrivateKey: await publisherPrivateKey(values['publisher-key']) } : {}),
    ...(values['require-publisher'] === true ? { requirePublisher: true } : {})
  }
}

/** --decoy / --decoy-site and --tls-cert / --tls-key: what our port shows to everyone who is not a peer. */
async function wireImageFrom (values: { decoy?: string, 'decoy-site'?: string, 'tls-cert'?: string, 'tls-key'?: string }): Promise<Pick<PeerCommandArgs, 'decoy' | 'certificate'>> {
  if (values.decoy !== undefined && values['decoy-site'] !== undefined) throw new UsageError('choose one of --decoy and --decoy-site')
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) throw new UsageError('--tls-cert and --tls-key go together')
  let decoy: PeerCommandArgs['decoy']
  if (values.decoy !== undefined) {
    try { decoyTarget(values.decoy) } catch (err) { throw new UsageError((err as Error).message) }
    decoy = forwardingDecoy(values.decoy)
  } else if (values['decoy-site'] !== undefined) {
    const root = values['decoy-site']
    if (!(await stat(root).then(s => s.isDirectory(), () => false))) throw new UsageError(`--decoy-site ${root}: not a directory`)
    decoy = siteDecoy({ root })
  }
  const certificate = values['tls-cert'] === undefined ? undefined : { cert: await readFile(values['tls-cert'], 'utf8'), key: await readFile(values['tls-key']!, 'utf8') }
  return { ...(decoy ? { decoy } : {}), ...(certificate ? { certificate } : {}) }
}

/** --max-upload-rate / --max-download-rate (absent or 0: unlimited). */
function rateLimitsFrom (values: { 'max-upload-rate'?: string, 'max-download-rate'?: string }): Pick<PeerCommandArgs, 'maxUploadRate' | 'maxDownloadRate'> {
  const up = values['max-upload-rate'] === undefined ? undefined : parseRate('--max-upload-rate', values['max-upload-rate'])
  const down = values['max-download-rate'] === undefined ? undefined : parseRate('--max-download-rate', values['max-download-rate'])
  return { ...(up !== undefined ? { maxUploadRate: up } : {}), ...(down !== undefined ? { maxDownloadRate: down } : {}) }
}

const COMMANDS = ['create', 'seed', 'get', 'inspect', 'keygen']

/** Runs `bttls <argv>`, writing to `io` (default the process's streams); resolves with the exit status. */
export async function main (argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  // The tracker and the CA helper have their own subcommands and flags (see their files).
  if (argv[0] === 'tracker') return await trackerMain(argv.slice(1), io)
  if (argv[0] === 'ca') return await caMain(argv.slice(1), io)
  if (argv[0] === 'release') return await releaseMain(argv.slice(1), io)
  if (argv[0] === 'update') return await updateMain(argv.slice(1), io)
  let json = argv.includes('--json')
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true })
    json = values.json === true
    const reporter = new Reporter(json, io.stdout, io.stderr)
    const [command, target, ...extra] = positionals
    if (values.version === true) { io.stdout.write(`bttls ${VERSION}\n`); return 0 }
    if (values.help || command === 'help') { io.stdout.write(USAGE); return 0 }
    // No command: the usage is the error message, so it goes to stderr with a usage exit status.
    if (command === undefined) { io.stderr.write(USAGE); return 2 }
    if (!COMMANDS.includes(command)) throw new UsageError(`unknown command "${command}"`)
    if (target === undefined) throw new UsageError(`${command} needs a ${command === 'create' ? 'path' : 'torrent file or magnet link'}`)
    // Only seed takes several torrents (served on one port).
    if (extra.length > 0 && command !== 'seed') throw new UsageError(`unexpected argument "${extra[0]}"`)
    if (values.seed === true && command !== 'get') throw new UsageError('--seed is for get (seed always seeds)')
    if (command !== 'seed' && command !== 'get') {
      const rate = (['max-upload-rate', 'max-download-rate'] as const).find(o => values[o] !== undefined)
      if (rate !== undefined) throw new UsageError(`--${rate} is for seed and get`)
    }
    const policy = values.policy ?? DEFAULT_POLICY
    if (!isPolicy(policy)) throw new UsageError(`--policy must be one of ${POLICIES.join(', ')}`)
    const port = values.port === undefined ? 0 : Number(values.port)
    if (!(Number.isInteger(port) && port >= 0 && port < 65536)) throw new UsageError('--port must be 0..65535')
    const host = values.host ?? '127.0.0.1'
    const common = {
      input: target, ...(command === 'seed' && extra.length > 0 ? { moreInputs: extra } : {}), ...(values.seed === true ? { seed: true } : {}), peers: (values.peer ?? []).map(p => parsePeer(p)), port, host, policy: policy as Policy, keylog: keylogFile(values.keylog), capabilityFile: values['capability-file'],
      credentials: command === 'seed' || command === 'get' ? await credentialsFrom(values) : {},
      libtorrentSsl: values['libtorrent-ssl'] === true,
      passkey: values.passkey,
      // Discovery: --tracker adds to the torrent's trackers; the DHT by dht-default.ts.
      trackers: values.tracker ?? [],
      dhtBootstrap: dhtBootstrapFor({
        host, off: values['no-dht'] === true, bootstrap: (values['dht-bootstrap'] ?? []).map(b => { const p = parsePeer(b, '--dht-bootstrap'); return `${p.host}:${p.port}` })
      }) ?? [],
      ...(command === 'seed' || command === 'get' ? await wireImageFrom(values) : {}),
      ...rateLimitsFrom(values)
    }
    switch (command) {
      case 'create': {
        if (!values.output) throw new UsageError('create needs -o <file.torrent>')
        const chosen = (['v1', 'v2', 'hybrid'] as const).filter(v => values[v])
        if (chosen.length > 1) throw new UsageError('choose one of --v1, --v2, --hybrid')
        return await createCommand({
          path: target, output: values.output, version: chosen[0] ?? 'hybrid', versionChosen: chosen.length > 0,
          pieceLength: values['piece-length'] === undefined ? undefined : parseSize('--piece-length', values['piece-length']), trackers: values.tracker ?? [],
          private: values.private === true, ...(values.comment !== undefined ? { comment: values.comment } : {}),
          strict: strictCreate(values),
          caFile: fullStrictCreate(values)
        }, reporter)
      }
      case 'seed':
        if (!values.data) throw new UsageError('seed needs --data <path>')
        return await seedCommand({ ...common, dir: values.data, dirMode: 'data' }, reporter)
      case 'get': {
        if (!values.out) throw new UsageError('get needs --out <dir>')
        const stopTimeoutS = values['stop-timeout'] === undefined ? undefined : Number(values['stop-timeout'])
        if (stopTimeoutS !== undefined && !(stopTimeoutS > 0 && stopTimeoutS <= 86_400)) throw new UsageError('--stop-timeout must be 1..86400 seconds')
        return await getCommand({ ...common, dir: values.out, dirMode: 'out', ...(stopTimeoutS !== undefined ? { stopTimeoutS } : {}) }, reporter)
      }
      case 'inspect':
        return await inspectCommand(target, reporter)
      case 'keygen':
        return await keygenCommand(target, reporter)
      default:
        throw new UsageError(`unknown command "${command}"`)
    }
  } catch (err) {
    const e = errorJson(err)
    // node:util parseArgs words a missing value as "Option '-o, --output <value>' argument missing".
    const missing = /^Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(e.message)
    if (missing !== null) e.message = `${missing[1]} needs a value`
    if (json) io.stdout.write(JSON.stringify({ event: 'error', ...e }) + '\n')
    const usage = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true
    io.stderr.write(`bttls: ${usage ? '' : `${e.name}: `}${e.message}\n`)
    if (usage) io.stderr.write('run "bttls --help" for usage\n')
    return usage ? 2 : 1
  }
}

// A closed stdout (`bttls get --json | head -2`) ends the run: what we report can no longer be read,
// and only a command that finished (a verified download) may exit 0.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err
  if (process.exitCode === undefined) process.stderr.write('bttls: stdout was closed before the command finished\n')
  process.exit(process.exitCode ?? 1)
})

// Run when executed (bin/bttls.js imports this module), not when imported by tests.
if (process.argv[1] !== undefined && /bttls(\.js)?$|cli[/\\]main\.[jt]s$/.test(process.argv[1])) {
  main(process.argv.slice(2)).then(code => { process.exitCode = code }, err => {
    process.stderr.write(`bttls: internal error: ${String(err?.stack ?? err)}\n`)
    process.exitCode = 1
  })
}
