/**
 * The TLS record layer as a passive observer sees it (RFC 8446 §5.1): every record's content type
 * and length are cleartext even when its content is encrypted. TLS 1.3 AEAD adds a fixed overhead
 * (17 bytes: the inner content type and a 16-byte tag) to every record, which is why record lengths
 * show the messages inside. This module splits a reassembled stream into records and merges both
 * directions of a connection in time order.
 */
import { arrivalTime, type StreamDirection, type TcpFlow } from './tcp-flows.js'

export const CONTENT_TYPE = { CHANGE_CIPHER_SPEC: 20, ALERT: 21, HANDSHAKE: 22, APPLICATION_DATA: 23 } as const

/** The largest record length RFC 8446 allows (2^14 + 256, for TLSCiphertext). */
export const MAX_RECORD_LENGTH = 2 ** 14 + 256

export interface TlsRecord {
  readonly type: number
  readonly version: number
  /** The length field: the bytes after the 5-byte header. */
  readonly length: number
  /** Where the header starts in the stream. */
  readonly offset: number
}

/** `>` client to server, `<` server to client, as in the lab's sequences. */
export type Direction = '>' | '<'

export interface RecordEvent {
  readonly dir: Direction
  readonly type: number
  readonly length: number
  readonly timeUs: number
}

/** Whether a stream starts like a TLS record (content type 20–23, major version 3, a legal length). */
export function looksLikeTls (bytes: Uint8Array): boolean {
  if (bytes.length < 5) return false
  const type = bytes[0]!
  const length = (bytes[3]! << 8) | bytes[4]!
  return type >= 20 && type <= 23 && bytes[1] === 3 && bytes[2]! <= 4 && length <= MAX_RECORD_LENGTH
}

/**
 * The whole records at the start of a stream. Stops at the first header that is not a TLS record
 * (`garbage` is then true) or at a record the stream does not hold completely.
 */
export function splitTlsRecords (bytes: Uint8Array, max = Infinity): { records: TlsRecord[], garbage: boolean } {
  const records: TlsRecord[] = []
  let at = 0
  while (records.length < max && at + 5 <= bytes.length) {
    if (!looksLikeTls(bytes.subarray(at, at + 5))) return { records, garbage: true }
    const length = (bytes[at + 3]! << 8) | bytes[at + 4]!
    if (at + 5 + length > bytes.length) break
    records.push({ type: bytes[at]!, version: (bytes[at + 1]! << 8) | bytes[at + 2]!, length, offset: at })
    at += 5 + length
  }
  return { records, garbage: false }
}

/** The records of both directions of a TLS connection, in the order they arrived (at most `max`). */
export function recordSequence (flow: TcpFlow, max = 50): RecordEvent[] {
  const side = (dir: Direction, d: StreamDirection): RecordEvent[] =>
    splitTlsRecords(d.bytes).records.map(r => ({ dir, type: r.type, length: r.length, timeUs: arrivalTime(d, r.offset) }))
  const up = side('>', flow.toServer)
  const down = side('<', flow.toClient)
  // Merge by time; within one direction the stream order stands (records of one segment share a time).
  const merged: RecordEvent[] = []
  let i = 0
  let j = 0
  while (merged.length < max && (i < up.length || j < down.length)) {
    if (j >= down.length || (i < up.length && up[i]!.timeUs <= down[j]!.timeUs)) merged.push(up[i++]!)
    else merged.push(down[j++]!)
  }
  return merged
}

/**
 * The cleartext handshake messages at the start of one direction: the bodies of its leading
 * handshake records (content type 22) joined, then cut into messages (type, 3-byte length, body).
 * A ClientHello or ServerHello may span records; this undoes that. Stops at the first other record.
 */
export function leadingHandshakeMessages (stream: Uint8Array): Array<{ type: number, body: Buffer }> {
  const fragments: Buffer[] = []
  for (const r of splitTlsRecords(stream).records) {
    if (r.type !== CONTENT_TYPE.HANDSHAKE) break
    fragments.push(Buffer.from(stream.buffer, stream.byteOffset + r.offset + 5, r.length))
  }
  const joined = Buffer.concat(fragments)
  const messages: Array<{ type: number, body: Buffer }> = []
  for (let at = 0; at + 4 <= joined.length;) {
    const length = joined.readUIntBE(at + 1, 3)
    if (at + 4 + length > joined.length) break
    messages.push({ type: joined[at]!, body: joined.subarray(at + 4, at + 4 + length) })
    at += 4 + length
  }
  return messages
}
