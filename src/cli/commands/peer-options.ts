/** Options shared by `seed` and `get`, and the session they start. */
import { Session, type ConnectOverrides, type TorrentHandle } from '../../session/session.js'
import type { Policy } from '../../wire/policy.js'
import { describeLevel, levelFor } from '../../session/torrent-level.js'
import type { TorrentCredentials } from '../../levels/credentials.js'

function describe (m: Parameters<typeof describeLevel>[0]): string {
  const d = describeLevel(m)
  return d.mode === undefined ? d.level : `${d.level} (${d.mode})`
}
import { errorJson, reportSession, type Reporter } from '../reporter.js'
import { endpoint } from '../dial-reason.js'
import { dataDirectory, readTorrentInput, UsageError, type TorrentInput } from '../torrent-input.js'
import { CertificateManager } from '../../tracker/client/certificate-manager.js'
import type { MagnetLink } from '../../torrent/metainfo.js'
import { secureTrackerOf } from '../../torrent/magnet.js'
import { fetchSwarmCa } from '../../tracker/client/swarm-ca.js'
import { createPrivateKey, randomBytes, X509Certificate, type KeyObject } from 'node:crypto'
import { verifyPeerCertificate, type TorrentBinding } from '../../pki/certificate-profile.js'
import { MissingCredentialError } from '../../errors.js'
import type { TransportKind } from '../../wire/peer-link.js'
import type { Decoy } from '../../wire/decoy.js'
import type { CertificateAndKey } from '../../pki/responder-certificate.js'
import { RateLimiter } from '../../swarm/rate-limiter.js'

export interface PeerCommandArgs {
  input: string
  /** seed: more torrents served by the same session, on the same port (each with its own announce). */
  moreInputs?: string[]
  /** get --seed: keep seeding after the download until SIGINT/SIGTERM. */
  seed?: boolean
  /** `--data` (seed: the torrent's file/dir or its parent) or `--out` (get: the parent directory). */
  dir: string
  dirMode: 'data' | 'out'
  peers: Array<{ host: string, port: number }>
  port: number
  host: string
  policy: Policy
  keylog?: string
  /** --capability-file: the capability memory across restarts. */
  capabilityFile?: string
  /** Strict credentials from --secret/--passphrase/--publisher-key/--require-publisher, Full Strict --cert/--key. */
  credentials: TorrentCredentials
  /** --libtorrent-ssl: fall back to libtorrent's SSL-torrent profile for peers that do not speak bttls. */
  libtorrentSsl?: boolean
  /** --passkey: get (and renew) this peer's Full Strict certificate from the torrent's secure tracker. */
  passkey?: string
  /** --tracker: announce to these besides the torrent's own trackers. */
  trackers?: string[]
  /** Bootstrap nodes of our DHT node, host:port, as dht-default.ts chose them (none: no DHT). */
  dhtBootstrap?: string[]
  /** --decoy / --decoy-site: who gets TLS visitors that are not our peers (default the built-in page). */
  decoy?: Decoy
  /** --tls-cert / --tls-key: the certificate our port presents. */
  certificate?: CertificateAndKey
  /** get --stop-timeout: give up after this many seconds without data (default 60). */
  stopTimeoutS?: number
  /** --max-upload-rate / --max-download-rate: bytes per second of piece data over all peers (absent: unlimited). */
  maxUploadRate?: number
  maxDownloadRate?: number
}

/** One torrent of a session. */
export interface StartedTorrent {
  handle: TorrentHandle
  /** --peer peers, and those a magnet names. */
  peers: Array<{ host: string, port: number }>
  /** Directory the torrent's files live under. */
  storeDir: string
  /** The torrent's (or magnet's) own announce URLs. */
  trackers: readonly string[]
  /** Stop background work (the certificate manager's renewals) before the session closes. */
  stop: () => Promise<void>
}

export interface StartedPeer extends StartedTorrent {
  session: Session
  /** Peers dialed or accepted over the whole run, by transport. */
  peersSeen: Record<TransportKind, number>
  /** How to dial the command line's peers. */
  overrides: ConnectOverrides
}

/** `args.input` in a new session. */
export async function startPeer (args: PeerCommandArgs, reporter: Reporter): Promise<StartedPeer> {
  const { torrents: [torrent], ...rest } = await startPeers(args, reporter)
  return { ...rest, ...torrent! }
}

/** `args.input` and `args.moreInputs` in one session: one port, one announce per torrent. */
export async function startPeers (args: PeerCommandArgs, reporter: Reporter): Promise<{ session: Session, torrents: StartedTorrent[], peersSeen: Record<TransportKind, number>, overrides: ConnectOverrides }> {
  const inputs: TorrentInput[] = []
  /** Full Strict links: the swarm CA each names, from its secure tracker. */
  const swarmCas = new Map<TorrentInput, string>()
  for (const name of [args.input, ...(args.moreInputs ?? [])]) {
    const input = await readTorrentInput(name)
    // A missing or wrong credential is reported before anything listens or touches the disk.
    const source = input.kind === 'torrent' ? input.metainfo : input.magnet
    unusedCredentials(describeLevel(source).level, args)
    if (input.kind === 'torrent' && input.metainfo.sslCert !== undefined) checkFullStrictCredential(input.metainfo, input.metainfo.sslCert, args)
    if (isFullStrictLink(input)) swarmCas.set(input, await linkedSwarmCa(input.magnet, args, reporter))
    levelFor(source, { ...args.credentials, ...(swarmCas.has(input) ? { swarmCa: swarmCas.get(input)! } : {}) })
    if (inputs.some(i => wireInfoHash(i).equals(wireInfoHash(input)))) throw new UsageError(`${name}: the same torrent twice`)
    inputs.push(input)
  }
  const session = await Session.start({
    port: args.port, host: args.host, policy: args.policy, keylogFile: args.keylog, ...(args.capabilityFile !== undefined ? { capabilityFile: args.capabilityFile } : {}), libtorrentCompat: args.libtorrentSsl === true,
    trackers: { extra: args.trackers ?? [] },
    ...(args.decoy ? { decoy: args.decoy } : {}),
    ...(args.certificate ? { certificate: args.certificate } : {}),
    ...((args.dhtBootstrap ?? []).length > 0 ? { dht: { bootstrap: args.dhtBootstrap! } } : {}),
    // One limiter per direction for the whole session: every swarm, and so every link, shares it.
    swarm: {
      rateLimits: {
        ...(args.maxUploadRate !== undefined ? { upload: new RateLimiter(args.maxUploadRate) } : {}),
        ...(args.maxDownloadRate !== undefined ? { download: new RateLimiter(args.maxDownloadRate) } : {})
      }
    }
  })
  reportDiscovery(session, reporter, args.passkey !== undefined || inputs.some(isFullStrictLink))
  const peersSeen: Record<TransportKind, number> = { tls: 0, plain: 0, mse: 0 }
  session.on('link', link => { link.remoteHandshake.then(() => { peersSeen[link.transport]++ }, () => {}) })
  reportSession(session, reporter)
  reporter.event('listening', { port: session.port, host: args.host, policy: args.policy }, `listening on ${endpoint(args.host, session.port)} (policy ${args.policy})`)
  const torrents: StartedTorrent[] = []
  try {
    for (const input of inputs) torrents.push(await addInput(session, input, swarmCas.get(input), args, reporter))
  } catch (err) {
    for (const t of torrents) await t.stop()
    await session.close()
    throw err
  }
  return { session, torrents, peersSeen, overrides: args.libtorrentSsl === true ? { libtorrentProfile: 'fallback' } : {} }
}

function wireInfoHash (input: TorrentInput): Buffer {
  return input.kind === 'torrent' ? input.metainfo.wireInfoHash : input.magnet.wireInfoHash
}

async function addInput (session: Session, input: TorrentInput, swarmCa: string | undefined, args: PeerCommandArgs, reporter: Reporter): Promise<StartedTorrent> {

  let handle!: TorrentHandle
  let storeDir: string
  let manager: CertificateManager | undefined
  const peers = [...args.peers]
  if (input.kind === 'torrent') {
    const m = input.metainfo
    storeDir = args.dirMode === 'data' ? await dataDirectory(args.dir, m.name) : args.dir
    if (args.passkey !== undefined) {
      if (m.sslCert === undefined) throw new UsageError('--passkey is for Full Strict torrents (with a swarm CA)')
      const trackerUrl = secureTrackerOf(m)
      if (trackerUrl === undefined) throw new UsageError('this Full Strict torrent names no https:// tracker to get a certificate from')
      manager = await startCertificateManager(m, m.sslCert, trackerUrl, args.passkey, session, reporter)
      manager.on('peers', list => session.addPeers(handle, list.map(p => ({ host: p.host, port: p.port, source: 'tracker' as const }))))
    }
    handle = await session.addTorrent(m, storeDir, manager ? { ...args.credentials, certificates: manager } : args.credentials)
    if (manager) session.addPeers(handle, manager.peers().map(p => ({ host: p.host, port: p.port, source: 'tracker' as const })))
    reporter.event('torrent', {
      infoHash: m.wireInfoHash.toString('hex'), infoHashV1: m.infoHashV1?.toString('hex'), infoHashV2: m.infoHashV2?.toString('hex'),
      name: m.name, version: m.version, ...describeLevel(m), pieces: m.pieceCount, have: handle.swarm.stats().piecesDone
    }, `${m.name}: ${m.version} torrent, level ${describe(m)}, ${handle.swarm.stats().piecesDone}/${m.pieceCount} pieces on disk`)
  } else {
    const m = input.magnet
    storeDir = args.dirMode === 'data' ? await dataDirectory(args.dir, m.name) : args.dir
    let credentials = args.credentials
    if (swarmCa !== undefined) {
      ({ credentials, manager } = await fullStrictLinkCredentials(m, swarmCa, session, args, reporter))
      manager?.on('peers', list => session.addPeers(handle, list.map(p => ({ host: p.host, port: p.port, source: 'tracker' as const }))))
    }
    handle = session.addMagnet(m, storeDir, credentials)
    if (manager) session.addPeers(handle, manager.peers().map(p => ({ host: p.host, port: p.port, source: 'tracker' as const })))
    for (const p of m.peers) {
      const match = /^\[?(.+?)\]?:(\d+)$/.exec(p)
      if (match) peers.push({ host: match[1]!, port: Number(match[2]) })
    }
    reporter.event('torrent', { infoHash: m.wireInfoHash.toString('hex'), name: m.name, ...describeLevel(m), magnet: true },
      `magnet ${m.wireInfoHash.toString('hex')}: fetching metadata over BEP 9`)
  }
  return {
    handle, peers, storeDir, trackers: input.kind === 'torrent' ? input.metainfo.trackers : input.magnet.trackers,
    stop: async () => { await manager?.stop() }
  }
}

/**
 * Credentials for another level are a mistake the user must hear of: a Basic torrent given --secret
 * would otherwise download from any peer while the user believes the swarm is closed.
 */
function unusedCredentials (level: 'basic' | 'strict' | 'full-strict', args: PeerCommandArgs): void {
  const c = args.credentials
  const given = [
    ...(c.secret !== undefined ? ['--secret'] : []), ...(c.passphrase !== undefined ? ['--passphrase'] : []),
    ...(c.publisherPrivateKey !== undefined ? ['--publisher-key'] : []), ...(c.requirePublisher === true ? ['--require-publisher'] : [])
  ]
  if (level !== 'strict' && given.length > 0) throw new UsageError(`${given.join(', ')}: for Strict torrents, and this torrent is ${level === 'basic' ? 'Basic (anyone may join its swarm)' : 'Full Strict (give --cert/--key or --passkey)'}`)
  if (level !== 'full-strict' && (c.certificates !== undefined || args.passkey !== undefined)) throw new UsageError(`${c.certificates !== undefined ? '--cert/--key' : '--passkey'}: for Full Strict torrents, and this torrent is ${level === 'basic' ? 'Basic' : 'Strict'}`)
}

/**
 * A Full Strict peer without a certificate its swarm accepts can only fail every handshake (and
 * retry for --stop-timeout): say what is wrong before anything listens. --cert is checked as a
 * peer checks it (the torrent's CA, validity, lifetime cap, torrent binding) and against --key.
 */
function checkFullStrictCredential (m: TorrentBinding, caCertPem: string, args: PeerCommandArgs): void {
  if (args.passkey !== undefined) return
  const credential = args.credentials.certificates?.current()
  if (credential === undefined) {
    throw new MissingCredentialError('this Full Strict torrent needs a certificate from its CA: --cert peer.pem --key peer.key, or --passkey TOKEN for its secure tracker')
  }
  let cert: X509Certificate
  try { cert = new X509Certificate(credential.certPem) } catch { throw new UsageError('--cert: not a PEM certificate') }
  try {
    verifyPeerCertificate({ certDer: cert.raw, caCertPem, torrent: m, binding: args.libtorrentSsl === true ? 'libtorrent' : 'bttls' })
  } catch (err) {
    const e = err as Error
    e.message = `--cert: ${e.message.replace(/^the peer certificate/, 'the certificate')}; peers would refuse it`
    throw e
  }
  let key: KeyObject
  try { key = createPrivateKey(credential.keyPem) } catch { throw new UsageError('--key: not a PEM private key') }
  if (!cert.checkPrivateKey(key)) throw new UsageError('--key is not the private key of --cert')
}

function isFullStrictLink (input: TorrentInput): input is { kind: 'magnet', magnet: MagnetLink & { caFingerprint: Buffer } } {
  return input.kind === 'magnet' && input.magnet.caFingerprint !== undefined
}

/**
 * A Full Strict magnet link (BEP: "Full Strict magnet links"): the swarm CA from its secure tracker's
 * TLS handshake, matched by the link's hash, before anything listens; --cert/--key (without
 * --passkey) are checked against it then.
 */
async function linkedSwarmCa (m: MagnetLink, args: PeerCommandArgs, reporter: Reporter): Promise<string> {
  const trackerUrl = secureTrackerOf(m)! // parseMagnet refuses a Full Strict link without one
  const swarmCa = await fetchSwarmCa(trackerUrl, m.caFingerprint!)
  const ca = new X509Certificate(swarmCa)
  reporter.event('swarm-ca', { fingerprint: m.caFingerprint!.toString('hex'), subject: ca.subject, tracker: new URL(trackerUrl).origin },
    `swarm CA "${ca.subject.replace(/\n/g, ', ')}" from ${new URL(trackerUrl).origin}, as x.bttls.ca names it`)
  if (args.passkey === undefined && args.credentials.certificates !== undefined) checkFullStrictCredential(bindingOf(m), swarmCa, args)
  return swarmCa
}

function bindingOf (m: MagnetLink): TorrentBinding {
  return { name: m.name ?? '', infoHashV1: m.infoHashV1, infoHashV2: m.infoHashV2 }
}

/**
 * Our certificate for a Full Strict link: from its secure tracker as for a .torrent (--passkey, or a
 * passkey in the link's tracker URL), or --cert/--key.
 */
async function fullStrictLinkCredentials (m: MagnetLink, swarmCa: string, session: Session, args: PeerCommandArgs, reporter: Reporter): Promise<{ credentials: TorrentCredentials, manager?: CertificateManager }> {
  if (args.passkey === undefined && args.credentials.certificates !== undefined) return { credentials: { ...args.credentials, swarmCa } }
  const manager = await startCertificateManager(bindingOf(m), swarmCa, secureTrackerOf(m)!, args.passkey, session, reporter)
  return { credentials: { ...args.credentials, certificates: manager, swarmCa }, manager }
}

/** Full Strict with a passkey: announce a CSR to the torrent's HTTPS tracker for our certificate. */
async function startCertificateManager (torrent: TorrentBinding, caCertPem: string, trackerUrl: string, passkey: string | undefined, session: Session, reporter: Reporter): Promise<CertificateManager> {
  const manager = new CertificateManager({
    trackerUrl, ...(passkey !== undefined ? { passkey } : {}), torrent, caCertPem, peerId: randomBytes(20), port: session.port
  })
  manager.on('error', err => reporter.event('tracker-error', { error: errorJson(err) }, `tracker: ${err.name}: ${err.message}`))
  manager.on('certificate', c => reporter.event('certificate', { serial: c.serial, notAfter: c.notAfter.toISOString() },
    `certificate ${c.serial} from the tracker, valid until ${c.notAfter.toISOString()}`))
  await manager.start()
  return manager
}

/** Tracker and DHT activity, and PEX violations, as log events (`discovery`, `pex-error`). */
function reportDiscovery (session: Session, reporter: Reporter, passkey: boolean): void {
  const dht = session.dhtAddress
  if (dht) reporter.event('dht', { address: dht.address, port: dht.port }, `DHT node on ${dht.address}:${dht.port} (udp)`)
  session.on('discovery', e => {
    const error = 'error' in e && e.error !== undefined ? errorJson(e.error) : undefined
    const where = e.source === 'tracker' && 'tracker' in e ? e.tracker : e.source
    // With --passkey, a Full Strict torrent is announced to its secure tracker by the certificate
    // manager ('certificate' and 'tracker-error' lines), not by discovery: its "skipped" is no news.
    const human = e.kind === 'skipped' ? (passkey && e.source === 'tracker' ? undefined : `${e.source}: not announced: ${e.reason}`)
      : e.kind === 'announced' && error !== undefined ? `${where}: not announced: ${error.message}`
        : e.kind === 'announced' ? `${where}: announced${'peers' in e ? `, ${e.peers} peers (${e.bttlsPeers} flagged bttls)` : ''}`
        : e.kind === 'failed' ? `${where}: announce failed: ${e.error.message}; retry in ${e.retryS} s`
          : e.kind === 'warning' ? `dht: ${e.error.message}` : undefined
    reporter.event('discovery', { ...e, ...(error ? { error } : {}) }, human)
  })
  session.on('pex-error', p => reporter.event('pex-error', { address: p.host, port: p.port, error: errorJson(p.error) }, `PEX from ${p.host}:${p.port} refused: ${p.error.message}`))
}
