/**
 * The bytes a Session's next link lends to its wire through the process's shared read buffer
 * (src/handshake/borrowed-reads.ts), counted as they pass. A process-wide count cannot say which side
 * lent (a seeder's wire reads requests through the same buffer); this counts one wire's.
 */
import type { BorrowedReader } from '../../src/handshake/borrowed-reads.js'
import type { Session } from '../../src/session/session.js'
import type { PeerLink } from '../../src/wire/peer-link.js'

export function lentToNextLink (s: Session): { link: Promise<PeerLink>, bytes: () => number } {
  let bytes = 0
  const link = new Promise<PeerLink>(resolve => s.once('link', link => {
    const wire = link.wire as typeof link.wire & BorrowedReader
    const readBorrowed = wire.readBorrowed.bind(wire)
    wire.readBorrowed = chunk => { bytes += chunk.length; return readBorrowed(chunk) }
    resolve(link)
  }))
  return { link, bytes: () => bytes }
}
