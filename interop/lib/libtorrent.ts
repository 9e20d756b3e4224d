/** Drives interop/peers/lt_peer.py (python3-libtorrent under Debian's /usr/bin/python3). */
import { join } from 'node:path'
import { DEBIAN_PYTHON } from './clients.js'
import type { RunContext, ScenarioContext, TorrentFile } from './context.js'
import type { JsonEvent, Peer, ProcessGroup } from './processes.js'

export type LtEnc = 'plain' | 'default' | 'rc4'

export interface LtOptions {
  mode: 'seed' | 'leech'
  torrent?: string
  magnet?: string
  save: string
  port: number
  /** libtorrent's SSL-torrent listener: `127.0.0.1:PORTs`. */
  ssl?: { cert: string, key: string }
  enc: LtEnc
  connect?: string[]
  name?: string
  /** Announce to the torrent's trackers (by default libtorrent's peers come only from `connect`). */
  useTracker?: boolean
  /** Never prefer whole pieces from one peer (whole_pieces_threshold 0), so pieces mix blocks from several. */
  splitPieces?: boolean
  /** Leecher gives up after this (default: what is left of the scenario's limit). */
  timeoutSeconds?: number
}

function script (repo: string): string { return join(repo, 'interop', 'peers', 'lt_peer.py') }

export async function ltStart (ctx: ScenarioContext, o: LtOptions): Promise<Peer> {
  const args = [script(ctx.repo), o.mode, '--save', o.save, '--listen', `127.0.0.1:${o.port}${o.ssl ? 's' : ''}`, '--enc', o.enc]
  if (o.torrent) args.push('--torrent', o.torrent)
  if (o.magnet) args.push('--magnet', o.magnet)
  for (const c of o.connect ?? []) args.push('--connect', c)
  if (o.useTracker === true) args.push('--use-tracker')
  if (o.splitPieces === true) args.push('--split-pieces')
  if (o.ssl) args.push('--cert', o.ssl.cert, '--key', o.ssl.key)
  if (o.mode === 'leech') args.push('--timeout', String(o.timeoutSeconds ?? Math.floor(ctx.left() / 1000)))
  const name = o.name ?? `libtorrent ${o.mode}`
  const peer = ctx.procs.spawn(DEBIAN_PYTHON, args, { name, json: true, logPrefix: ctx.log(name.replace(/\W+/g, '-')) })
  await peer.event('listening', 15000, e => e.port === o.port && e.socket !== 'udp' && !String(e.socket).includes('utp'))
  // Until its torrent is added (and, as a seeder, checked) libtorrent closes incoming connections
  // without a word, which a dialing bttls takes for "does not speak TLS/MSE".
  await peer.event('torrent-ready', 15000)
  return peer
}

/** Waits for a libtorrent leecher to report completion and exit (it closes its files first). */
export async function ltFinish (ctx: ScenarioContext, peer: Peer): Promise<JsonEvent> {
  const complete = await peer.event('complete', ctx.left())
  await peer.until('exit', () => !peer.running, 10000)
  return complete
}

export interface LtPeerView { ip: string, port: number, client: string, rc4_encrypted: boolean, plaintext_encrypted: boolean, ssl: boolean, downloaded: number, uploaded: number }

/**
 * libtorrent's view of the transport to its (non-libtorrent) peers: the flags of the last report
 * of each connection that exchanged payload.
 */
export function ltTransport (events: JsonEvent[]): { transport: string, peers: LtPeerView[] } {
  const last = new Map<string, LtPeerView>()
  for (const e of events) {
    if (e.event !== 'peer') continue
    const p = e as unknown as LtPeerView
    last.set(`${p.ip}:${p.port}`, p)
  }
  const peers = [...last.values()].filter(p => p.downloaded > 0 || p.uploaded > 0 || p.client !== '')
  const kinds = [...new Set(peers.map(p => p.ssl ? 'ssl' : p.rc4_encrypted ? 'rc4_encrypted' : p.plaintext_encrypted ? 'plaintext_encrypted (MSE, clear payload)' : 'plain'))]
  return { transport: kinds.join(', ') || 'no peer', peers }
}

/** Makes a torrent with libtorrent (the SSL torrent: bttls create has no `ssl-cert`). */
export async function ltCreate (run: RunContext, procs: ProcessGroup, o: { path: string, out: string, version: TorrentFile['version'], rootCert?: string, logPrefix: string }): Promise<TorrentFile> {
  const args = [script(run.repo), 'create', '--path', o.path, '--out', o.out, '--version', o.version]
  if (o.rootCert) args.push('--root-cert', o.rootCert)
  const peer = procs.spawn(DEBIAN_PYTHON, args, { name: 'libtorrent create', json: true, logPrefix: o.logPrefix })
  const created = await peer.event('created', 30000)
  await peer.exited
  return { path: o.out, version: o.version, infoHashV1: created.infoHashV1 as string | undefined, infoHashV2: created.infoHashV2 as string | undefined }
}
