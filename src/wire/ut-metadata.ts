/**
 * BEP 9 (ut_metadata) as a bittorrent-protocol extension: serves our info dict in 16 KiB pieces
 * and fetches a peer's. This module only speaks the protocol and enforces its limits; choosing
 * whom to ask, assembling and verifying the metadata is the swarm's (src/swarm/metadata-fetcher.ts).
 *
 * Every message is bounded before it is decoded: the bencoded header by MAX_HEADER_BYTES (with our
 * own small decoder, so a hostile header cannot make bencode allocate or recurse at will), the
 * trailing data by METADATA_PIECE_SIZE, the advertised sizes by the host's maxMetadataSize.
 */
import type Wire from 'bittorrent-protocol'
import type { WireExtension } from 'bittorrent-protocol'
import { MalformedMessageError, OversizedBencodeError, OversizedMessageError } from '../errors.js'

export const UT_METADATA = 'ut_metadata'
export const METADATA_PIECE_SIZE = 16384
/** Generous for real torrents (a 16 MiB info dict lists ~800k pieces) yet bounded in memory. */
export const DEFAULT_MAX_METADATA_SIZE = 16 * 1024 * 1024
/** Our headers are ~50 bytes; unknown keys from other clients fit many times over. */
const MAX_HEADER_BYTES = 1024
const MAX_DEPTH = 4

export type UtMetadataMessage =
  | { readonly type: 'request', readonly piece: number }
  | { readonly type: 'data', readonly piece: number, readonly totalSize: number, readonly data: Uint8Array }
  | { readonly type: 'reject', readonly piece: number }

type Bencoded = number | Uint8Array | Bencoded[] | { [key: string]: Bencoded }

export function metadataPieceCount (totalSize: number): number {
  return Math.ceil(totalSize / METADATA_PIECE_SIZE)
}

export function metadataPieceLength (totalSize: number, piece: number): number {
  return Math.min(METADATA_PIECE_SIZE, totalSize - piece * METADATA_PIECE_SIZE)
}

/** Decode one bencoded value at `pos`; returns it and the position after it. */
function decodeValue (buf: Uint8Array, pos: number, depth: number): [Bencoded, number] {
  if (depth > MAX_DEPTH) throw new MalformedMessageError('ut_metadata: bencode nested too deep')
  if (pos >= buf.length) throw new MalformedMessageError('ut_metadata: truncated bencode')
  const c = buf[pos]!
  if (c === 0x69) { // i<digits>e
    const end = buf.indexOf(0x65, pos + 1)
    if (end < 0 || end - pos > 18) throw new MalformedMessageError('ut_metadata: bad integer')
    const text = Buffer.from(buf.subarray(pos + 1, end)).toString('latin1')
    if (!/^(0|-?[1-9][0-9]*)$/.test(text)) throw new MalformedMessageError('ut_metadata: bad integer')
    return [Number(text), end + 1]
  }
  if (c >= 0x30 && c <= 0x39) { // <len>:<bytes>
    const colon = buf.indexOf(0x3a, pos)
    if (colon < 0 || colon - pos > 7) throw new MalformedMessageError('ut_metadata: bad string length')
    const text = Buffer.from(buf.subarray(pos, colon)).toString('latin1')
    if (!/^(0|[1-9][0-9]*)$/.test(text)) throw new MalformedMessageError('ut_metadata: bad string length')
    const end = colon + 1 + Number(text)
    if (end > buf.length) throw new MalformedMessageError('ut_metadata: truncated string')
    return [buf.subarray(colon + 1, end), end]
  }
  if (c === 0x6c) { // l...e
    const list: Bencoded[] = []
    let p = pos + 1
    while (buf[p] !== 0x65) {
      const [v, next] = decodeValue(buf, p, depth + 1)
      list.push(v)
      p = next
    }
    return [list, p + 1]
  }
  if (c === 0x64) { // d...e
    const dict: { [key: string]: Bencoded } = Object.create(null)
    let p = pos + 1
    while (buf[p] !== 0x65) {
      const [k, afterKey] = decodeValue(buf, p, depth + 1)
      if (!(k instanceof Uint8Array)) throw new MalformedMessageError('ut_metadata: dictionary key is not a string')
      const [v, next] = decodeValue(buf, afterKey, depth + 1)
      dict[Buffer.from(k).toString('latin1')] = v
      p = next
    }
    return [dict, p + 1]
  }
  throw new MalformedMessageError('ut_metadata: not bencode')
}

function intField (dict: { [key: string]: Bencoded }, key: string): number {
  const v = dict[key]
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new MalformedMessageError(`ut_metadata: missing or invalid ${key}`)
  }
  return v
}

/**
 * Parse one ut_metadata message. Checks framing only; whether the piece index and size fit the
 * metadata is the receiver's check, as only it knows the size. Throws MalformedMessageError,
 * OversizedBencodeError or OversizedMessageError.
 */
export function parseUtMetadataMessage (buf: Uint8Array, maxMetadataSize = DEFAULT_MAX_METADATA_SIZE): UtMetadataMessage {
  if (buf.length > MAX_HEADER_BYTES + METADATA_PIECE_SIZE) {
    throw new OversizedMessageError(`ut_metadata: message of ${buf.length} bytes`)
  }
  if (buf[0] !== 0x64) throw new MalformedMessageError('ut_metadata: message is not a dictionary')
  // Decode within the header bound only: a header that does not end within it is oversized.
  const window = buf.subarray(0, Math.min(buf.length, MAX_HEADER_BYTES))
  let dict: Bencoded
  let end: number
  try {
    [dict, end] = decodeValue(window, 0, 0)
  } catch (err) {
    if (buf.length > MAX_HEADER_BYTES) throw new OversizedBencodeError('ut_metadata: header exceeds 1 KiB', { cause: err })
    throw err
  }
  if (typeof dict !== 'object' || dict instanceof Uint8Array || Array.isArray(dict)) {
    throw new MalformedMessageError('ut_metadata: message is not a dictionary')
  }
  const msgType = intField(dict, 'msg_type')
  const piece = intField(dict, 'piece')
  const rest = buf.subarray(end)
  if (msgType === 0 || msgType === 2) {
    if (rest.length !== 0) throw new MalformedMessageError('ut_metadata: trailing bytes after a request/reject')
    return msgType === 0 ? { type: 'request', piece } : { type: 'reject', piece }
  }
  if (msgType === 1) {
    const totalSize = intField(dict, 'total_size')
    if (totalSize > maxMetadataSize) throw new OversizedBencodeError(`ut_metadata: total_size ${totalSize} exceeds ${maxMetadataSize}`)
    if (rest.length > METADATA_PIECE_SIZE) throw new OversizedMessageError(`ut_metadata: ${rest.length}-byte data piece`)
    return { type: 'data', piece, totalSize, data: rest }
  }
  throw new MalformedMessageError(`ut_metadata: unknown msg_type ${msgType}`)
}

export function encodeUtMetadataMessage (msg: UtMetadataMessage): Uint8Array {
  // Keys in sorted order, as bencode requires.
  const head = msg.type === 'data'
    ? `d8:msg_typei1e5:piecei${msg.piece}e10:total_sizei${msg.totalSize}ee`
    : `d8:msg_typei${msg.type === 'request' ? 0 : 2}e5:piecei${msg.piece}ee`
  const headBytes = Buffer.from(head, 'latin1')
  return msg.type === 'data' ? Buffer.concat([headBytes, msg.data]) : headBytes
}

/** Read a peer's advertised metadata size from its extended handshake: undefined if absent. */
export function advertisedMetadataSize (handshake: Record<string, unknown>, maxMetadataSize: number): number | undefined {
  const size = handshake['metadata_size']
  if (size === undefined) return undefined
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0) {
    throw new MalformedMessageError('extended handshake: invalid metadata_size')
  }
  if (size > maxMetadataSize) throw new OversizedBencodeError(`extended handshake: metadata_size ${size} exceeds ${maxMetadataSize}`)
  return size
}

/** What the extension needs from its owner. Callbacks must not throw. */
export interface UtMetadataHost {
  readonly maxMetadataSize: number
  /** The info dict to serve, once known. */
  infoBytes (): Uint8Array | undefined
  /** The peer supports ut_metadata and has metadata of `size` bytes. */
  onOffer (ext: UtMetadata, size: number): void
  onData (ext: UtMetadata, piece: number, totalSize: number, data: Uint8Array): void
  onReject (ext: UtMetadata, piece: number): void
  /** The peer broke BEP 9; the owner closes the link with `err`. */
  onProtocolError (ext: UtMetadata, err: Error): void
}

export class UtMetadata implements WireExtension {
  /** bittorrent-protocol reads the name from the prototype, before constructing. */
  get name (): string { return UT_METADATA }
  /** The size the peer advertised, once it has. */
  peerMetadataSize: number | undefined
  private served = 0

  constructor (readonly wire: Wire, private readonly host: UtMetadataHost) {
    const info = host.infoBytes()
    if (info !== undefined) wire.extendedHandshake['metadata_size'] = info.length
  }

  /** Nothing to do; defined so that bittorrent-protocol does not give every instance a function of its own. */
  onHandshake (): void {}

  onExtendedHandshake (handshake: Record<string, unknown>): void {
    try {
      const size = advertisedMetadataSize(handshake, this.host.maxMetadataSize)
      if (size === undefined) return
      this.peerMetadataSize = size
      this.host.onOffer(this, size)
    } catch (err) {
      this.host.onProtocolError(this, err as Error)
    }
  }

  onMessage (buf: Uint8Array): void {
    let msg: UtMetadataMessage
    try {
      msg = parseUtMetadataMessage(buf, this.host.maxMetadataSize)
      if (msg.type === 'data') this.checkData(msg.piece, msg.totalSize, msg.data)
    } catch (err) {
      this.host.onProtocolError(this, err as Error)
      return
    }
    if (msg.type === 'request') this.serve(msg.piece)
    else if (msg.type === 'data') this.host.onData(this, msg.piece, msg.totalSize, msg.data)
    else this.host.onReject(this, msg.piece)
  }

  get supported (): boolean {
    return this.wire.peerExtendedMapping[UT_METADATA] !== undefined
  }

  request (piece: number): void {
    this.send({ type: 'request', piece })
  }

  private checkData (piece: number, totalSize: number, data: Uint8Array): void {
    if (this.peerMetadataSize !== undefined && totalSize !== this.peerMetadataSize) {
      throw new MalformedMessageError(`ut_metadata: total_size ${totalSize} differs from advertised ${this.peerMetadataSize}`)
    }
    if (totalSize === 0 || piece >= metadataPieceCount(totalSize)) {
      throw new MalformedMessageError(`ut_metadata: piece ${piece} outside ${totalSize}-byte metadata`)
    }
    if (data.length !== metadataPieceLength(totalSize, piece)) {
      throw new MalformedMessageError(`ut_metadata: piece ${piece} has ${data.length} bytes`)
    }
  }

  private serve (piece: number): void {
    const info = this.host.infoBytes()
    // A peer re-fetching the whole dict a few times is normal; beyond that it is wasting our upload.
    const budget = info === undefined ? 0 : 4 * metadataPieceCount(info.length) + 16
    if (info === undefined || piece >= metadataPieceCount(info.length) || this.served >= budget) {
      this.send({ type: 'reject', piece })
      return
    }
    this.served++
    const start = piece * METADATA_PIECE_SIZE
    this.send({
      type: 'data',
      piece,
      totalSize: info.length,
      data: info.subarray(start, start + METADATA_PIECE_SIZE)
    })
  }

  private send (msg: UtMetadataMessage): void {
    if (!this.supported || this.wire.destroyed) return
    this.wire.extended(UT_METADATA, encodeUtMetadataMessage(msg))
  }
}
