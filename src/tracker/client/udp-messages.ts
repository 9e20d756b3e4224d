/**
 * The messages of the UDP tracker protocol (BEP 15) a client sends and reads, with BEP 41's URLData
 * option on announces. Every field is big-endian. Decoding is bounded: a datagram longer than the
 * caller's limit, shorter than its action's fixed part, or with a partial peer entry is refused with a
 * typed error, and an error message is cut to MAX_ERROR_MESSAGE characters.
 *
 *   connect request    u64 protocol id 0x41727101980, u32 action 0, u32 transaction id        (16 bytes)
 *   connect response   u32 action 0, u32 transaction id, u64 connection id                    (16 bytes)
 *   announce request   u64 connection id, u32 action 1, u32 transaction id, info_hash[20],
 *                      peer_id[20], u64 downloaded, u64 left, u64 uploaded, u32 event,
 *                      u32 IP address (0: the sender's), u32 key, i32 num_want, u16 port       (98 bytes)
 *                      then BEP 41 options: 0x02 URLData, u8 length, that many bytes (repeated
 *                      for longer data); 0x00 ends the list
 *   announce response  u32 action 1, u32 transaction id, u32 interval, u32 leechers,
 *                      u32 seeders, then 6-byte (IPv4) or 18-byte (IPv6) peers                (20 + n bytes)
 *   error response     u32 action 3, u32 transaction id, message text                          (8 + n bytes)
 *
 * The width of a peer entry follows the address family the announce travelled over (BEP 15, IPv6).
 */
import { decodeCompactPeers, type PeerAddress } from '../../codec/compact-peers.js'
import { TrackerError } from '../errors.js'

/** The magic connection id of a connect request ("the protocol id"). */
export const UDP_PROTOCOL_ID = 0x41727101980n
export const ACTION_CONNECT = 0
export const ACTION_ANNOUNCE = 1
export const ACTION_ERROR = 3

export const CONNECT_REQUEST_LENGTH = 16
export const CONNECT_RESPONSE_LENGTH = 16
export const ANNOUNCE_REQUEST_LENGTH = 98
export const ANNOUNCE_RESPONSE_HEADER_LENGTH = 20
const ERROR_HEADER_LENGTH = 8
/** Longest error message kept (characters); the rest of a hostile tracker's text is dropped. */
export const MAX_ERROR_MESSAGE = 200

/** BEP 41 option types. */
const OPTION_END = 0x00
const OPTION_URL_DATA = 0x02
const MAX_OPTION_DATA = 255
/** Longest URLData sent (path and query of the announce URL): more is a misconfigured URL. */
export const MAX_URL_DATA = 1024

/** BEP 15's event numbers; BEP 21's `paused` has none in BEP 15 and goes as a plain announce. */
const EVENTS = { completed: 1, started: 2, stopped: 3, paused: 0 } as const
export type UdpAnnounceEvent = keyof typeof EVENTS

export interface UdpAnnounceFields {
  readonly connectionId: bigint
  readonly transactionId: number
  readonly infoHash: Uint8Array
  readonly peerId: Uint8Array
  readonly downloaded: number
  readonly left: number
  readonly uploaded: number
  readonly event?: UdpAnnounceEvent
  readonly key: number
  /** -1: the tracker's default. */
  readonly numwant: number
  readonly port: number
  /** BEP 41 URLData: the announce URL's path and query ('' sends no option). */
  readonly urlData: string
}

export type UdpResponse =
  | { readonly action: typeof ACTION_CONNECT, readonly transactionId: number, readonly connectionId: bigint }
  | { readonly action: typeof ACTION_ANNOUNCE, readonly transactionId: number, readonly interval: number, readonly leechers: number, readonly seeders: number, readonly peers: PeerAddress[] }
  | { readonly action: typeof ACTION_ERROR, readonly transactionId: number, readonly message: string }

export function encodeConnectRequest (transactionId: number): Buffer {
  const b = Buffer.alloc(CONNECT_REQUEST_LENGTH)
  b.writeBigUInt64BE(UDP_PROTOCOL_ID, 0)
  b.writeUInt32BE(ACTION_CONNECT, 8)
  b.writeUInt32BE(transactionId >>> 0, 12)
  return b
}

export function encodeAnnounceRequest (f: UdpAnnounceFields): Buffer {
  if (f.infoHash.length !== 20 || f.peerId.length !== 20) throw new RangeError('info_hash and peer_id are 20 bytes')
  const url = Buffer.from(f.urlData, 'utf8')
  if (url.length > MAX_URL_DATA) throw new RangeError(`the announce URL's path and query exceed ${MAX_URL_DATA} bytes`)
  const b = Buffer.alloc(ANNOUNCE_REQUEST_LENGTH)
  b.writeBigUInt64BE(f.connectionId, 0)
  b.writeUInt32BE(ACTION_ANNOUNCE, 8)
  b.writeUInt32BE(f.transactionId >>> 0, 12)
  Buffer.from(f.infoHash).copy(b, 16)
  Buffer.from(f.peerId).copy(b, 36)
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.trunc(f.downloaded))), 56)
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.trunc(f.left))), 64)
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.trunc(f.uploaded))), 72)
  b.writeUInt32BE(f.event === undefined ? 0 : EVENTS[f.event], 80)
  b.writeUInt32BE(0, 84)
  b.writeUInt32BE(f.key >>> 0, 88)
  b.writeInt32BE(f.numwant, 92)
  b.writeUInt16BE(f.port, 96)
  return url.length === 0 ? b : Buffer.concat([b, urlDataOptions(url)])
}

/** BEP 41: URLData split into options of at most 255 bytes, then EndOfOptions. */
function urlDataOptions (url: Buffer): Buffer {
  const parts: Buffer[] = []
  for (let off = 0; off < url.length; off += MAX_OPTION_DATA) {
    const chunk = url.subarray(off, off + MAX_OPTION_DATA)
    parts.push(Buffer.from([OPTION_URL_DATA, chunk.length]), chunk)
  }
  parts.push(Buffer.from([OPTION_END]))
  return Buffer.concat(parts)
}

/** The transaction id of a datagram, or undefined when it is too short to carry one. */
export function transactionIdOf (datagram: Uint8Array): number | undefined {
  return datagram.length < 8 ? undefined : Buffer.from(datagram.buffer, datagram.byteOffset, datagram.length).readUInt32BE(4)
}

/**
 * Decodes a response to a request of action `expected`. Throws TrackerError: ERR_UDP_TRACKER_OVERSIZED
 * (longer than `maxBytes`), ERR_UDP_TRACKER_TRUNCATED (shorter than its fixed part, or a partial peer
 * entry), ERR_UDP_TRACKER_WRONG_ACTION (neither the request's action nor an error).
 */
export function decodeResponse (datagram: Uint8Array, expected: typeof ACTION_CONNECT | typeof ACTION_ANNOUNCE, family: 4 | 6, maxBytes: number): UdpResponse {
  const b = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.length)
  if (b.length > maxBytes) throw new TrackerError('ERR_UDP_TRACKER_OVERSIZED', `UDP tracker response of ${b.length} bytes, more than ${maxBytes}`)
  if (b.length < ERROR_HEADER_LENGTH) throw new TrackerError('ERR_UDP_TRACKER_TRUNCATED', `UDP tracker response of ${b.length} bytes has no header`)
  const action = b.readUInt32BE(0)
  const transactionId = b.readUInt32BE(4)
  if (action === ACTION_ERROR) {
    const text = [...b.subarray(ERROR_HEADER_LENGTH).toString('utf8')].map(c => isControl(c) ? ' ' : c).join('').trim()
    return { action, transactionId, message: text.length > MAX_ERROR_MESSAGE ? `${text.slice(0, MAX_ERROR_MESSAGE)}…` : text }
  }
  if (action !== expected) throw new TrackerError('ERR_UDP_TRACKER_WRONG_ACTION', `UDP tracker answered action ${action} to a request of action ${expected}`)
  if (action === ACTION_CONNECT) {
    if (b.length < CONNECT_RESPONSE_LENGTH) throw new TrackerError('ERR_UDP_TRACKER_TRUNCATED', `UDP connect response of ${b.length} bytes, expected ${CONNECT_RESPONSE_LENGTH}`)
    return { action, transactionId, connectionId: b.readBigUInt64BE(8) }
  }
  if (b.length < ANNOUNCE_RESPONSE_HEADER_LENGTH) throw new TrackerError('ERR_UDP_TRACKER_TRUNCATED', `UDP announce response of ${b.length} bytes, expected at least ${ANNOUNCE_RESPONSE_HEADER_LENGTH}`)
  const entry = family === 4 ? 6 : 18
  const list = b.subarray(ANNOUNCE_RESPONSE_HEADER_LENGTH)
  if (list.length % entry !== 0) throw new TrackerError('ERR_UDP_TRACKER_TRUNCATED', `UDP announce response ends in a partial ${entry}-byte peer entry`)
  return {
    action,
    transactionId,
    interval: b.readUInt32BE(8),
    leechers: b.readUInt32BE(12),
    seeders: b.readUInt32BE(16),
    peers: decodeCompactPeers(list, family)
  }
}

/** C0 controls and DEL: a hostile tracker's message must not write escape sequences into our log. */
function isControl (c: string): boolean {
  const code = c.charCodeAt(0)
  return code < 0x20 || code === 0x7f
}
