/**
 * The initiator's side of a bttls connection (BEP: "Binding the BitTorrent session to the TLS session"),
 * read top to bottom:
 *
 *   1. TLS handshake with the ClientHello of an ordinary HTTPS client (tls-profile.ts); TLS 1.3 or we
 *      close. The responder's certificate is not trusted for anything.
 *   2. exporter := TLS-Exporter(EXPORTER_LABEL, "", 32)
 *   3. send AuthHello with our proof under the swarm key and random padding, in one write (one record).
 *   4. read exactly one AuthReply (bounded in bytes and time) and verify the responder's proof.
 *   5. the level's own peer checks.
 *
 * Only then may the caller send a BitTorrent byte: the BT handshake names the infohash, which a man
 * in the middle must not learn. Any failure destroys the socket.
 *
 * Every step runs before the connection's deadline (deadline.ts; the dialer's, else one made here),
 * narrowed by the BEP's bounds: TLS_HANDSHAKE_TIMEOUT_MS from the ClientHello, AUTH_TIMEOUT_MS from
 * the end of the TLS handshake. The latter also bounds the responder's BitTorrent handshake, which
 * comes in the AuthReply's record.
 */
import { connect, TLSSocket, type ConnectionOptions } from 'node:tls'
import type { Socket } from 'node:net'
import { DecoyAnswerError, LevelMismatchError, PeerClosedError, ProofMismatchError, TlsHandshakeError } from '../errors.js'
import type { SwarmLevel } from '../levels/level.js'
import { authHeader, decodeAuthMessage, encodeAuthMessage, randomPaddingLength } from '../protocol/auth-message.js'
import { readAuthMessage } from './bounded-read.js'
import { withBorrowedReads } from './borrowed-reads.js'
import { Deadline } from './deadline.js'
import { AUTH_TIMEOUT_MS, TLS_HANDSHAKE_TIMEOUT_MS, type CipherSuite } from '../protocol/constants.js'
import { computeProof, connectionExporter, proofMatches } from '../protocol/key-schedule.js'
import { negotiatedDetails, type SecureChannel } from './secure-channel.js'
import { initiatorContext, initiatorOptions } from './tls-profile.js'

export interface OutboundOptions {
  /** Receives SSLKEYLOGFILE lines (for --keylog). */
  readonly keylog?: (line: Buffer) => void
  readonly tlsTimeoutMs?: number
  readonly authTimeoutMs?: number
  /**
   * Offer only these TLS 1.3 suites (a subset of the BEP's CIPHER_SUITES, in preference order). A
   * benchmark and test knob: the responder takes the initiator's order, so this picks the suite.
   */
  readonly cipherSuites?: readonly CipherSuite[]
  /** The connection's deadline, made when it was dialed; default one as long as the BEP's two steps. */
  readonly deadline?: Deadline
}

/**
 * A TLS connection to `target` that makes its own TCP connection and reads through the process's
 * shared buffer (borrowed-reads.ts; node:tls allows that only to such a socket). Its handshake starts
 * once TCP connects ('connect'); the dialer waits for that within its deadline, then runs
 * secureOutbound on it. Throws, before connecting, on suites outside the BEP's.
 */
export function openTls (target: { readonly host: string, readonly port: number, readonly localAddress?: string }, options: Pick<OutboundOptions, 'cipherSuites' | 'keylog'> = {}): TLSSocket {
  // `onread` is a net.connect option that tls.connect passes on; @types/node's ConnectionOptions omits it.
  return withBorrowedReads(onread => startTls({ host: target.host, port: target.port, localAddress: target.localAddress, onread } as ConnectionOptions, options))
}

/**
 * node:tls's client with the initiator's profile and the process's one context per suite list
 * (tls-profile.ts), not one per connection, over `how` (a socket to wrap, or where to connect).
 * Throws, before connecting, on suites outside the BEP's.
 */
function startTls (how: ConnectionOptions, options: Pick<OutboundOptions, 'cipherSuites' | 'keylog'>): TLSSocket {
  const socket = connect({ ...how, ...initiatorOptions(options.cipherSuites), secureContext: initiatorContext(options.cipherSuites) })
  if (options.keylog) socket.on('keylog', options.keylog)
  return socket
}

/**
 * The initiator's procedure over `raw`: a connected TCP socket to run TLS over, or a TLS socket from
 * `openTls` whose handshake is under way (its `keylog` was given to openTls).
 */
export async function secureOutbound (raw: Socket, level: SwarmLevel, options: OutboundOptions = {}): Promise<SecureChannel> {
  let socket: TLSSocket
  try {
    socket = raw instanceof TLSSocket ? raw : startTls({ socket: raw }, options)
  } catch (err) {
    raw.destroy()
    throw err
  }
  const tlsTimeoutMs = options.tlsTimeoutMs ?? TLS_HANDSHAKE_TIMEOUT_MS
  const authTimeoutMs = options.authTimeoutMs ?? AUTH_TIMEOUT_MS
  const deadline = options.deadline ?? Deadline.after(tlsTimeoutMs + authTimeoutMs, 'the dial')
  try {
    await tlsHandshake(socket, deadline.within(tlsTimeoutMs, 'the ClientHello'))
    const authDeadline = deadline.within(authTimeoutMs, 'the end of the TLS handshake')
    const details = negotiatedDetails(socket, level)
    const exporter = connectionExporter(socket)

    const swarmKey = level.swarmKeys[0]!
    const flags = level.authFlags()
    const header = authHeader(level.name, flags)
    socket.write(encodeAuthMessage({
      level: level.name, flags, proof: computeProof(swarmKey.key, 'initiator', header, exporter), ...level.authPayload('initiator', header, exporter), padding: randomPaddingLength()
    }))

    const notServed = `it does not serve this swarm at level ${level.name}${level.credential === undefined ? '' : `, or our ${level.credential} is not the swarm's`}`
    const reply = decodeAuthMessage(await readAuthMessage(socket, authDeadline, 'AuthReply', level.name).catch((err: Error) => {
      if (err instanceof PeerClosedError) throw new PeerClosedError(`the responder closed without an AuthReply: ${notServed}`)
      if (err instanceof DecoyAnswerError) throw new DecoyAnswerError(`the responder answered as a web server: ${notServed}`)
      throw err
    }))
    if (reply.level !== level.name) {
      throw new LevelMismatchError(`responder answered at level ${reply.level}, we asked for ${level.name}`)
    }
    const replyHeader = authHeader(reply.level, reply.flags)
    if (!proofMatches(computeProof(swarmKey.key, 'responder', replyHeader, exporter), reply.proof)) {
      throw new ProofMismatchError('the responder\'s proof does not verify: it does not know the swarm key, or a man in the middle is relaying')
    }
    await authDeadline.race(Promise.resolve(level.verifyPeer({ role: 'initiator', socket, exporter, peerHeader: replyHeader, peerSignature: reply.signature, peerCertificate: reply.certificate })), 'the level\'s peer checks not finished')
    return { socket, level, swarmKey, details, deadline: authDeadline }
  } catch (err) {
    socket.destroy()
    raw.destroy()
    throw err
  }
}

function tlsHandshake (socket: TLSSocket, deadline: Deadline): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      stopWatch()
      socket.off('secureConnect', onSecure)
      socket.off('error', onError)
      socket.off('close', onClose)
      if (err) reject(err)
      else resolve()
    }
    const onSecure = (): void => done()
    const onError = (err: Error): void => done(new TlsHandshakeError(`TLS handshake failed: ${err.message}`, { cause: err }))
    const onClose = (): void => done(new TlsHandshakeError('peer closed the connection during the TLS handshake'))
    const stopWatch = deadline.whenExpired(() => done(deadline.timeout('TLS handshake not finished')))
    socket.once('secureConnect', onSecure)
    socket.once('error', onError)
    socket.once('close', onClose)
  })
}
