/** What a scenario gets from the run (payload, torrents, tracker, clients) and what it reports back. */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Clients } from './clients.js'
import type { ProcessGroup } from './processes.js'
import type { Tracker } from './opentracker.js'

export const PAYLOAD_NAME = 'payload.bin'
/** The piece length of `torrents.v1SmallPieces`: one block a piece, so a have and a request per 16 KiB. */
export const SMALL_PIECE_LENGTH = 16 * 1024

export interface TorrentFile {
  path: string
  version: 'v1' | 'v2' | 'hybrid'
  infoHashV1?: string
  infoHashV2?: string
  /** Strict: the hash trackers are told instead of the infohash (hex), and the magnet link with the secret. */
  rendezvous?: string
  magnet?: string
}

export interface SslSetup {
  /** libtorrent-made v1 torrent whose info dict carries `ssl-cert` (the CA). */
  torrent: TorrentFile
  caPem: string
  seeder: { cert: string, key: string }
  leecher: { cert: string, key: string }
}

export interface RunContext {
  repo: string
  work: string
  /** Directory holding PAYLOAD_NAME, the source of every transfer. */
  srcDir: string
  sourceSha256: string
  payloadBytes: number
  /**
   * Made by `bttls create`, 256 KiB pieces; only v1WithTracker (opentracker over HTTP, for aria2),
   * v1WithUdpTracker (opentracker over UDP, BEP 15) and strictWithTrackers (both, Strict secret mode)
   * name a tracker. All Basic v1 ones share one infohash, except v1SmallPieces (SMALL_PIECE_LENGTH
   * pieces, no tracker) and v1SmallPiecesWithTracker (the same with opentracker over HTTP, for aria2).
   */
  torrents: Record<'v1' | 'hybrid' | 'v2' | 'v1WithTracker' | 'v1WithUdpTracker' | 'strictWithTrackers' | 'v1SmallPieces' | 'v1SmallPiecesWithTracker', TorrentFile>
  ssl?: SslSetup
  sslError?: string
  tracker?: Tracker
  trackerError?: string
  clients: Clients
  procs: ProcessGroup
  /** `bttls --help`, to detect flags that later issues add. */
  bttlsHelp: string
  /** The `--only` filter, when the run was asked for some scenarios by name. */
  only?: readonly string[]
}

export interface ScenarioContext extends RunContext {
  /** This scenario's own directory (download targets, logs). */
  dir: string
  /** Fixed, unusual ports for this scenario: 27100 + 10 * index + n. */
  port: (n: number) => number
  log: (name: string) => string
  /** Milliseconds left of this scenario's time limit. */
  left: () => number
}

export async function scenarioContext (run: RunContext, index: number, id: string, limitMs: number): Promise<ScenarioContext> {
  const dir = join(run.work, 'scenarios', `${String(index).padStart(2, '0')}-${id}`)
  await mkdir(join(dir, 'logs'), { recursive: true })
  const deadline = Date.now() + limitMs
  return {
    ...run, dir, port: n => 27100 + 10 * index + n, log: name => join(dir, 'logs', name), left: () => Math.max(1000, deadline - Date.now())
  }
}

/** Thrown by a scenario that cannot run here: reported as SKIP with this reason, never as PASS. */
export class SkipScenario extends Error {
  override name = 'SkipScenario'
}

export interface Outcome {
  /** Transports of bttls' peer links, from its `peer` events (e.g. "mse", "tls TLSv1.3"). */
  bttlsTransport?: string
  /** The other client's view, where observable (libtorrent's peer_info flags). */
  clientTransport?: string
  cipher?: string
  seconds?: number
  mibPerSecond?: number
  /** Whose clock `seconds` is (the leecher's). */
  timedBy?: string
  sha256Ok?: boolean
  /** Failed expectations: any makes the row FAIL. */
  problems: string[]
  notes: string[]
}

export function newOutcome (): Outcome { return { problems: [], notes: [] } }
