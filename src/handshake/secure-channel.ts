/** The result of a finished bttls handshake on either side: a TLS 1.3 socket bound to one swarm. */
import type { TLSSocket } from 'node:tls'
import type { SwarmKey, SwarmLevel } from '../levels/level.js'
import type { LevelName } from '../protocol/auth-message.js'
import { CIPHER_SUITES } from '../protocol/constants.js'
import { TlsCipherSuiteError, TlsVersionError } from '../errors.js'
import type { Deadline } from './deadline.js'

/** What a secured link reports of its TLS session (logs, statistics, the CLI's peer events). */
export interface TlsDetails {
  readonly protocol: string
  readonly cipher: string
  readonly level: LevelName
  /** Set when the link runs libtorrent's SSL-torrent profile (SNI, certificates in TLS) instead of bttls'. */
  readonly profile?: 'libtorrent'
}

export interface SecureChannel {
  readonly socket: TLSSocket
  readonly level: SwarmLevel
  /** The key both proofs verified with; its infoHash names the swarm. */
  readonly swarmKey: SwarmKey
  readonly details: TlsDetails
  /** What is left of the handshake's time: the peer's BitTorrent handshake must arrive before it. */
  readonly deadline: Deadline
}

/**
 * TLS 1.3 or nothing. Both sides offer TLS 1.2 too, as every HTTPS client and server does, so what
 * was negotiated is checked here, before the exporter is trusted for anything.
 */
export function requireTls13 (socket: TLSSocket): 'TLSv1.3' {
  const protocol = socket.getProtocol()
  if (protocol !== 'TLSv1.3') throw new TlsVersionError(`negotiated ${String(protocol)}, the BEP requires TLSv1.3`)
  return protocol
}

/**
 * What was negotiated, checked against the BEP: TLS 1.3 with one of its CIPHER_SUITES. A TLS stack
 * configured to offer more (OpenSSL's AES-CCM suites, for one) could otherwise agree on a suite the
 * BEP does not allow; the check costs nothing where the offer is the library's default.
 */
export function negotiatedDetails (socket: TLSSocket, level: SwarmLevel): TlsDetails {
  const protocol = requireTls13(socket)
  const cipher = socket.getCipher().standardName
  if (!(CIPHER_SUITES as readonly string[]).includes(cipher)) {
    throw new TlsCipherSuiteError(`negotiated ${cipher}, the BEP allows only ${CIPHER_SUITES.join(', ')}`)
  }
  return { protocol, cipher, level: level.name }
}
