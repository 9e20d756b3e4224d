/** A swarm the listener serves, and the lookups over them that its accepts make. */
import type { SwarmLevel } from '../levels/level.js'
import type { LibtorrentSslSwarm } from './libtorrent-ssl.js'

export interface ServedSwarm {
  /** The 20-byte infohashes BitTorrent handshakes may carry for it (hybrid: v1 and truncated v2). */
  readonly wireInfoHashes: readonly Buffer[]
  readonly level: SwarmLevel
  /** Full Strict torrents: also served to libtorrent peers, whose ClientHello names the torrent in SNI. */
  readonly libtorrentSsl?: LibtorrentSslSwarm
}

/** The served swarm and the infohash form that matched. */
export function findByInfoHash (swarms: Iterable<ServedSwarm>, match: (infoHash: Buffer) => boolean): { swarm: ServedSwarm, infoHash: Buffer } | undefined {
  for (const swarm of swarms) for (const infoHash of swarm.wireInfoHashes) if (match(infoHash)) return { swarm, infoHash }
  return undefined
}
