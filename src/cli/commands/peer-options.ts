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
import { dataDirectory, readTorrentInput, UsageError, type TorrentInput } from '../torrent-input.js'
import { CertificateManager } from '../../tracker/certificate-manager.js'
import type { Metainfo } from '../../torrent/metainfo.js'
import { randomBytes } from 'node:crypto'
import type { TransportKind } from '../../wire/peer-link.js'
import type { Decoy } from '../../wire/decoy.js'
import type { CertificateAndKey } from '../../handshake/responder-certificate.js'

export interface PeerCommandArgs {
  input: string
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
}

export interface StartedPeer {
  session: Session
  handle: TorrentHandle
  /** Peers dialed or accepted over the whole run, by transport. */
  peersSeen: Record<TransportKind, number>
  peers: Array<{ host: string, port: number }>
  /** Directory the torrent's files live under. */
  storeDir: string
  /** How to dial the command line's peers. */
  overrides: ConnectOverrides
  /** Stop background work (the certificate manager's renewals) before the session closes. */
  stop: () => Promise<void>
}

export async function startPeer (args: PeerCommandArgs, reporter: Reporter): Promise<StartedPeer> {
  const input = await readTorrentInput(args.input)
  // A missing or wrong credential is reported before anything listens or touches the disk.
  levelFor(input.kind === 'torrent' ? input.metainfo : input.magnet, args.credentials)
  const session = await Session.start({
    port: args.port, host: args.host, policy: args.policy, keylogFile: args.keylog, ...(args.capabilityFile !== undefined ? { capabilityFile: args.capabilityFile } : {}), libtorrentCompat: args.libtorrentSsl === true,
    trackers: { extra: args.trackers ?? [] },
    ...(args.decoy ? { decoy: args.decoy } : {}),
    ...(args.certificate ? { certificate: args.certificate } : {}),
    ...((args.dhtBootstrap ?? []).length > 0 ? { dht: { bootstrap: args.dhtBootstrap! } } : {})
  })
  reportDiscovery(session, reporter)
  try {
    return await addInput(session, input, args, reporter)
  } catch (err) {
    await session.close()
    throw err
  }
}

async function addInput (session: Session, input: TorrentInput, args: PeerCommandArgs, reporter: Reporter): Promise<StartedPeer> {
  const peersSeen: Record<TransportKind, number> = { tls: 0, plain: 0, mse: 0 }
  session.on('link', link => { link.remoteHandshake.then(() => { peersSeen[link.transport]++ }, () => {}) })
  reportSession(session, reporter)
  reporter.event('listening', { port: session.port, host: args.host, policy: args.policy }, `listening on ${args.host}:${session.port} (policy ${args.policy})`)

  let handle!: TorrentHandle
  let storeDir: string
  let manager: CertificateManager | undefined
  const peers = [...args.peers]
  if (input.kind === 'torrent') {
    const m = input.metainfo
    storeDir = args.dirMode === 'data' ? await dataDirectory(args.dir, m.name) : args.dir
    if (args.passkey !== undefined) {
      manager = await startCertificateManager(m, session, args.passkey, reporter)
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
    handle = session.addMagnet(m, storeDir, args.credentials)
    for (const p of m.peers) {
      const match = /^\[?(.+?)\]?:(\d+)$/.exec(p)
      if (match) peers.push({ host: match[1]!, port: Number(match[2]) })
    }
    reporter.event('torrent', { infoHash: m.wireInfoHash.toString('hex'), name: m.name, ...describeLevel(m), magnet: true },
      `magnet ${m.wireInfoHash.toString('hex')}: fetching metadata over BEP 9`)
  }
  return {
    session, handle, peersSeen, peers, storeDir,
    overrides: args.libtorrentSsl === true ? { libtorrentProfile: 'fallback' } : {},
    stop: async () => { await manager?.stop() }
  }
}

/** Full Strict with a passkey: announce a CSR to the torrent's HTTPS tracker for our certificate. */
async function startCertificateManager (m: Metainfo, session: Session, passkey: string, reporter: Reporter): Promise<CertificateManager> {
  if (m.sslCert === undefined) throw new UsageError('--passkey is for Full Strict torrents (with a swarm CA)')
  const trackerUrl = m.trackers.find(t => t.startsWith('https://'))
  if (trackerUrl === undefined) throw new UsageError('this Full Strict torrent names no https:// tracker to get a certificate from')
  const manager = new CertificateManager({
    trackerUrl, passkey, torrent: m, caCertPem: m.sslCert, peerId: randomBytes(20), port: session.port
  })
  manager.on('error', err => reporter.event('tracker-error', { error: errorJson(err) }, `tracker: ${err.name}: ${err.message}`))
  manager.on('certificate', c => reporter.event('certificate', { serial: c.serial, notAfter: c.notAfter.toISOString() },
    `certificate ${c.serial} from the tracker, valid until ${c.notAfter.toISOString()}`))
  await manager.start()
  return manager
}

/** Tracker and DHT activity, and PEX violations, as log events (`discovery`, `pex-error`). */
function reportDiscovery (session: Session, reporter: Reporter): void {
  const dht = session.dhtAddress
  if (dht) reporter.event('dht', { address: dht.address, port: dht.port }, `DHT node on ${dht.address}:${dht.port} (udp)`)
  session.on('discovery', e => {
    const error = 'error' in e && e.error !== undefined ? errorJson(e.error) : undefined
    const where = e.source === 'tracker' && 'tracker' in e ? e.tracker : e.source
    const human = e.kind === 'skipped' ? `${e.source}: not announced: ${e.reason}`
      : e.kind === 'announced' ? `${where}: announced${'peers' in e ? `, ${e.peers} peers (${e.bttlsPeers} flagged bttls)` : ''}${error ? ` (${error.message})` : ''}`
        : e.kind === 'failed' ? `${where}: announce failed: ${e.error.message}; retry in ${e.retryS} s`
          : e.kind === 'warning' ? `dht: ${e.error.message}` : undefined
    reporter.event('discovery', { ...e, ...(error ? { error } : {}) }, human)
  })
  session.on('pex-error', p => reporter.event('pex-error', { address: p.host, port: p.port, error: errorJson(p.error) }, `PEX from ${p.host}:${p.port} refused: ${p.error.message}`))
}
