/**
 * A bittorrent-protocol Wire with our message bounds installed. bittorrent-protocol has no hook for
 * this, so the two parser steps it re-arms for every message (`_onMessageLength`, `_onMessage`) are
 * overridden; a violation is reported once through `onViolation` and parsing stops.
 *
 * Two kinds of bound: each message's shape (message-limits.ts), and the link's budget of control
 * messages over time (message-rate.ts).
 *
 * The peer's messages after its handshake are parsed only once ours is sent: whoever owns the wire
 * (the swarm) listens to it before sending our handshake, so a peer that pipelines its first messages
 * behind its handshake (BEP 3 allows it) is not heard by nobody. Until then the parser holds what
 * arrived and the write that brought it stays unacknowledged, so the stream's buffer fills and the
 * socket pauses (pipe-wire.ts): what is held is bounded like any unread input.
 *
 * The receive buffering is ours too (`_write`, `_processBuffer`). The library's `_write` joins what is
 * left over with each new chunk into a fresh zero-filled array; over TLS a chunk is one record's
 * 16,384 bytes and a piece message 16,397, so nearly every record leaves a leftover and costs an
 * allocation, a zero fill and a copy of about 1.5 times its size. Profiled on the bulk leecher
 * (bench/throughput.ts, tls-aes128gcm, --cpu-prof) that join was about 7 % of the main thread's samples,
 * with garbage collection, which those allocations drive, the largest item; the leecher's CPU per GiB
 * fell by a fifth over plain TCP without it (bench/README.md, "What limits throughput", item 5). Here
 * the chunks stay a list: a message inside one chunk is handed over as a view of it, and only one that
 * straddles chunks is copied, once: a piece message into one buffer shared by every wire, any other
 * into an array of its exact length (straddleBuffer).
 *
 * A TLS or plaintext link reads into one buffer the process shares (handshake/borrowed-reads.ts) and
 * hands each read to `readBorrowed`, past the stream machinery: Node would otherwise hand each read to
 * JavaScript as a fresh buffer (a 16 KiB TLS record, up to 64 KiB of TCP), the leecher's largest
 * remaining allocation.
 */
import Wire, { type PeerRequest } from 'bittorrent-protocol'
import { ownCopy } from '../handshake/borrowed-reads.js'
import { checkMessage, checkMessageLength, MAX_BLOCK_LENGTH } from './message-limits.js'
import {
  BITFIELD_MESSAGE_ID, DEFAULT_MESSAGE_RATE, EXTENDED_MESSAGE_ID, HAVE_MESSAGE_ID, lateAnnouncementCost, MessageBudget, messageName, PIECE_MESSAGE_ID, REJECT_MESSAGE_ID,
  type MessageRateLimits
} from './message-rate.js'

/**
 * The Wire, with its two parser steps overridden. A subclass rather than functions put on each
 * instance: a link may idle for hours, and those closures were a share of what every idle link kept.
 */
class GuardedWire extends Wire {
  private readonly budget: MessageBudget
  /** The link's first bitfield and first extended handshake cost one token, later ones by their size. */
  private announced = 0
  private stopped = false
  /** The acknowledgement of the write held behind the peer's handshake, until ours is sent. */
  private heldWrite: ((err: Error | null) => void) | undefined
  private holding = false
  /** The memory of the bytes `readBorrowed` is parsing, while it parses them. */
  private borrowed: ArrayBufferLike | undefined
  /**
   * Where the message a borrowed read ended in is being gathered: its first `_buffer[0].length` bytes
   * are in, with room for the rest (keepLeftover), which takeBytes copies in place.
   */
  private gathering: Buffer | undefined
  /** A spare buffer of PENDING_PIECES taken for a piece message, given back once it is dispatched. */
  private pooled: Buffer | undefined

  constructor (type: 'tcpIncoming' | 'tcpOutgoing', peEnabled: 0 | 1 | 2, private readonly onViolation: (err: Error) => void, rate: MessageRateLimits) {
    super(type, peEnabled)
    // bittorrent-protocol keeps a throughput meter per direction (a closure and a sample array per
    // wire, a clock read per block); bttls keeps its own rates (the choker's rounds, the stats), so one
    // shared function that measures nothing takes their place.
    this.uploadSpeed = unmetered
    this.downloadSpeed = unmetered
    this.budget = new MessageBudget(rate)
    // A request we answered with its block was work the peer was owed, not a flood.
    this.on('upload', refundRequest)
  }

  refund (): void {
    this.budget.refund()
  }

  override _onHandshakeBuffer (handshake: Uint8Array): void {
    super._onHandshakeBuffer(handshake)
    // Re-armed for the first message (not ended on a bad protocol string): hold it until ours is sent.
    if (!this._handshakeSent && this._parser === this._onMessageLength) {
      this.holding = true
      this._parse(Number.MAX_SAFE_INTEGER, () => {})
    }
  }

  /**
   * The library's `_write` without its join: the chunk (decrypted first on an MSE link, as the library
   * does) is appended to `_buffer`, which stays a list, with `_bufferSize` its total length.
   */
  override _write (data: Uint8Array, cb: (err: Error | null) => void): void {
    const chunk = this._encryptor === null ? data : this._encryptor.decrypt(data)
    if (chunk.length > 0) {
      this._buffer.push(chunk)
      this._bufferSize += chunk.length
    }
    this._processBuffer()
    if (this.holding) this.heldWrite = cb
    else cb(null)
  }

  /**
   * Parses bytes that the caller reuses once this returns (borrowed-reads.ts). A message inside them is
   * handed over as a view only while it is dispatched: a piece message's block is copied into its
   * piece then (straddleBuffer says why that holds), and any other message is copied before the Wire
   * sees it (dispatch). What is left of the message they end in is copied out (keepLeftover). When the
   * wire cannot parse at once (the handshakes not through, a held or unfinished write, MSE), the
   * bytes are copied and written as any chunk; once the guard stopped the parser, they are dropped.
   * Returns what write() would: false asks the caller to pause.
   */
  readBorrowed (bytes: Uint8Array): boolean {
    if (this.stopped) return true // nothing more is parsed: a violation (stop), or the link closed (dropReads)
    if (!this.parsesNow()) return this.write(ownCopy(bytes))
    if (bytes.length === 0) return true
    this._buffer.push(bytes)
    this._bufferSize += bytes.length
    this.borrowed = bytes.buffer
    try {
      this._processBuffer()
    } finally {
      this.borrowed = undefined
      this.keepLeftover(bytes.buffer)
    }
    return true
  }

  /**
   * Whether bytes may go straight to the parser: it is past the handshakes, and no write waits (the
   * stream, streamx, queues a write until the next tick, and `_write` runs at once unless held).
   */
  private parsesNow (): boolean {
    return !this.holding && !this.destroying && !this.destroyed && this._writableState.buffered === 0 &&
      this._encryptor === null && (this._parser === this._onMessageLength || this._parser === this._onMessage)
  }

  /**
   * Copies what is left buffered of a borrowed read into memory of the wire's own, as the start of a
   * buffer with room for the whole message the parser waits for, so that the next reads complete it
   * in place. A piece message's buffer comes from PENDING_PIECES. A stopped parser reads nothing more.
   */
  private keepLeftover (borrowed: ArrayBufferLike): void {
    const chunks = this._buffer
    if (chunks.length === 0 || chunks[chunks.length - 1]!.buffer !== borrowed) return
    if (this.stopped) {
      this._buffer = []
      this._bufferSize = 0
      return
    }
    let target: Buffer
    let filled = 0
    let from = 0
    const first = chunks[0]!
    if (this.gathering !== undefined && isStartOf(first, this.gathering)) {
      target = this.gathering
      filled = first.length
      from = 1
    } else {
      target = this.gatherBuffer(this._parserSize, first[0]!)
    }
    for (let i = from; i < chunks.length; i++) {
      target.set(chunks[i]!, filled)
      filled += chunks[i]!.length
    }
    this._buffer = [target.subarray(0, filled)]
    this.gathering = target
  }

  /** A buffer for a message of `size` bytes gathered across reads (keepLeftover). */
  private gatherBuffer (size: number, id: number): Buffer {
    if (id !== PIECE_MESSAGE_ID || this._parser !== this._onMessage || size > PIECE_SCRATCH.length) return Buffer.allocUnsafeSlow(size)
    this.pooled = PENDING_PIECES.pop() ?? Buffer.allocUnsafeSlow(PIECE_SCRATCH.length)
    return this.pooled
  }

  /**
   * Hands the parser each `_parserSize` bytes as they become whole, with `_buffer` and `_bufferSize`
   * already past them (MSE's steps read both from inside the parser, and may re-enter here).
   */
  override _processBuffer (): void {
    if (this._cryptoSyncPattern !== null) {
      // MSE resynchronisation searches one contiguous buffer: the library's step does it, and parses
      // on from there, over the chunks joined as it would have held them. With nothing buffered there
      // is nothing to search (and no `_buffer[0]` for its search to read).
      if (this._bufferSize === 0) return
      if (this._buffer.length > 1) this._buffer = [Buffer.concat(this._buffer, this._bufferSize)]
      super._processBuffer()
      return
    }
    while (this._bufferSize >= this._parserSize && this._cryptoSyncPattern === null && !this._pePending) {
      this._parser(this.takeBytes(this._parserSize))
    }
  }

  /** The next `size` buffered bytes: a view when they lie in one chunk, else a copy of just them. */
  private takeBytes (size: number): Uint8Array {
    if (size === 0) return NO_BYTES
    const chunks = this._buffer
    this._bufferSize -= size
    const first = chunks[0]!
    if (first.length > size) {
      chunks[0] = first.subarray(size)
      return first.subarray(0, size)
    }
    if (first.length === size) {
      chunks.shift()
      return first
    }
    let joined: Uint8Array
    let filled = 0
    const gathering = this.gathering
    if (gathering !== undefined && isStartOf(first, gathering) && gathering.length >= size) {
      // The rest of a message a borrowed read began (keepLeftover): completed where it is.
      this.gathering = undefined
      joined = gathering.subarray(0, size)
      filled = first.length
      chunks.shift()
    } else {
      joined = this.straddleBuffer(size, first[0]!)
    }
    while (filled < size) {
      const chunk = chunks[0]!
      const wanted = size - filled
      if (chunk.length > wanted) {
        joined.set(chunk.subarray(0, wanted), filled)
        chunks[0] = chunk.subarray(wanted)
        break
      }
      joined.set(chunk, filled)
      filled += chunk.length
      chunks.shift()
    }
    return joined
  }

  /**
   * Where a message that straddles chunks is joined. A piece message goes to one buffer shared by every
   * wire: its block is read while the message is dispatched, and never after (the downloader copies it
   * into its piece at once; the library's request callbacks are no-ops), so over TLS, where nearly every
   * piece message straddles two records, receiving allocates nothing beyond the socket's own chunks.
   * Any other message gets its own array: it may be kept (a bitfield is). Not zero-filled (every byte
   * is written), and not from Buffer's shared pool, where a kept view would hold all of its 8 KiB.
   */
  private straddleBuffer (size: number, id: number): Buffer {
    if (id !== PIECE_MESSAGE_ID || this._parser !== this._onMessage || size > PIECE_SCRATCH.length || pieceScratchInUse) return Buffer.allocUnsafeSlow(size)
    pieceScratchInUse = true
    return PIECE_SCRATCH.subarray(0, size)
  }

  override handshake (infoHash: Uint8Array | string, peerId: Uint8Array | string, extensions?: Record<string, boolean>): void {
    super.handshake(infoHash, peerId, extensions)
    if (!this.holding) return
    this.holding = false
    if (this.destroyed || this.stopped) return
    this._parse(4, this._onMessageLength)
    this._processBuffer()
    const release = this.heldWrite
    this.heldWrite = undefined
    release?.(null)
  }

  override _onMessageLength (buffer: Uint8Array): void {
    const length = ((buffer[0]! << 24) >>> 0) + (buffer[1]! << 16) + (buffer[2]! << 8) + buffer[3]!
    try {
      checkMessageLength(length)
      if (length === 0) this.budget.spend('keep-alive')
    } catch (err) { this.stop(err); return }
    super._onMessageLength(buffer)
  }

  override _onMessage (buffer: Uint8Array): void {
    try {
      this.dispatch(buffer)
    } finally {
      if (buffer.buffer === PIECE_SCRATCH.buffer) pieceScratchInUse = false
      else if (this.pooled !== undefined && buffer.buffer === this.pooled.buffer) this.givePooledBack()
    }
  }

  private dispatch (buffer: Uint8Array): void {
    const id = buffer[0]!
    try { checkMessage(buffer) } catch (err) { this.stop(err); return }
    if (id === PIECE_MESSAGE_ID) { super._onMessage(buffer); return }
    if (id === HAVE_MESSAGE_ID) {
      const index = ((buffer[1]! << 24) >>> 0) + (buffer[2]! << 16) + (buffer[3]! << 8) + buffer[4]!
      const known = this.peerPieces.get(index)
      super._onMessage(buffer)
      // New to the Wire's record (which it grows only so far): the first have of a piece, free.
      if (this.stopped || (!known && this.peerPieces.get(index))) return
      try { this.budget.spend('have') } catch (err) { this.stop(err) }
      return
    }
    let what = messageName(id)
    let tokens = 1
    const announcement = id === BITFIELD_MESSAGE_ID ? ANNOUNCED_BITFIELD : id === EXTENDED_MESSAGE_ID && buffer[1] === 0 ? ANNOUNCED_EXTENDED_HANDSHAKE : 0
    if (announcement !== 0) {
      if ((this.announced & announcement) !== 0) {
        what = `repeated ${announcement === ANNOUNCED_BITFIELD ? 'bitfield' : 'extended handshake'} of ${buffer.length} bytes`
        tokens = lateAnnouncementCost(buffer.length)
      }
      this.announced |= announcement
    }
    try { this.budget.spend(what, tokens) } catch (err) { this.stop(err); return }
    if (announcement !== 0) super._onMessage(ownBytes(buffer))
    else super._onMessage(buffer.buffer === this.borrowed ? ownCopy(buffer) : buffer)
  }

  private givePooledBack (): void {
    if (PENDING_PIECES.length < MAX_PENDING_PIECES) PENDING_PIECES.push(this.pooled!)
    this.pooled = undefined
  }

  /**
   * The peer's request, answered when `respond` is called, unless it was cancelled first.
   * bittorrent-protocol's own answer checks for that by removing the first queued request with the
   * same piece, offset and length and comparing it with its own: after a request, its cancel and the
   * same request again, the first answer removed the second request and sent nothing, and the second
   * answer then found nothing; the block was never sent and the peer waited on it for ever (the
   * hostile bench's wrong-block case stalled on it: a block asked again after its piece failed).
   * Here each answer looks for its own request.
   */
  override _onRequest (index: number, offset: number, length: number): void {
    if (this.amChoking && !(this.hasFast && this.allowedFastSet.includes(index))) {
      if (this.hasFast) this.reject(index, offset, length) // BEP 6: a choked peer's request is rejected
      return
    }
    const request: PeerRequest = { piece: index, offset, length }
    const respond = (err: Error | null, buffer?: Uint8Array): void => {
      const at = this.peerRequests.indexOf(request)
      if (at < 0) return // cancelled, or the queue was cleared by a choke
      this.peerRequests.splice(at, 1)
      if (err !== null || buffer === undefined) {
        // BEP 6: an unanswered request is rejected; reject() would also pull a request like this one from the queue.
        if (this.hasFast) this._message(REJECT_MESSAGE_ID, [index, offset, length], null)
        return
      }
      this.piece(index, offset, buffer)
    }
    this.peerRequests.push(request)
    this.emit('request', index, offset, length, respond)
  }

  /**
   * The link closed: what its socket still reads on the way to the peer's end (close-notify.ts) is
   * dropped. Not in destroy(), which the Wire itself calls on a bad message and then parses on.
   */
  dropReads (): void {
    this.stopped = true
  }

  /** Whether what the socket still reads is dropped (the link closed, or the guard stopped it). */
  get readsDropped (): boolean {
    return this.stopped
  }

  private stop (err: unknown): void {
    this.stopped = true
    this._parse(Number.MAX_SAFE_INTEGER, () => {})
    this.onViolation(err as Error)
  }
}

const NO_BYTES = new Uint8Array(0)

/**
 * A message the Wire keeps for the link's life (the bitfield is its record of the peer's pieces; the
 * extended handshake's decoded strings are views of it), in memory of its own: as a view it would keep
 * the whole received chunk it came in (a 16 KiB TLS record, a 64 KiB TCP read) for as long.
 */
function ownBytes (message: Uint8Array): Uint8Array {
  return message.buffer.byteLength > message.byteLength ? ownCopy(message) : message
}
/** The shared join of straddling piece messages (straddleBuffer): the largest block a peer may send, with its 9-byte header. */
const PIECE_SCRATCH = Buffer.allocUnsafeSlow(9 + MAX_BLOCK_LENGTH)
let pieceScratchInUse = false
/**
 * Spare buffers for piece messages gathered across borrowed reads (keepLeftover): one is taken by each
 * wire in the middle of a piece message and given back once it is dispatched. Up to 64 wait (1 MiB).
 */
const PENDING_PIECES: Buffer[] = []
const MAX_PENDING_PIECES = 64

/** Whether `view` begins where `buffer` begins (the gathered start of a message). */
function isStartOf (view: Uint8Array, buffer: Buffer): boolean {
  return view.buffer === buffer.buffer && view.byteOffset === buffer.byteOffset
}
const ANNOUNCED_BITFIELD = 1
const ANNOUNCED_EXTENDED_HANDSHAKE = 2

function unmetered (): number {
  return 0
}

function refundRequest (this: GuardedWire): void {
  this.refund()
}

export function createGuardedWire (
  type: 'tcpIncoming' | 'tcpOutgoing', peEnabled: 0 | 1 | 2, onViolation: (err: Error) => void,
  rate: MessageRateLimits = DEFAULT_MESSAGE_RATE
): Wire {
  return new GuardedWire(type, peEnabled, onViolation, rate)
}

/** bittorrent-protocol's `peEnabled` (createGuardedWire's second argument): no MSE. */
export const NO_MSE = 0
/**
 * MSE with RC4 only (crypto_provide and crypto_select 0x02). Its other mode, 1, prefers the plaintext
 * method whenever a peer offers both, which would carry the payload in the clear after an MSE handshake.
 */
export const MSE_RC4_ONLY = 2

/** A closed link's wire takes nothing more its socket reads (GuardedWire.dropReads); other Wires are left as they are. */
export function dropFurtherReads (wire: Wire): void {
  if (wire instanceof GuardedWire) wire.dropReads()
}
