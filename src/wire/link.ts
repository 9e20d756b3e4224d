/**
 * Builds a PeerLink (peer-link.ts) from a socket and a Wire piped over it. Owns the link's lifetime:
 * the first error recorded is the one reported by `closed`; closing destroys the wire, and the socket
 * (a TLS link that ends without an error ends with close_notify first: close-notify.ts).
 *
 * A link may stay idle for hours and a process may hold thousands, so what each one keeps is kept
 * small: one object, and listeners shared by every link (they find theirs from the emitter).
 */
import type { Duplex } from 'node:stream'
import type Wire from 'bittorrent-protocol'
import { PeerClosedError } from '../errors.js'
import type { Deadline } from '../handshake/deadline.js'
import { AUTH_TIMEOUT_MS } from '../protocol/constants.js'
import type { PeerLink, RemoteHandshake, TlsDetails, TransportKind } from './peer-link.js'
import { endWithCloseNotify } from './close-notify.js'
import { dropFurtherReads } from './guarded-wire.js'
import { flushBatchedWrites, queuedBytes } from './write-batching.js'

export interface LinkParts {
  readonly socket: Duplex & { remoteAddress?: string, remotePort?: number }
  readonly wire: Wire
  readonly transport: TransportKind
  readonly direction: 'inbound' | 'outbound'
  readonly infoHash: Buffer
  readonly tls?: TlsDetails
  /** The peer's handshake if it already arrived (plain/MSE inbound), else it is awaited on the wire. */
  readonly remoteHandshake?: RemoteHandshake
  /**
   * The connection's deadline: the peer's handshake, if still awaited, must arrive before it. The
   * link ends it (deadline.ts) once the handshake is in or the link closed.
   */
  readonly deadline: Deadline
  readonly remoteAddress: string
  readonly remotePort: number
}

/**
 * Time a plaintext or MSE peer has to send its BitTorrent handshake once the connection is up. Over
 * TLS it is what is left of the auth exchange's AUTH_TIMEOUT_MS (the channel's deadline).
 */
export const BT_HANDSHAKE_TIMEOUT_MS = AUTH_TIMEOUT_MS

export interface LinkControl {
  link: PeerLink
  /** Record an error (first one wins) and close. */
  fail (err: Error): void
}

/** The link of each socket and wire, for the shared listeners below. */
const linkOf = new WeakMap<object, Link>()

function closeWithError (this: object, err: Error): void {
  linkOf.get(this)?.close(err)
}

function closeQuietly (this: object): void {
  linkOf.get(this)?.close()
}

class Link implements PeerLink, LinkControl {
  readonly wire: Wire
  readonly transport: TransportKind
  readonly direction: 'inbound' | 'outbound'
  readonly remoteAddress: string
  readonly remotePort: number
  readonly infoHash: Buffer
  readonly tls: TlsDetails | undefined
  readonly remoteHandshake: Promise<RemoteHandshake>
  readonly closed: Promise<Error | undefined>
  private readonly socket: Duplex
  private error: Error | undefined
  private isClosed = false
  private resolveClosed!: (err: Error | undefined) => void
  /** Ends the wait for the peer's handshake when the link closes first; dropped once it is in. */
  private abandonHandshake: ((err?: Error) => void) | undefined

  constructor (parts: LinkParts) {
    this.wire = parts.wire
    this.socket = parts.socket
    this.transport = parts.transport
    this.direction = parts.direction
    this.remoteAddress = parts.remoteAddress
    this.remotePort = parts.remotePort
    this.infoHash = parts.infoHash
    this.tls = parts.tls
    this.closed = new Promise<Error | undefined>(resolve => { this.resolveClosed = resolve })
    linkOf.set(this.socket, this)
    linkOf.set(this.wire, this)
    // close() is idempotent, so `on` does: `once` would add a wrapper per listener and link.
    this.socket.on('error', closeWithError)
    this.socket.on('close', closeQuietly)
    this.wire.on('error', closeWithError)
    this.wire.on('end', closeQuietly)
    this.wire.on('finish', closeQuietly)

    const { deadline } = parts
    if (parts.remoteHandshake !== undefined) {
      deadline.end()
      this.remoteHandshake = Promise.resolve(parts.remoteHandshake)
    } else {
      const wait = awaitHandshake(this.wire, deadline)
      this.abandonHandshake = wait.abandon
      this.remoteHandshake = wait.handshake
      // The engine may never await it (e.g. on early close); a failure closes the link.
      this.remoteHandshake.then(
        () => { this.abandonHandshake = undefined; deadline.end() },
        (err: Error) => { this.abandonHandshake = undefined; deadline.end(); this.close(err) }
      )
    }
  }

  get link (): PeerLink {
    return this
  }

  fail (err: Error): void {
    this.close(err)
  }

  close (err?: Error): void {
    if (err && !this.error) this.error = err
    if (this.isClosed) return
    this.isClosed = true
    flushBatchedWrites(this.socket)
    dropFurtherReads(this.wire)
    // A TLS link that ends well ends as HTTPS does (close-notify.ts); any other is closed at once.
    if (this.transport === 'tls' && this.error === undefined) endWithCloseNotify(this.socket)
    else this.socket.destroy()
    this.wire.destroy()
    this.abandonHandshake?.(this.error)
    this.resolveClosed(this.error)
  }

  queuedBytes (): number {
    return queuedBytes(this.socket)
  }
}

export function createLink (parts: LinkParts): LinkControl {
  return new Link(parts)
}

export interface HandshakeWait {
  /** The peer's BitTorrent handshake; rejects at the deadline, or when abandoned first. */
  readonly handshake: Promise<RemoteHandshake>
  /** The connection closed before the handshake: rejects with `err`, or a PeerClosedError. */
  abandon (err?: Error): void
}

/** Subscribes to the wire's 'handshake' event now, so it cannot be missed; rejects at the deadline. */
export function awaitHandshake (wire: Wire, deadline: Deadline): HandshakeWait {
  let abandon!: (err?: Error) => void
  const arrived = new Promise<RemoteHandshake>((resolve, reject) => {
    let settled = false
    wire.once('handshake', (infoHash: string, peerId: string, extensions: Record<string, boolean>) => {
      settled = true
      resolve({ infoHash: Buffer.from(infoHash, 'hex'), peerId: Buffer.from(peerId, 'hex'), extensions })
    })
    abandon = err => {
      // Every link closes: an error (and its stack trace) only when it still has someone to tell.
      if (settled) return
      settled = true
      reject(err ?? new PeerClosedError('peer closed the connection before its BitTorrent handshake'))
    }
  })
  return { handshake: deadline.race(arrived, 'no BitTorrent handshake'), abandon }
}
