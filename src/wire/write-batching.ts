/**
 * How a Wire's output becomes socket writes.
 *
 * Batching (every transport): bittorrent-protocol pushes every message as its own chunk, and a piece
 * as two (the 13-byte header, then the block). Written one by one that is a system call per chunk and,
 * over TLS, a record per chunk. Everything a Wire pushes within one turn of the event loop is written
 * at the end of the turn as one write. setImmediate, not a microtask: the engine's answers to one
 * event are pushed over several microtasks (promise continuations).
 *
 * Full records (TLS links, BEP: "Wire image"): TLS 1.3 adds a fixed 17 bytes to every record, so a
 * record per message shows the message lengths (a 16,397-byte piece message was a 16,384 + 13 record
 * pair). While bulk data flows, only whole multiples of 16,384 bytes are written, so every record is
 * full, as in an HTTPS download; what is left waits for more data, and leaves when the Wire has been
 * quiet for TAIL_HOLD_MS. Small messages with no bulk data in flight leave at the end of their turn,
 * except while a request we received waits for its block: then they wait for the block (at most
 * FIRST_DATA_HOLD_MS, the time a disk read may take), and leave in its first full record, as a web
 * server's response headers leave with the start of the body. The lab saw the responder's extended
 * handshake leave alone between the initiator's requests and the first block (a 99-byte record no
 * HTTPS download has).
 *
 * Ahead of the kernel (full-record links): at most MAX_AHEAD_OF_KERNEL bytes are handed to the socket
 * and not yet taken by the kernel; the rest waits in the batch until the socket drains. Over TLS, what
 * the kernel has not taken sits inside node:tls as ciphertext (its output BIO), a second copy of blocks
 * the batch would otherwise hold as views into the read cache, and fresh memory for every burst. In a
 * 16-process swarm (three runs each) the sum of peak RSS fell from 2,755–2,813 to 2,341–2,416 MiB and
 * the CPU per GiB delivered from 17.7–18.5 to 15.0–16.4 s; bulk between two processes was no slower
 * (bench/README.md, item 11). The kernel's own send buffer still fills, so a link that can go faster
 * is not kept waiting.
 *
 * The first write also releases a cork set before the Wire started: the bttls responder's AuthReply
 * waits that way for the first BitTorrent messages, so that they leave in one record.
 */
import type { Duplex } from 'node:stream'
import type Wire from 'bittorrent-protocol'
import { sent } from '../storage/lent-views.js'

/** Largest TLS record payload (RFC 8446 §5.1). */
export const RECORD_PAYLOAD = 16_384
/** How long the tail of a bulk transfer waits for more data before it leaves in a short record. */
export const TAIL_HOLD_MS = 2
/** How long small messages wait, after a request arrived, for the block to join them. */
export const FIRST_DATA_HOLD_MS = 20
/** Bytes a full-record link hands its socket beyond what the kernel has taken (above). */
export const MAX_AHEAD_OF_KERNEL = 128 * 1024

interface Pushable {
  push (data: unknown): boolean
}

export interface BatchOptions {
  /** Write bulk data in whole TLS records (TLS links). Default false. */
  readonly fullRecords?: boolean
  /** Default TAIL_HOLD_MS; tests on a loaded machine lengthen it. */
  readonly tailHoldMs?: number
  /** Default FIRST_DATA_HOLD_MS; likewise. */
  readonly firstDataHoldMs?: number
}

/**
 * One wire's batch: what it pushed this turn, and when that leaves (the rules above). A link may idle
 * for hours, so the batch is one object whose timers and listeners are shared functions, not a set of
 * closures per link.
 */
class WriteBatch {
  private pending: Buffer[] = []
  pendingBytes = 0
  private turnScheduled = false
  private tail: NodeJS.Timeout | undefined = undefined
  /** A request arrived and no bulk data has left since: small messages wait for the block. */
  awaitingData = false
  /** Bulk data waits for the socket to drain (MAX_AHEAD_OF_KERNEL). */
  waitingForKernel = false

  constructor (
    readonly socket: Duplex,
    /** The Wire's own push, which the batch replaced (it still carries the end of the stream). */
    readonly push: Pushable['push'],
    private readonly fullRecords: boolean,
    private readonly tailHoldMs: number,
    private readonly firstDataHoldMs: number
  ) {}

  add (chunk: Buffer): void {
    this.pending.push(chunk)
    this.pendingBytes += chunk.length
    if (!this.turnScheduled) {
      this.turnScheduled = true
      setImmediate(endTurn, this)
    }
  }

  /**
   * Writes the first `n` pending bytes to the socket as one write: the chunks themselves, corked, so
   * they leave in one `writev` (plaintext, no copy) or one `SSL_write` (TLS: node:tls joins a
   * multi-buffer write in C++ before encrypting, so records stay full). Not `Buffer.concat`: that
   * copied every byte sent in JavaScript and allocated as much again as external memory, which is what
   * paces V8's full collections (a seeder spent a fifth of its profile on that copy and its GC).
   * Straight to the socket, not through the Wire's stream: a pipe would write it a tick later, after
   * the cork below is released, and costs a hop per chunk.
   */
  private send (n: number): void {
    if (n === 0) return
    this.socket.cork()
    let left = n
    let i = 0
    // The chunks this send writes whole: once its last write completes, they are read no more.
    const whole: Buffer[] = []
    for (; left > 0; i++) {
      const chunk = this.pending[i]!
      if (chunk.length <= left) {
        left -= chunk.length
        whole.push(chunk)
        this.socket.write(chunk, left === 0 ? reportSent(whole) : undefined)
      } else {
        this.socket.write(chunk.subarray(0, left), whole.length > 0 ? reportSent(whole) : undefined)
        this.pending[i] = chunk.subarray(left)
        break
      }
    }
    this.pending.splice(0, i)
    this.pendingBytes -= n
    this.socket.uncork()
  }

  private release (): void {
    while (this.socket.writableCorked > 0) this.socket.uncork()
  }

  flushAll (): void {
    clearTimeout(this.tail)
    this.tail = undefined
    this.awaitingData = false
    this.waitingForKernel = false
    if (!this.socket.destroyed) this.send(this.pendingBytes)
    this.release()
  }

  endOfTurn (): void {
    this.turnScheduled = false
    if (this.socket.destroyed) return
    if (!this.fullRecords) {
      this.send(this.pendingBytes)
    } else if (this.waitingForKernel) {
      // Held until the socket drains, which ends the wait (resumeAfterDrain).
    } else if (this.pendingBytes >= RECORD_PAYLOAD || this.tail !== undefined) {
      // Bulk data in flight: whole records now, as many as the socket may hold ahead of the kernel;
      // the rest when the socket drains, when more comes, or when the Wire goes quiet.
      const whole = this.pendingBytes - this.pendingBytes % RECORD_PAYLOAD
      const room = Math.max(0, MAX_AHEAD_OF_KERNEL - this.socket.writableLength)
      const ahead = Math.min(whole, room - room % RECORD_PAYLOAD)
      this.send(ahead)
      if (ahead < whole) {
        // Wait only while the stream owes a 'drain' (a write found it past its high-water mark), which
        // ends the wait; a socket whose high-water mark is above the bound owes none, and gets the rest now.
        if (this.socket.writableNeedDrain) {
          this.waitingForKernel = true
          clearTimeout(this.tail)
          this.tail = undefined
          this.awaitingData = false
          this.socket.once('drain', resumeAfterDrain)
          this.release()
          return
        }
        this.send(whole - ahead)
      }
      const waitingForFirstBlock = this.awaitingData && whole === 0
      if (whole > 0) this.awaitingData = false
      if (!waitingForFirstBlock) {
        clearTimeout(this.tail)
        this.tail = this.pendingBytes > 0 ? setTimeout(flushTail, this.tailHoldMs, this) : undefined
      }
    } else if (this.awaitingData && this.pendingBytes > 0) {
      // A request waits for its block: the small messages leave with it (or when the hold ends).
      this.tail = setTimeout(flushTail, this.firstDataHoldMs, this)
    } else {
      this.send(this.pendingBytes)
    }
    this.release()
  }
}

/**
 * A write callback that reports `chunks` sent: a cached piece's buffer is read into again only when
 * every block it lent has been sent (storage/lent-views.ts). A write that fails (the socket was
 * destroyed) reports nothing, and those buffers are left to the collector.
 */
function reportSent (chunks: readonly Buffer[]): (err?: Error | null) => void {
  return err => { if (err == null) for (const chunk of chunks) sent(chunk) }
}

/** Each batch by its wire and by its socket. */
const batches = new WeakMap<object, WriteBatch>()

function endTurn (batch: WriteBatch): void {
  batch.endOfTurn()
}

function flushTail (batch: WriteBatch): void {
  batch.flushAll()
}

/** The socket took what it held: the batch's bulk data goes on (a drain listener, `this` the socket). */
function resumeAfterDrain (this: Duplex): void {
  const batch = batches.get(this)
  if (batch === undefined || !batch.waitingForKernel) return
  batch.waitingForKernel = false
  batch.endOfTurn()
}

/** The Wire's push, batched. At the end of the stream what is held leaves, then the socket is ended. */
function batchedPush (this: Pushable, data: unknown): boolean {
  const batch = batches.get(this)!
  if (data === null) {
    batch.flushAll()
    const more = batch.push.call(this, null)
    if (!batch.socket.destroyed) batch.socket.end()
    return more
  }
  if (batch.socket.destroyed) return false
  batch.add(data as Buffer)
  return true
}

function requestArrived (this: object): void {
  batches.get(this)!.awaitingData = true
}

/** A block was pushed: the usual bulk rule takes over (a short last block waits TAIL_HOLD_MS, not more). */
function blockSent (this: object): void {
  batches.get(this)!.awaitingData = false
}

/**
 * Bytes a Wire has sent on `socket` that have not reached the kernel yet: held by the batch, plus the
 * socket's own write buffer. What a peer that never reads makes us keep in memory.
 */
export function queuedBytes (socket: Duplex): number {
  return (batches.get(socket)?.pendingBytes ?? 0) + socket.writableLength
}

/** Everything `wire` pushes goes to `socket` in batches; the end of the wire's stream ends the socket. */
export function batchWrites (wire: Wire, socket: Duplex, options: BatchOptions = {}): void {
  const fullRecords = options.fullRecords === true
  const target = wire as unknown as Pushable
  const batch = new WriteBatch(socket, target.push, fullRecords, options.tailHoldMs ?? TAIL_HOLD_MS, options.firstDataHoldMs ?? FIRST_DATA_HOLD_MS)
  batches.set(wire, batch)
  batches.set(socket, batch)
  if (fullRecords) {
    wire.on('request', requestArrived)
    wire.on('upload', blockSent)
  }
  target.push = batchedPush
}

/** Sends whatever a batch still holds (before the socket is destroyed, so nothing queued is lost). */
export function flushBatchedWrites (socket: Duplex): void {
  const batch = batches.get(socket)
  if (batch !== undefined) batch.flushAll()
  else while (socket.writableCorked > 0) socket.uncork()
}
