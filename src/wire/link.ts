/**
 * Builds a PeerLink (peer-link.ts) from a socket and a Wire piped over it. Owns the link's lifetime:
 * the first error recorded is the one reported by `closed`; closing destroys socket and wire.
 */
import type { Duplex } from 'node:stream'
import type Wire from 'bittorrent-protocol'
import { PeerClosedError } from '../errors.js'
import type { Deadline } from '../handshake/deadline.js'
import { AUTH_TIMEOUT_MS } from '../protocol/constants.js'
import type { PeerLink, RemoteHandshake, TlsDetails, TransportKind } from './peer-link.js'
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
  /** The connection's deadline: the peer's handshake, if still awaited, must arrive before it. */
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

export function createLink (parts: LinkParts): LinkControl {
  let error: Error | undefined
  let isClosed = false
  let resolveClosed!: (err: Error | undefined) => void
  const closed = new Promise<Error | undefined>(resolve => { resolveClosed = resolve })
  const { socket, wire } = parts

  const close = (err?: Error): void => {
    if (err && !error) error = err
    if (isClosed) return
    isClosed = true
    flushBatchedWrites(socket)
    socket.destroy()
    wire.destroy()
    resolveClosed(error)
  }
  socket.on('error', (err: Error) => close(err))
  socket.once('close', () => close())
  wire.on('error', (err: Error) => close(err))
  wire.once('end', () => close())
  wire.once('finish', () => close())

  const remoteHandshake = parts.remoteHandshake
    ? Promise.resolve(parts.remoteHandshake)
    : awaitHandshake(wire, closed, parts.deadline)
  // The engine may never await it (e.g. on early close); avoid an unhandled rejection.
  remoteHandshake.catch(() => {})
  remoteHandshake.catch((err: Error) => close(err))

  const link: PeerLink = {
    wire,
    transport: parts.transport,
    direction: parts.direction,
    remoteAddress: parts.remoteAddress,
    remotePort: parts.remotePort,
    infoHash: parts.infoHash,
    tls: parts.tls,
    remoteHandshake,
    closed,
    close,
    queuedBytes: () => queuedBytes(socket)
  }
  return { link, fail: close }
}

/** Subscribes to the wire's 'handshake' event now, so it cannot be missed; rejects at the deadline. */
export function awaitHandshake (wire: Wire, closed: Promise<Error | undefined>, deadline: Deadline): Promise<RemoteHandshake> {
  const handshake = new Promise<RemoteHandshake>((resolve, reject) => {
    let settled = false
    wire.once('handshake', (infoHash: string, peerId: string, extensions: Record<string, boolean>) => {
      settled = true
      resolve({ infoHash: Buffer.from(infoHash, 'hex'), peerId: Buffer.from(peerId, 'hex'), extensions })
    })
    void closed.then(err => {
      // Every link closes: an error (and its stack trace) only when it still has someone to tell.
      if (!settled) reject(err ?? new PeerClosedError('peer closed the connection before its BitTorrent handshake'))
    })
  })
  return deadline.race(handshake, 'no BitTorrent handshake')
}
