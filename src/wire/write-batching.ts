/**
 * Batches what a Wire sends within one turn of the event loop into one socket write.
 *
 * bittorrent-protocol pushes every message as its own chunk, and a piece as two (the 13-byte header,
 * then the block), and the pipe writes each chunk on its own. With Nagle off that is a system call
 * per chunk; over TLS it is also a TLS record per chunk (a 13-byte record before every 16 KiB block,
 * and a 17-byte record per request). Corking the socket on the first chunk of a turn and uncorking
 * it in setImmediate hands the whole turn's output to one writev, which node:tls packs into full
 * records. setImmediate, not a microtask: the pipe drains the Wire in a microtask, after the push.
 */
import type { Duplex } from 'node:stream'
import type Wire from 'bittorrent-protocol'

interface Pushable {
  push (data: unknown): boolean
}

export function batchWrites (wire: Wire, socket: Duplex): void {
  const target = wire as unknown as Pushable
  const push = target.push
  let corked = false
  const flush = (): void => {
    corked = false
    socket.uncork()
  }
  target.push = function (data) {
    if (!corked && data !== null && !socket.destroyed) {
      corked = true
      socket.cork()
      setImmediate(flush)
    }
    return push.call(this, data)
  }
}

/** Sends whatever a batch still holds (before the socket is destroyed, so nothing queued is lost). */
export function flushBatchedWrites (socket: Duplex): void {
  while (socket.writableCorked > 0) socket.uncork()
}
