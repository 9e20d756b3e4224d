/**
 * The built `bttls` CLI (bin/bttls.js, --json) as the harness runs it: torrents made by `create`,
 * seeders and leechers as processes of the run's group, on the addresses and ports the harness
 * chooses. (interop/lib/bttls.ts drives the same CLI for scenarios bound to one address.)
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Peer, ProcessGroup } from '../../interop/lib/processes.js'

export const BTTLS_BIN = fileURLToPath(new URL('../../../bin/bttls.js', import.meta.url))

/** The CLI's policies; `stealth` only where the CLI lists it (run.ts asks `bttls --help`). */
export type Policy = 'require-tls' | 'prefer-tls' | 'allow-plain' | 'stealth'

export interface Created { readonly infoHashV1?: string, readonly infoHashV2?: string }

/** `bttls create <file> -o <out> …`; throws with bttls's own reason when it fails. */
export function bttlsCreate (file: string, out: string, extra: readonly string[] = []): Created {
  const r = spawnSync(process.execPath, [BTTLS_BIN, 'create', file, '-o', out, '--json', ...extra], { encoding: 'utf8', timeout: 60_000 })
  const created = (r.stdout ?? '').split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown>).find(e => e.event === 'created')
  if (r.status !== 0 || created === undefined) throw new Error(`bttls create ${extra.join(' ')} failed: ${(r.stderr ?? '').trim().split('\n').pop() ?? ''}`)
  return { infoHashV1: created.infoHashV1 as string | undefined, infoHashV2: created.infoHashV2 as string | undefined }
}

/**
 * What must never be in cleartext: each infohash as raw bytes, hex and HEX (v2 also cut to the
 * 20 bytes BEP 52 uses on the wire).
 */
export function infohashNeedles (c: Created): Buffer[] {
  const hashes = [c.infoHashV1, c.infoHashV2, c.infoHashV2?.slice(0, 40)].filter((h): h is string => h !== undefined)
  return hashes.flatMap(h => [Buffer.from(h, 'hex'), Buffer.from(h.toLowerCase()), Buffer.from(h.toUpperCase())])
}

/** `bttls ca create --out <dir>` (Full Strict's swarm CA). */
export function bttlsCaCreate (dir: string): void {
  const r = spawnSync(process.execPath, [BTTLS_BIN, 'ca', 'create', '--out', dir, '--json'], { encoding: 'utf8', timeout: 60_000 })
  if (r.status !== 0) throw new Error(`bttls ca create failed: ${(r.stderr ?? '').trim()}`)
}

export interface PeerOptions {
  readonly host: string
  readonly port: number
  readonly policy: Policy
  /** Level flags (--cert/--key for Full Strict). */
  readonly extra?: readonly string[]
  readonly logPrefix: string
}

const common = (o: PeerOptions): string[] => ['--host', o.host, '--port', String(o.port), '--policy', o.policy, '--json', ...(o.extra ?? [])]

/** Starts `bttls seed` and waits until it listens with all its pieces checked. */
export async function bttlsSeed (procs: ProcessGroup, torrent: string, data: string, o: PeerOptions): Promise<Peer> {
  const peer = procs.spawn(process.execPath, [BTTLS_BIN, 'seed', torrent, '--data', data, ...common(o)], { name: 'bttls seed', json: true, logPrefix: o.logPrefix })
  await peer.event('listening', 20_000)
  const t = await peer.event('torrent', 30_000)
  if (t.pieces !== undefined && t.have !== t.pieces) throw new Error(`bttls seed found only ${String(t.have)}/${String(t.pieces)} pieces in ${data}`)
  return peer
}

/** Runs `bttls get` from one peer to completion; throws with its reason unless it exits 0. */
export async function bttlsGet (procs: ProcessGroup, torrent: string, out: string, peer: string, o: PeerOptions & { timeoutMs: number }): Promise<void> {
  const p = procs.spawn(process.execPath, [BTTLS_BIN, 'get', torrent, '--out', out, '--peer', peer, ...common(o)], { name: 'bttls get', json: true, logPrefix: o.logPrefix })
  try {
    await p.until('exit', () => !p.running, o.timeoutMs)
  } finally {
    await procs.stop(p)
  }
  if (p.exitCode !== 0) throw new Error(`bttls get exited ${p.exitCode ?? p.signal}${p.lastWords()}`)
}
