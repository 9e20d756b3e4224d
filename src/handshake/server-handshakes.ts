/**
 * Runs the TLS handshakes of a node:tls Server that never listens, on sockets accepted by the one-port
 * listener. A real tls.Server does the work because only a server-owned TLSSocket reports keylog lines.
 * Used by the bttls responder and by libtorrent's SSL-torrent profile.
 */
import type { Server, TLSSocket } from 'node:tls'
import type { Socket } from 'node:net'
import { HandshakeTimeoutError, TlsHandshakeError } from '../errors.js'

interface Pending { resolve: (socket: TLSSocket) => void, reject: (err: Error) => void }

export class ServerHandshakes {
  private readonly pending = new WeakMap<Socket, Pending>()

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

  /** The TLS handshake on an accepted TCP socket; rejects with a typed error, or if the peer closes. */
  run (raw: Socket): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      const onClose = (): void => {
        this.pending.delete(raw)
        reject(new TlsHandshakeError('peer closed the connection during the TLS handshake'))
      }
      raw.once('close', onClose)
      this.pending.set(raw, {
        resolve: (s) => { raw.off('close', onClose); resolve(s) },
        reject: (e) => { raw.off('close', onClose); reject(e) }
      })
      this.server.emit('connection', raw)
    })
  }

  private settle (socket: TLSSocket, err: Error | null): void {
    // node:tls keeps the wrapped TCP socket as `_parent`; it is how a server-emitted TLSSocket is
    // matched to the accepted socket we handed in.
    const raw = (socket as unknown as { _parent?: Socket })._parent
    const waiter = raw ? this.pending.get(raw) : undefined
    if (!waiter) { socket.destroy(); return }
    this.pending.delete(raw!)
    if (err) waiter.reject(err)
    else waiter.resolve(socket)
  }
}
