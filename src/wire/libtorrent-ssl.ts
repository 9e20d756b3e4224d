/**
 * libtorrent SSL-torrent compatibility profile (BEP: "Full Strict", "libtorrent compatibility").
 *
 * libtorrent 2.0 speaks to SSL torrents (info["ssl-cert"]) like this: TLS with SNI = the lowercase hex
 * v1 infohash (v2-only torrents: the first 40 hex digits of the v2 infohash), mutual certificates that
 * chain to the torrent's CA and whose SAN DNS name (else last CN) is the torrent name or "*", then a
 * plain BitTorrent handshake inside TLS. bttls speaks it to interoperate, on the same port as
 * everything else: a ClientHello that carries SNI selects this profile. It keeps libtorrent's flaw —
 * the infohash in cleartext SNI — so bttls only ever dials with it to peers known to need it.
 */
import { connect, createSecureContext, createServer, type Server, type TLSSocket } from 'node:tls'
import type { Socket } from 'node:net'
import { CertificateRequiredError, TlsHandshakeError, UnknownSwarmError } from '../errors.js'
import { TLS_HANDSHAKE_TIMEOUT_MS } from '../protocol/constants.js'
import type { Deadline } from '../handshake/deadline.js'
import { ServerHandshakes } from '../handshake/server-handshakes.js'
import { verifyPeerCertificate, type TorrentBinding } from '../pki/certificate-profile.js'
import type { CertificateSource } from '../levels/full-strict/certificate-source.js'
import { responderContextOptions, initiatorOptions } from '../handshake/tls-profile.js'
import { BT_HANDSHAKE_TIMEOUT_MS } from './link.js'
import type { TlsDetails } from './peer-link.js'

export interface LibtorrentSslSwarm {
  readonly binding: TorrentBinding
  readonly caCertPem: string
  readonly certificates: CertificateSource
  /** The 20-byte infohash the BitTorrent handshake inside carries (v1, or truncated v2). */
  readonly wireInfoHash: Buffer
}

/** The SNI libtorrent sends and expects for a torrent. */
export function libtorrentSni (t: { infoHashV1?: Uint8Array, infoHashV2?: Uint8Array }): string {
  if (t.infoHashV1) return Buffer.from(t.infoHashV1).toString('hex')
  return Buffer.from(t.infoHashV2!).toString('hex').slice(0, 40)
}

export const LIBTORRENT_PROFILE_DETAILS = (socket: TLSSocket): TlsDetails => ({
  protocol: String(socket.getProtocol()), cipher: socket.getCipher().standardName, level: 'full-strict', profile: 'libtorrent'
})

/** Server side: a ClientHello with SNI reached us; find the torrent, present our certificate, check theirs. */
export class LibtorrentSslResponder {
  private readonly server: Server
  private readonly handshakes: ServerHandshakes

  constructor (private readonly swarms: () => Iterable<LibtorrentSslSwarm>, keylog?: (line: Buffer) => void) {
    this.server = createServer({
      ...responderContextOptions(),
      requestCert: true,
      rejectUnauthorized: false, // verified below, against the torrent's CA and libtorrent's name rule
      handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
      SNICallback: (servername, cb) => {
        const swarm = this.find(servername)
        const credential = swarm?.certificates.current()
        if (!swarm || !credential) { cb(new UnknownSwarmError(`no SSL torrent for SNI ${servername.slice(0, 64)}`)); return }
        cb(null, createSecureContext({ ...responderContextOptions(), cert: credential.certPem, key: credential.keyPem, ca: swarm.caCertPem }))
      }
    })
    if (keylog) this.server.on('keylog', keylog)
    this.handshakes = new ServerHandshakes(this.server, 'libtorrent-profile')
  }

  /** libtorrent reads the first 40 characters of the SNI as hex, case-insensitively. */
  find (servername: string): LibtorrentSslSwarm | undefined {
    const wanted = servername.slice(0, 40).toLowerCase()
    for (const swarm of this.swarms()) if (libtorrentSni(swarm.binding) === wanted) return swarm
    return undefined
  }

  /**
   * The TLS handshake within TLS_HANDSHAKE_TIMEOUT_MS and the connection's deadline; `deadline` is
   * what is left for the peer's BitTorrent handshake.
   */
  async accept (raw: Socket, servername: string, connection: Deadline): Promise<{ socket: TLSSocket, swarm: LibtorrentSslSwarm, deadline: Deadline }> {
    const swarm = this.find(servername)
    if (!swarm) { raw.destroy(); throw new UnknownSwarmError(`no SSL torrent here for SNI ${servername.slice(0, 64)}`) }
    const socket = await this.handshakes.run(raw, connection.within(TLS_HANDSHAKE_TIMEOUT_MS, 'the ClientHello'))
    try {
      checkPeer(socket, swarm)
      return { socket, swarm, deadline: connection.within(BT_HANDSHAKE_TIMEOUT_MS, 'the end of the TLS handshake') }
    } catch (err) {
      socket.destroy()
      throw err
    }
  }
}

/**
 * Client side: dial a libtorrent SSL-torrent peer (SNI = infohash, mutual certificates), the TLS
 * handshake within TLS_HANDSHAKE_TIMEOUT_MS and the connection's deadline.
 */
export async function libtorrentSslConnect (raw: Socket, swarm: LibtorrentSslSwarm, connection: Deadline, keylog?: (line: Buffer) => void): Promise<TLSSocket> {
  const credential = swarm.certificates.current()
  if (!credential) throw new CertificateRequiredError('no certificate for this SSL torrent yet')
  const socket = connect({
    ...initiatorOptions(),
    socket: raw,
    servername: libtorrentSni(swarm.binding),
    cert: credential.certPem,
    key: credential.keyPem,
    ca: swarm.caCertPem,
    rejectUnauthorized: false, // the peer names the torrent, not the SNI: checked by checkPeer
    checkServerIdentity: () => undefined
  })
  if (keylog) socket.on('keylog', keylog)
  try {
    const handshake = new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve())
      socket.once('error', err => reject(new TlsHandshakeError(`libtorrent-profile TLS handshake failed: ${err.message}`, { cause: err })))
      socket.once('close', () => reject(new TlsHandshakeError('peer closed the connection during the TLS handshake')))
    })
    await connection.within(TLS_HANDSHAKE_TIMEOUT_MS, 'the ClientHello').race(handshake, 'TLS handshake not finished')
    checkPeer(socket, swarm)
    return socket
  } catch (err) {
    socket.destroy()
    raw.destroy()
    throw err
  }
}

function checkPeer (socket: TLSSocket, swarm: LibtorrentSslSwarm): void {
  if (socket.getProtocol() !== 'TLSv1.3') throw new TlsHandshakeError(`negotiated ${String(socket.getProtocol())}, bttls requires TLSv1.3`)
  const peer = socket.getPeerX509Certificate()
  if (!peer) throw new CertificateRequiredError('the libtorrent peer presented no certificate')
  verifyPeerCertificate({ certDer: peer.raw, caCertPem: swarm.caCertPem, torrent: swarm.binding, revokedSerials: swarm.certificates.revokedSerials(), binding: 'libtorrent' })
}
