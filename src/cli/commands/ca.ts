/**
 * `bttls ca create --out DIR [--name CN] [--days N]`: a swarm CA for Full Strict torrents and their tracker.
 * `bttls ca issue <file.torrent> --ca-cert ca.pem --ca-key ca.key --out NAME`: a peer certificate
 * issued out of band (no secure tracker), by the same profile code the tracker issues with.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { caSecondsLeft, createPeerKeyAndCsr, createSwarmCa, issuePeerCertificate, verifyPeerCertificate } from '../../pki/certificate-profile.js'
import { MAX_PEER_CERT_LIFETIME_S } from '../../protocol/constants.js'
import { canonicalSerial } from '../../pki/x509.js'
import { readTorrentInput } from '../torrent-input.js'
import { Reporter, PROCESS_IO, type CliIo } from '../reporter.js'
import { UsageError } from '../torrent-input.js'
import { intOption, runSubcommand } from './subcommand.js'

export const CA_USAGE = `  bttls ca create --out <dir> [--name CN] [--days N] [--json]
               writes <dir>/ca.pem (the swarm CA: give it to \`create --full-strict --ca\`)
               and <dir>/ca.key (its private key, mode 0600: the tracker's, keep it off peers)
  bttls ca issue <file.torrent> --ca-cert <ca.pem> --ca-key <ca.key> --out <name> [--name CN]
               [--lifetime S] [--json]
               writes <name>.pem and <name>.key (mode 0600): a peer certificate of that torrent's
               swarm CA, for seed/get --cert/--key, for peers without a secure tracker (lifetime
               default and at most ${MAX_PEER_CERT_LIFETIME_S} s = 7 days, the profile's cap)
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

export interface CaIssueArgs {
  readonly torrent: string
  readonly caCert: string
  readonly caKey: string
  /** Writes `<out>.pem` and `<out>.key`. */
  readonly out: string
  /** Subject CN; default "bttls peer". */
  readonly name?: string
  /** Default and at most MAX_PEER_CERT_LIFETIME_S, and never past the CA's end. */
  readonly lifetimeSeconds?: number
}

/**
 * Issues a peer certificate for a Full Strict torrent from its swarm CA's key, as a secure tracker
 * would (issuePeerCertificate), and checks it as a peer will (verifyPeerCertificate) before writing.
 */
export async function caIssue (args: CaIssueArgs, reporter: Reporter): Promise<{ certFile: string, keyFile: string }> {
  const input = await readTorrentInput(args.torrent)
  if (input.kind !== 'torrent') throw new UsageError('ca issue needs a .torrent file (a magnet link does not carry the swarm CA)')
  const torrent = input.metainfo
  if (torrent.sslCert === undefined) throw new UsageError(`${args.torrent} is not a Full Strict torrent (it names no swarm CA)`)
  const ca = { certPem: await readFile(args.caCert, 'utf8'), keyPem: await readFile(args.caKey, 'utf8') }
  let caCert: X509Certificate
  try { caCert = new X509Certificate(ca.certPem) } catch { throw new UsageError(`--ca-cert ${args.caCert}: not a PEM certificate`) }
  if (!caCert.raw.equals(new X509Certificate(torrent.sslCert).raw)) throw new UsageError(`--ca-cert ${args.caCert} is not this torrent's swarm CA (its info["ssl-cert"])`)
  let keyMatches: boolean
  try { keyMatches = caCert.checkPrivateKey(createPrivateKey(ca.keyPem)) } catch { throw new UsageError(`--ca-key ${args.caKey}: not a PEM private key`) }
  if (!keyMatches) throw new UsageError(`--ca-key ${args.caKey} is not the private key of --ca-cert`)
  const now = new Date()
  const caLeft = caSecondsLeft(ca.certPem, now)
  if (caLeft <= 0) throw new UsageError(`--ca-cert ${args.caCert}: the swarm CA has expired`)
  const lifetimeSeconds = Math.min(args.lifetimeSeconds ?? MAX_PEER_CERT_LIFETIME_S, caLeft)
  const { keyPem, csrDer } = await createPeerKeyAndCsr(args.name ?? 'bttls peer')
  const issued = await issuePeerCertificate({ ca, csrDer, torrent, lifetimeSeconds, now })
  verifyPeerCertificate({ certDer: new X509Certificate(issued.certPem).raw, caCertPem: torrent.sslCert, torrent })
  const certFile = resolve(`${args.out}.pem`)
  const keyFile = resolve(`${args.out}.key`)
  // 'wx': never overwrite a peer's key or certificate.
  await writeFile(keyFile, keyPem, { mode: 0o600, flag: 'wx' })
  await writeFile(certFile, issued.certPem, { mode: 0o644, flag: 'wx' })
  const serial = canonicalSerial(issued.serial)
  reporter.event('issued', { certFile, keyFile, serial, notAfter: issued.notAfter.toISOString(), torrent: torrent.name },
    `issued certificate ${serial} for ${torrent.name}, valid until ${issued.notAfter.toISOString()}; wrote ${keyFile} (private key, mode 0600)`)
  reporter.line(certFile)
  return { certFile, keyFile }
}

/** `bttls ca ...` (argv after "ca"). */
export function caMain (argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  return runSubcommand('ca', argv, `usage:\n${CA_USAGE}`, async () => {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        out: { type: 'string' }, name: { type: 'string' }, days: { type: 'string' }, json: { type: 'boolean' },
        'ca-cert': { type: 'string' }, 'ca-key': { type: 'string' }, lifetime: { type: 'string' }
      },
      allowPositionals: true,
      strict: true
    })
    const reporter = new Reporter(values.json === true, io.stdout, io.stderr)
    if (positionals[0] === 'issue') {
      if (positionals.length !== 2) throw new UsageError('ca issue needs one <file.torrent>')
      if (values['ca-cert'] === undefined || values['ca-key'] === undefined) throw new UsageError('ca issue needs --ca-cert <ca.pem> and --ca-key <ca.key>')
      if (values.out === undefined) throw new UsageError('ca issue needs --out <name> (writes <name>.pem and <name>.key)')
      await caIssue({
        torrent: positionals[1]!, caCert: values['ca-cert'], caKey: values['ca-key'], out: values.out, name: values.name,
        lifetimeSeconds: intOption(values.lifetime, '--lifetime', 1, MAX_PEER_CERT_LIFETIME_S)
      }, reporter)
      return 0
    }
    if (positionals[0] !== 'create') throw new UsageError(positionals[0] === undefined ? 'ca needs a command: create or issue' : `unknown command "ca ${positionals[0]}" (ca create or ca issue)`)
    if (positionals.length !== 1) throw new UsageError(`unexpected argument "${positionals[1]!}"`)
    if (values.out === undefined) throw new UsageError('ca create needs --out <dir>')
    await caCreate({ out: values.out, name: values.name, days: values.days === undefined ? undefined : Number(values.days) }, reporter)
    return 0
  }, io)
}
