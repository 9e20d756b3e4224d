/**
 * Runs the TLS handshakes of a node:tls Server that never listens, on sockets accepted by the one-port
 * listener. A real tls.Server does the work so that a visitor meets exactly what a Node HTTPS server
 * runs (the same connection listener, session handling and error path). Used by the bttls responder
 * and by libtorrent's SSL-torrent profile.
 */
import type { Server, TLSSocket } from 'node:tls'
import type { Socket } from 'node:net'
import { HandshakeTimeoutError, TlsHandshakeError } from '../errors.js'
import type { Deadline } from './deadline.js'

interface Pending { resolve: (socket: TLSSocket) => void, reject: (err: Error) => void }

export class ServerHandshakes {
  /** Handshakes under way, by the TCP connection's four-tuple (connectionKey). */
  private readonly pending = new Map<string, Pending>()

  /** @param what names the profile in error messages (e.g. "libtorrent-profile"). */
  constructor (private readonly server: Server, what = '') {
    const prefix = what === '' ? 'TLS' : `${what} TLS`
    server.on('secureConnection', (socket: TLSSocket) => this.settle(socket, null))
    server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
      this.settle(socket, err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT'
        ? new HandshakeTimeoutError(`${prefix} handshake not finished in time`, { cause: err })
        : new TlsHandshakeError(`${prefix} handshake failed: ${err.message}`, { cause: err }))
    })
  }

  /**
   * The TLS handshake on an accepted TCP socket, before the connection's deadline; rejects with a
   * typed error, at the deadline (the socket destroyed), or if the peer closes.
   */
  run (raw: Socket, deadline: Deadline): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      const key = connectionKey(raw)
      if (key === undefined || this.pending.has(key)) {
        raw.destroy()
        reject(new TlsHandshakeError('peer closed the connection before the TLS handshake'))
        return
      }
      const done = (): void => {
        this.pending.delete(key)
        raw.off('close', onClose)
        stopWatch()
      }
      const onClose = (): void => { done(); reject(new TlsHandshakeError('peer closed the connection during the TLS handshake')) }
      const stopWatch = deadline.whenExpired(() => { done(); raw.destroy(); reject(deadline.timeout('TLS handshake not finished')) })
      raw.once('close', onClose)
      this.pending.set(key, {
        resolve: (s) => { done(); resolve(s) },
        reject: (e) => { done(); reject(e) }
      })
      this.server.emit('connection', raw)
    })
  }

  private settle (socket: TLSSocket, err: Error | null): void {
    const key = connectionKey(socket)
    const waiter = key === undefined ? undefined : this.pending.get(key)
    // Not ours any more: its handshake was settled by a close or the deadline.
    if (!waiter) { socket.destroy(); return }
    if (err) waiter.reject(err)
    else waiter.resolve(socket)
  }
}

/**
 * The TCP four-tuple, through the public address getters. It matches the TLSSocket the server emits
 * to the socket we handed it because that TLSSocket wraps the accepted socket's own handle (no new
 * connection), so its getters report the same connection; and a four-tuple names one open TCP
 * connection at a time. A socket already closed has no address: its handshake is settled by its
 * 'close', not here.
 */
function connectionKey (socket: Socket): string | undefined {
  const { localAddress, localPort, remoteAddress, remotePort } = socket
  if (localAddress === undefined || remoteAddress === undefined) return undefined
  return `${localAddress}|${localPort ?? ''}|${remoteAddress}|${remotePort ?? ''}`
}
