/**
 * How a Wire's output becomes socket writes.
 *
 * Batching (every transport): bittorrent-protocol pushes every message as its own chunk, and a piece
 * as two (the 13-byte header, then the block). Written one by one that is a system call per chunk and,
 * over TLS, a record per chunk. Everything a Wire pushes within one turn of the event loop is written
 * at the end of the turn as one write. setImmediate, not a microtask: the pipe drains the Wire in a
 * microtask, after the push.
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
 * The first write also releases a cork set before the Wire started: the bttls responder's AuthReply
 * waits that way for the first BitTorrent messages, so that they leave in one record.
 */
import type { Duplex } from 'node:stream'
import type Wire from 'bittorrent-protocol'

/** Largest TLS record payload (RFC 8446 §5.1). */
export const RECORD_PAYLOAD = 16_384
/** How long the tail of a bulk transfer waits for more data before it leaves in a short record. */
export const TAIL_HOLD_MS = 2
/** How long small messages wait, after a request arrived, for the block to join them. */
export const FIRST_DATA_HOLD_MS = 20

interface Pushable {
  push (data: unknown): boolean
}

const flushers = new WeakMap<Duplex, () => void>()
const pendingBytesOf = new WeakMap<Duplex, () => number>()

/**
 * Bytes a Wire has sent on `socket` that have not reached the kernel yet: held by the batch, plus the
 * socket's own write buffer. What a peer that never reads makes us keep in memory.
 */
export function queuedBytes (socket: Duplex): number {
  return (pendingBytesOf.get(socket)?.() ?? 0) + socket.writableLength
}

export interface BatchOptions {
  /** Write bulk data in whole TLS records (TLS links). Default false. */
  readonly fullRecords?: boolean
  /** Default TAIL_HOLD_MS; tests on a loaded machine lengthen it. */
  readonly tailHoldMs?: number
  /** Default FIRST_DATA_HOLD_MS; likewise. */
  readonly firstDataHoldMs?: number
}

export function batchWrites (wire: Wire, socket: Duplex, options: BatchOptions = {}): void {
  const fullRecords = options.fullRecords === true
  const tailHoldMs = options.tailHoldMs ?? TAIL_HOLD_MS
  const firstDataHoldMs = options.firstDataHoldMs ?? FIRST_DATA_HOLD_MS
  const target = wire as unknown as Pushable
  const push = target.push
  let pending: Buffer[] = []
  let pendingBytes = 0
  let turnScheduled = false
  let tail: NodeJS.Timeout | undefined
  /** A request arrived and no bulk data has left since: small messages wait for the block. */
  let awaitingData = false
  if (fullRecords) {
    wire.on('request', () => { awaitingData = true })
    // A block was pushed: the usual bulk rule takes over (a short last block waits TAIL_HOLD_MS, not more).
    wire.on('upload', () => { awaitingData = false })
  }

  /**
   * Writes the first `n` pending bytes to the socket as one write. Straight to the socket, not through
   * the Wire's stream: the pipe would write it a tick later, after the cork below is released, and costs
   * a hop per chunk. The pipe still carries the end of the stream.
   */
  const send = (n: number): void => {
    if (n === 0) return
    const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes)
    socket.write(n === all.length ? all : all.subarray(0, n))
    const rest = all.subarray(n)
    pending = rest.length > 0 ? [rest] : []
    pendingBytes = rest.length
  }
  const release = (): void => {
    while (socket.writableCorked > 0) socket.uncork()
  }
  const flushAll = (): void => {
    clearTimeout(tail)
    tail = undefined
    awaitingData = false
    if (!socket.destroyed) send(pendingBytes)
    release()
  }
  const endOfTurn = (): void => {
    turnScheduled = false
    if (socket.destroyed) return
    if (!fullRecords) {
      send(pendingBytes)
    } else if (pendingBytes >= RECORD_PAYLOAD || tail !== undefined) {
      // Bulk data in flight: whole records now, the rest when more comes or the Wire goes quiet.
      const whole = pendingBytes - pendingBytes % RECORD_PAYLOAD
      send(whole)
      const waitingForFirstBlock = awaitingData && whole === 0
      if (whole > 0) awaitingData = false
      if (!waitingForFirstBlock) {
        clearTimeout(tail)
        tail = pendingBytes > 0 ? setTimeout(flushAll, tailHoldMs) : undefined
      }
    } else if (awaitingData && pendingBytes > 0) {
      // A request waits for its block: the small messages leave with it (or when the hold ends).
      tail = setTimeout(flushAll, firstDataHoldMs)
    } else {
      send(pendingBytes)
    }
    release()
  }
  flushers.set(socket, flushAll)
  pendingBytesOf.set(socket, () => pendingBytes)
  target.push = function (data) {
    if (data === null) {
      flushAll()
      return push.call(this, null)
    }
    if (socket.destroyed) return false
    const chunk = data as Buffer
    pending.push(chunk)
    pendingBytes += chunk.length
    if (!turnScheduled) {
      turnScheduled = true
      setImmediate(endOfTurn)
    }
    return true
  }
}

/** Sends whatever a batch still holds (before the socket is destroyed, so nothing queued is lost). */
export function flushBatchedWrites (socket: Duplex): void {
  const flush = flushers.get(socket)
  if (flush) flush()
  else while (socket.writableCorked > 0) socket.uncork()
}
