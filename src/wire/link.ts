/**
 * Builds a PeerLink (peer-link.ts) from a socket and a Wire piped over it. Owns the link's lifetime:
 * the first error recorded is the one reported by `closed`; closing destroys socket and wire.
 */
import type { Duplex } from 'node:stream'
import type Wire from 'bittorrent-protocol'
import { HandshakeTimeoutError, PeerClosedError } from '../errors.js'
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
  readonly remoteAddress: string
  readonly remotePort: number
}

/** Time the peer has to send its BitTorrent handshake once the channel is up. */
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
    : awaitHandshake(wire, closed)
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

/** Subscribes to the wire's 'handshake' event now, so it cannot be missed. */
export function awaitHandshake (wire: Wire, closed: Promise<Error | undefined>): Promise<RemoteHandshake> {
  return new Promise((resolve, reject) => {
    let settled = false
    const timer = setTimeout(() => { settled = true; reject(new HandshakeTimeoutError(`no BitTorrent handshake within ${BT_HANDSHAKE_TIMEOUT_MS} ms`)) }, BT_HANDSHAKE_TIMEOUT_MS)
    wire.once('handshake', (infoHash: string, peerId: string, extensions: Record<string, boolean>) => {
      settled = true
      clearTimeout(timer)
      resolve({ infoHash: Buffer.from(infoHash, 'hex'), peerId: Buffer.from(peerId, 'hex'), extensions })
    })
    void closed.then(err => {
      clearTimeout(timer)
      // Every link closes: an error (and its stack trace) only when it still has someone to tell.
      if (!settled) reject(err ?? new PeerClosedError('peer closed the connection before its BitTorrent handshake'))
    })
  })
}
