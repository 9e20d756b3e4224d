/**
 * BEP 11 (ut_pex) as a bittorrent-protocol extension: tells a peer which peers we are connected to,
 * and learns which peers it is connected to. One message is a bencoded dict:
 *
 *   added    compact IPv4 peers (6 bytes each: address, port big-endian)
 *   added.f  one flags byte per `added` entry
 *   dropped  compact IPv4 peers no longer connected
 *   added6 / added6.f / dropped6   the same for IPv6 (18 bytes each)
 *
 * Flags (BEP 11): 0x01 prefers encryption, 0x02 seed, 0x04 uTP, 0x08 ut_holepunch, 0x10 reachable
 * (we connected to it outgoing); bttls adds 0x20: the peer accepts bttls on that endpoint
 * (capabilities.ts, PEX_FLAG_BTTLS).
 *
 * This module only speaks the protocol and enforces its limits: a message is bounded in bytes before
 * it is decoded and in entries after, and any breach is a typed error for the owner, who closes the
 * link. What to send and what to do with what is learned is the owner's (src/session/pex-manager.ts).
 */
import { compactPeer } from '../codec/compact-peers.js'
import type Wire from 'bittorrent-protocol'
import type { WireExtension } from 'bittorrent-protocol'
import { MalformedMessageError, OversizedBencodeError } from '../errors.js'
import { BencodeDict, decodeBencode, encodeBencode, type BencodeValue } from '../codec/bencode.js'
import { PEX_FLAG_BTTLS } from './capabilities.js'

export const UT_PEX = 'ut_pex'

/** BEP 11 flag bits of `added.f` / `added6.f`. */
export const PEX_FLAGS = {
  PREFERS_ENCRYPTION: 0x01,
  SEED: 0x02,
  UTP: 0x04,
  HOLEPUNCH: 0x08,
  REACHABLE: 0x10,
  BTTLS: PEX_FLAG_BTTLS
} as const

/** BEP 11: "no more than 50 added and 50 dropped peers" per message; we send at most this many. */
export const MAX_SENT_ENTRIES = 50
/** What we accept per list: libtorrent sends up to 100; more is a peer trying to make us dial a crowd. */
export const MAX_RECEIVED_ENTRIES = 100
/** 4 lists of 100 IPv6 entries (18 bytes) plus flags and keys: ~8 KiB. Anything larger is not PEX. */
export const MAX_MESSAGE_BYTES = 10 * 1024
/** BEP 11: at most one message a minute. */
export const DEFAULT_PEX_INTERVAL_MS = 60_000

export interface PexPeer {
  readonly host: string
  readonly port: number
  /** BEP 11 flags (added entries only; 0 for dropped ones). */
  readonly flags: number
}

export interface PexMessage {
  readonly added: readonly PexPeer[]
  readonly dropped: readonly PexPeer[]
}

/**
 * Encode one message. Keys are only present when non-empty (libtorrent and others treat a missing
 * list as empty). At most MAX_SENT_ENTRIES per list are kept: the caller sends the rest next time.
 */
export function encodePexMessage (msg: PexMessage): Buffer {
  const lists = { added: [] as Buffer[], addedF: [] as number[], dropped: [] as Buffer[], added6: [] as Buffer[], added6F: [] as number[], dropped6: [] as Buffer[] }
  for (const p of msg.added) {
    const c = compactPeer(p)
    if (c === undefined) continue
    if (c.length === 6 && lists.added.length < MAX_SENT_ENTRIES) { lists.added.push(c); lists.addedF.push(p.flags & 0xff) }
    if (c.length === 18 && lists.added6.length < MAX_SENT_ENTRIES) { lists.added6.push(c); lists.added6F.push(p.flags & 0xff) }
  }
  for (const p of msg.dropped) {
    const c = compactPeer(p)
    if (c === undefined) continue
    if (c.length === 6 && lists.dropped.length < MAX_SENT_ENTRIES) lists.dropped.push(c)
    if (c.length === 18 && lists.dropped6.length < MAX_SENT_ENTRIES) lists.dropped6.push(c)
  }
  const nonEmpty = (b: Buffer): Buffer | undefined => b.length > 0 ? b : undefined
  return encodeBencode({
    added: nonEmpty(Buffer.concat(lists.added)),
    'added.f': nonEmpty(Buffer.from(lists.addedF)),
    dropped: nonEmpty(Buffer.concat(lists.dropped)),
    added6: nonEmpty(Buffer.concat(lists.added6)),
    'added6.f': nonEmpty(Buffer.from(lists.added6F)),
    dropped6: nonEmpty(Buffer.concat(lists.dropped6))
  })
}

function bytesField (dict: BencodeDict, key: string): Buffer | undefined {
  const v: BencodeValue | undefined = dict.get(key)
  if (v === undefined) return undefined
  if (!Buffer.isBuffer(v)) throw new MalformedMessageError(`ut_pex: "${key}" is not a byte string`)
  return v
}

function entries (dict: BencodeDict, key: string, size: 6 | 18, flagsKey?: string): PexPeer[] {
  const bytes = bytesField(dict, key)
  if (bytes === undefined) return []
  if (bytes.length % size !== 0) throw new MalformedMessageError(`ut_pex: "${key}" is ${bytes.length} bytes, not a multiple of ${size}`)
  const n = bytes.length / size
  if (n > MAX_RECEIVED_ENTRIES) throw new OversizedBencodeError(`ut_pex: ${n} entries in "${key}" (at most ${MAX_RECEIVED_ENTRIES})`)
  // A missing or short flags string is tolerated (old clients send none): unknown flags read as 0.
  const flags = flagsKey === undefined ? undefined : bytesField(dict, flagsKey)
  const out: PexPeer[] = []
  for (let i = 0; i < n; i++) {
    const off = i * size
    const port = bytes.readUInt16BE(off + size - 2)
    if (port === 0) continue
    const host = size === 6
      ? [...bytes.subarray(off, off + 4)].join('.')
      : Array.from({ length: 8 }, (_, g) => bytes.readUInt16BE(off + 2 * g).toString(16)).join(':')
    out.push({ host, port, flags: flags?.[i] ?? 0 })
  }
  return out
}

/**
 * Parse one ut_pex message from a peer. Throws OversizedBencodeError (message or a list too large)
 * or MalformedMessageError (not bencode, not a dict, a list of the wrong type or length).
 */
export function parsePexMessage (buf: Uint8Array): PexMessage {
  if (buf.length > MAX_MESSAGE_BYTES) throw new OversizedBencodeError(`ut_pex: message of ${buf.length} bytes (at most ${MAX_MESSAGE_BYTES})`)
  let dict: BencodeValue
  try {
    // Depth 2 admits a dict of flat values; libtorrent adds nothing nested. Tokens bound the work.
    dict = decodeBencode(buf, { maxBytes: MAX_MESSAGE_BYTES, maxDepth: 2, maxTokens: 64 })
  } catch (err) {
    if (err instanceof OversizedBencodeError) throw err
    throw new MalformedMessageError(`ut_pex: not bencode (${(err as Error).message})`, { cause: err })
  }
  if (!(dict instanceof BencodeDict)) throw new MalformedMessageError('ut_pex: message is not a dictionary')
  return {
    added: [...entries(dict, 'added', 6, 'added.f'), ...entries(dict, 'added6', 18, 'added6.f')],
    dropped: [...entries(dict, 'dropped', 6), ...entries(dict, 'dropped6', 18)]
  }
}

/** What the extension needs from its owner. Callbacks must not throw. */
export interface UtPexHost {
  /** The peer's extended handshake arrived and lists ut_pex: we may send. */
  onSupported (ext: UtPex): void
  onMessage (ext: UtPex, msg: PexMessage): void
  /** The peer broke BEP 11 (or its limits); the owner closes the link with `err`. */
  onProtocolError (ext: UtPex, err: Error): void
}

export class UtPex implements WireExtension {
  /** bittorrent-protocol reads the name from the prototype, before constructing. */
  get name (): string { return UT_PEX }

  constructor (readonly wire: Wire, private readonly host: UtPexHost) {}

  /** Nothing to do; defined so that bittorrent-protocol does not give every instance a function of its own. */
  onHandshake (): void {}

  onExtendedHandshake (): void {
    if (this.supported) this.host.onSupported(this)
  }

  onMessage (buf: Uint8Array): void {
    let msg: PexMessage
    try {
      msg = parsePexMessage(buf)
    } catch (err) {
      this.host.onProtocolError(this, err as Error)
      return
    }
    this.host.onMessage(this, msg)
  }

  get supported (): boolean {
    return this.wire.peerExtendedMapping[UT_PEX] !== undefined
  }

  send (msg: PexMessage): void {
    if (!this.supported || this.wire.destroyed) return
    this.wire.extended(UT_PEX, encodePexMessage(msg))
  }
}
