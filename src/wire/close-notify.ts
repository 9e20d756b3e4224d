/**
 * How a TLS link ends when nothing went wrong: with TLS close_notify each way, then the TCP FINs, as an
 * HTTPS connection of the wire-image harness's clients and servers ends, rather than with a bare TCP
 * close after the peer wire's last message, which a classifier that looks at the end of a flow sees.
 *
 * node:tls sends close_notify from `end()` (its `_final` runs SSL_shutdown, then shuts the TCP side
 * down); the peer's node:tls answers with its own when it sees ours and ends its side. What the peer
 * still sends meanwhile is read and dropped (the link's wire is already destroyed), so its
 * close_notify and FIN are seen. Bounded: a peer that neither answers nor reads has its connection
 * destroyed after CLOSE_NOTIFY_WAIT_MS. A link closed because of an error is destroyed at once.
 */
import type { Duplex } from 'node:stream'

/**
 * What a close_notify looks like on the wire in TLS 1.3, where alerts are encrypted: an
 * application_data record of 19 bytes (the 2-byte alert, its content type, the 16-byte AEAD tag),
 * shorter than the record of any peer-wire message (a 4-byte keep-alive makes 21).
 */
export const TLS13_CLOSE_NOTIFY_RECORD: readonly [number, number] = [0x17, 19]

/** How long a closing TLS link waits for the peer's close_notify and FIN before it destroys the socket. */
export const CLOSE_NOTIFY_WAIT_MS = 1_000

/** Ends `socket` (a TLS socket) with close_notify, and destroys it if the peer has not closed in time. */
export function endWithCloseNotify (socket: Duplex): void {
  if (socket.destroyed) return
  const timer = setTimeout(destroySocket, CLOSE_NOTIFY_WAIT_MS, socket)
  timer.unref()
  socket.once('close', () => clearTimeout(timer))
  socket.end()
  // Read on to the peer's end, whatever the back-pressure of the wire was.
  socket.resume()
}

function destroySocket (socket: Duplex): void {
  socket.destroy()
}
