/**
 * bttls capability in HTTP tracker announces, modelled on the supportcrypto / requirecrypto /
 * crypto_flags extension many trackers and clients share:
 *
 *   request   supportbttls=1   this peer accepts bttls on its announced port
 *             requirebttls=1   list only peers that announced supportbttls=1 (policy require-tls)
 *   response  bttls_flags      byte string, one byte per entry of the compact `peers` string, in order:
 *                              0x01 = that peer announced supportbttls=1; other bits reserved (0)
 *             bttls_flags6     the same for `peers6`
 *
 * A tracker that does not know the extension ignores the parameters and sends no flags: every peer
 * is then "unknown", which prefer-tls handles by dialing TLS first anyway.
 */
import { isIPv4, isIPv6 } from 'node:net'
import type { BencodeValue } from '../codec/bencode.js'
import type { PeerAddress } from '../codec/compact-peers.js'

export const SUPPORT_BTTLS_PARAM = 'supportbttls'
export const REQUIRE_BTTLS_PARAM = 'requirebttls'
export const BTTLS_FLAGS_KEY = 'bttls_flags'
export const BTTLS_FLAGS6_KEY = 'bttls_flags6'
/** Bit of a `bttls_flags` byte: the peer announced supportbttls=1. */
export const TRACKER_FLAG_BTTLS = 0x01

export interface FlaggedPeer extends PeerAddress {
  /** true: announced supportbttls; undefined: the tracker did not say (no or short flags string). */
  readonly tls?: true
}

/** The flag strings for a peer list, in the order encodeCompactPeers writes `peers` and `peers6`. */
export function encodeBttlsFlags (peers: ReadonlyArray<PeerAddress & { readonly bttls: boolean }>): { flags: Buffer, flags6: Buffer } {
  const byte = (p: { bttls: boolean }): number => p.bttls ? TRACKER_FLAG_BTTLS : 0
  return {
    flags: Buffer.from(peers.filter(p => isIPv4(p.host)).map(byte)),
    flags6: Buffer.from(peers.filter(p => isIPv6(p.host)).map(byte))
  }
}

/**
 * Reads the compact peer strings of a decoded announce response together with their bttls flags.
 * The flags index the raw entries (port-0 entries included), so this walks the strings itself.
 */
export function readFlaggedPeers (dict: ReadonlyMap<string, BencodeValue>): FlaggedPeer[] {
  const out: FlaggedPeer[] = []
  for (const [key, flagsKey, size] of [['peers', BTTLS_FLAGS_KEY, 6], ['peers6', BTTLS_FLAGS6_KEY, 18]] as const) {
    const list = dict.get(key)
    if (!Buffer.isBuffer(list)) continue
    const flags = dict.get(flagsKey)
    const f = Buffer.isBuffer(flags) ? flags : undefined
    for (let i = 0, off = 0; off + size <= list.length; i++, off += size) {
      const port = list.readUInt16BE(off + size - 2)
      if (port === 0) continue
      const host = size === 6
        ? [...list.subarray(off, off + 4)].join('.')
        : Array.from({ length: 8 }, (_, g) => list.readUInt16BE(off + 2 * g).toString(16)).join(':')
      const tls = f !== undefined && i < f.length && (f[i]! & TRACKER_FLAG_BTTLS) !== 0
      out.push(tls ? { host, port, tls } : { host, port })
    }
  }
  return out
}
