/**
 * Basic level: works for every torrent as it is. The swarm key comes from the infohash alone, so the
 * level protects against everyone who does not know the infohash, and authenticates nobody who does
 * (BEP: "Basic", "Security considerations"). Both infohashes of a hybrid torrent are accepted.
 */
import { BASIC_KEY_INFO } from '../protocol/constants.js'
import { deriveSwarmKey } from '../protocol/key-schedule.js'
import { announcedInfoHash, wireForm, type SwarmKey, type SwarmLevel } from './level.js'

export function basicSwarmKey (infoHash: Uint8Array): SwarmKey {
  if (infoHash.length !== 20 && infoHash.length !== 32) {
    throw new RangeError(`an infohash is 20 (v1) or 32 (v2) bytes, got ${infoHash.length}`)
  }
  return { infoHash, key: deriveSwarmKey(infoHash, BASIC_KEY_INFO) }
}

/**
 * @param infoHashes the torrent's infohashes, preferred first (the initiator proves with the first:
 *   bttls prefers v2 when it knows it, as its key has 256 bits of input).
 */
export function basicLevel (infoHashes: readonly Uint8Array[]): SwarmLevel {
  if (infoHashes.length === 0) throw new RangeError('a torrent has at least one infohash')
  const swarmKeys = infoHashes.map(basicSwarmKey)
  return {
    name: 'basic',
    swarmKeys,
    legacyTransports: true,
    announce: 'public',
    weakerKeys: [],
    authFlags: () => 0,
    authPayload: () => ({}),
    verifyPeer: () => {},
    // The infohash itself, as every BitTorrent client announces it: Basic hides nothing from trackers.
    announceHash: () => wireForm(announcedInfoHash(infoHashes))
  }
}
