/**
 * Which security level a torrent runs at, and with which infohashes. Today every torrent is Basic;
 * Strict and Full Strict torrents are recognised here when those levels land.
 */
import { basicLevel } from '../levels/basic.js'
import type { SwarmLevel } from '../levels/level.js'

export interface InfoHashes {
  readonly infoHashV1?: Uint8Array
  readonly infoHashV2?: Uint8Array
}

/** v2 first: the initiator proves with the first key, and the v2 key has 256 bits of input. */
export function levelFor (hashes: InfoHashes): SwarmLevel {
  const preferred = [hashes.infoHashV2, hashes.infoHashV1].filter((h): h is Uint8Array => h !== undefined)
  return basicLevel(preferred)
}
