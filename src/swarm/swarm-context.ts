/**
 * What the swarm's parts (downloader.ts, uploader.ts, magnet-source.ts) share with the Swarm that
 * wires them: its peers, the torrent once known, the byte counters, and the few verbs that act on the
 * whole swarm. A part changes nothing of another part's state; it goes through these.
 */
import type { PieceStore } from '../storage/piece-store.js'
import type { Metainfo } from '../torrent/metainfo.js'
import type { TransportKind } from '../wire/peer-link.js'
import type { Peer } from './peer.js'
import type { PiecePicker } from './piece-picker.js'
import type { SwarmEvents } from './swarm-api.js'

/** The torrent once its metainfo and storage are known: at once, or after a magnet link's metadata. */
export interface LoadedTorrent {
  readonly metainfo: Metainfo
  readonly store: PieceStore
  readonly picker: PiecePicker
}

/** Payload bytes, swarm-wide and per transport (SwarmStats). */
export interface SwarmCounters {
  downloaded: number
  uploaded: number
  wasted: number
  hashFailures: number
  readonly transports: Record<TransportKind, { downloaded: number, uploaded: number }>
}

export interface SwarmContext {
  readonly peers: ReadonlySet<Peer>
  readonly counters: SwarmCounters
  torrent: () => LoadedTorrent | undefined
  destroyed: () => boolean
  /** Why the download stopped for good, if it did. */
  failure: () => Error | undefined
  /** Run `fn` for `peer`: whatever it throws closes that peer's link and nothing else. */
  guard: (peer: Peer, fn: () => void) => void
  /** Emit without letting a listener's exception unwind into the caller. */
  emit: <K extends keyof SwarmEvents>(event: K, ...args: SwarmEvents[K]) => void
  /** Ban the peer (its id and where it listens) and close its link. */
  ban: (peer: Peer, err?: Error) => void
  /** The download cannot finish (storage failed other than by verification). */
  fail: (err: Error) => void
  /** Every piece is verified. */
  completed: () => void
}

export function noop (): void {}
