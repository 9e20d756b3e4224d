/**
 * The responder's side of a bttls connection, read top to bottom, every step before the connection's
 * deadline (deadline.ts), which the listener created when it accepted the connection:
 *
 *   1. TLS handshake as an ordinary HTTPS server would do it (tls-profile.ts), with an ordinary
 *      certificate that authenticates nothing (responder-certificate.ts).
 *   From here on, AUTH_TIMEOUT_MS from the end of the TLS handshake (BEP) narrows the deadline; what
 *   is left of it bounds the initiator's BitTorrent handshake too (the channel carries it).
 *   2. TLS 1.3 or it is not ours. exporter := TLS-Exporter(EXPORTER_LABEL, "", 32)
 *   3. read the first record of application data, in one read, whatever it holds; it must be exactly
 *      one AuthHello.
 *   4. find the swarm: try the key of every swarm we serve at the offered level (swarm-search.ts).
 *   5. the level's own peer checks (publisher signature, certificate), then AuthReply with our proof,
 *      held back so that the caller's first BitTorrent messages leave in the same record.
 *
 * Anything that fails in steps 2 to 5 is not a bttls peer of ours, and gets what a web server gives a
 * visitor: the outcome is 'decoy', with the bytes already read, for the caller to hand to its decoy
 * site. A prober cannot tell a wrong proof, an unknown swarm, a wrong level and a web request apart.
 */
import { createServer, type Server, type TLSSocket } from 'node:tls'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { adoptBorrowedReads } from './borrowed-reads.js'
import type { Socket } from 'node:net'
import { BttlsError, ConnectionLimitError, LevelMismatchError, PeerClosedError, ProbeLimitError, UnknownSwarmError } from '../errors.js'
import { ServerHandshakes } from './server-handshakes.js'
import { authHeader, decodeAuthMessage, encodeAuthMessage, randomPaddingLength } from '../protocol/auth-message.js'
import { readFirstRecord } from './bounded-read.js'
import { Deadline } from './deadline.js'
import { AUTH_TIMEOUT_MS } from '../protocol/constants.js'
import { computeProof, connectionExporter } from '../protocol/key-schedule.js'
import { searchSwarms, type SwarmCandidate } from './swarm-search.js'
import { negotiatedDetails, requireTls13, type SecureChannel } from './secure-channel.js'
import { CERTIFICATE_ROTATION_MS, createResponderCertificate, type CertificateAndKey } from '../pki/responder-certificate.js'
import { responderContextOptions } from './tls-profile.js'
import { ProbeLimit } from './probe-limit.js'
import type { HeldConnections } from './held-connections.js'

export interface InboundChannel<T> extends SecureChannel {
  readonly swarm: T
}

/** What an accepted TLS connection turned out to be. */
export type InboundOutcome<T> =
  | { readonly kind: 'peer', readonly channel: InboundChannel<T> }
  /** Not a bttls peer of ours: `received` is what was read of it; `reason` says why, for our log only. */
  | { readonly kind: 'decoy', readonly socket: TLSSocket, readonly received: Buffer, readonly reason: BttlsError }

/**
 * The TLS handshake bound of Node's https.Server (its `handshakeTimeout` default): a prober that stalls
 * mid-handshake sees the timing of an ordinary Node web server. It is also the default deadline of a
 * whole inbound connection (the listener's), so under require-tls, where the TLS stack meets the
 * connection first, the two coincide.
 */
export const RESPONDER_TLS_HANDSHAKE_TIMEOUT_MS = 120_000

export interface ResponderOptions {
  readonly keylog?: (line: Buffer) => void
  readonly tlsTimeoutMs?: number
  readonly authTimeoutMs?: number
  /** The certificate to present (e.g. a real site's); default a generated one, rotated daily. */
  readonly certificate?: CertificateAndKey
  /** Failed visits allowed per source address before it gets only the web site (default DEFAULT_PROBE_LIMITS). */
  readonly probeLimit?: ProbeLimit
  /** Connections held per source address, counted by the caller; past its bound, a web visit. */
  readonly heldConnections?: HeldConnections
}

/** Runs the bttls responder's side for sockets the one-port listener already accepted. */
export class TlsResponder {
  private readonly handshakes: ServerHandshakes
  private rotation: NodeJS.Timeout | undefined

  private constructor (
    private readonly server: Server, private readonly tlsTimeoutMs: number, private readonly authTimeoutMs: number,
    private readonly probeLimit: ProbeLimit, private readonly held: HeldConnections | undefined
  ) {
    this.handshakes = new ServerHandshakes(server)
  }

  static async create (options: ResponderOptions = {}): Promise<TlsResponder> {
    const tlsTimeoutMs = options.tlsTimeoutMs ?? RESPONDER_TLS_HANDSHAKE_TIMEOUT_MS
    const server = createServer({
      ...responderContextOptions(),
      // A visitor that sends its request and half-closes still gets its answer, as from a Node https.Server
      // (whose HTTP layer keeps the socket writable): the decoy must not be handed an already ended socket.
      allowHalfOpen: true,
      ...(options.certificate ?? await createResponderCertificate()),
      handshakeTimeout: tlsTimeoutMs
    })
    if (options.keylog) server.on('keylog', options.keylog)
    const responder = new TlsResponder(server, tlsTimeoutMs, options.authTimeoutMs ?? AUTH_TIMEOUT_MS, options.probeLimit ?? new ProbeLimit(), options.heldConnections)
    if (!options.certificate) {
      responder.rotation = setInterval(() => { void responder.rotateCertificate() }, CERTIFICATE_ROTATION_MS)
      responder.rotation.unref()
    }
    return responder
  }

  /** A fresh generated key and certificate for connections from now on. */
  async rotateCertificate (): Promise<void> {
    this.server.setSecureContext({ ...responderContextOptions(), ...await createResponderCertificate() })
  }

  close (): void {
    clearInterval(this.rotation)
  }

  private connectionDeadline (): Deadline {
    return Deadline.after(this.tlsTimeoutMs, 'accept')
  }

  /**
   * Step 1: the TLS handshake on an accepted TCP socket, before the connection's deadline (default
   * one of the TLS stack's bound from now, for a caller that made none).
   */
  handshake (raw: Socket, deadline = this.connectionDeadline()): Promise<TLSSocket> {
    return this.handshakes.run(raw, deadline)
  }

  /**
   * Steps 1–5. A failed TLS handshake rejects (the TLS stack has already answered as any web server
   * would) and so does a peer that closes; every other failure is a 'decoy' outcome. The connection's
   * deadline bounds every step.
   */
  async accept<T> (raw: Socket, candidates: () => Iterable<SwarmCandidate<T>>, deadline = this.connectionDeadline()): Promise<InboundOutcome<T>> {
    const address = raw.remoteAddress ?? ''
    let socket: TLSSocket
    try {
      socket = await this.handshake(raw, deadline)
    } catch (err) {
      raw.destroy()
      throw err
    }
    // Its records from now on through the process's shared read buffer (borrowed-reads.ts).
    adoptBorrowedReads(socket)
    // node:tls sends the end of its handshake flight (the session tickets) only once the read that
    // finished the handshake has been handled, and the AuthHello comes in that read: acting on it now
    // held the tickets back 2 to 6 ms, behind our proof check and the swarm's first messages, where a
    // web server, whose request handling is asynchronous, sends them at once. One turn lets them go.
    await nextTurn()
    const authDeadline = deadline.within(this.authTimeoutMs, 'the end of the TLS handshake')
    let received: Buffer = Buffer.alloc(0)
    try {
      requireTls13(socket) // a TLS 1.2 client is a web visitor, not a peer
      const exporter = connectionExporter(socket)
      const first = await readFirstRecord(socket, authDeadline)
      if (first === undefined) throw authDeadline.timeout('no AuthHello')
      received = first
      // Read like any other connection first, so that being limited shows neither in bytes nor in timing.
      if (this.probeLimit.limited(address)) throw new ProbeLimitError(`${address} failed too many proofs lately: a web visit whatever it sends`)
      if (this.held?.over(address) === true) {
        throw new ConnectionLimitError(`${address} holds ${this.held.count(address)} connections, over ${this.held.maxPerAddress}: a web visit whatever it sends`)
      }
      const hello = decodeAuthMessage(first)
      const helloHeader = authHeader(hello.level, hello.flags)

      const match = await searchSwarms(candidates(), { level: hello.level, header: helloHeader, proof: hello.proof }, exporter, authDeadline)
      if (match.kind === 'weaker') {
        throw new LevelMismatchError('the initiator knows the infohash of a Strict torrent served here but not its secret: it offered a Basic proof')
      }
      if (match.kind === 'none') {
        throw new UnknownSwarmError(`no swarm served here matches the initiator's ${hello.level} proof (wrong infohash or secret, or an outsider)`)
      }
      const { level } = match.candidate
      // Check the initiator (signature, certificate) before answering: a peer that fails learns nothing
      // from us, not even that we are a peer.
      await authDeadline.race(Promise.resolve(level.verifyPeer({ role: 'responder', socket, exporter, peerHeader: helloHeader, peerSignature: hello.signature, peerCertificate: hello.certificate })), 'the level\'s peer checks not finished')
      const flags = level.authFlags()
      const header = authHeader(hello.level, flags)
      // Held (corked) until the caller's first BitTorrent messages join it (write-batching.ts releases it
      // with them): the BEP requires the BitTorrent handshake in the AuthReply's record, so it never
      // leaves alone. A link whose wire has written nothing by the auth deadline has failed anyway (the
      // peer's BitTorrent handshake shares that deadline): it is closed, unanswered.
      socket.cork()
      // Not cancelled on close: the link ends the deadline (link.ts), which drops this watch with it.
      authDeadline.whenExpired(() => { if (socket.writableCorked > 0) socket.destroy() })
      socket.write(encodeAuthMessage({
        level: hello.level, flags, proof: computeProof(match.key.key, 'responder', header, exporter), ...level.authPayload('responder', header, exporter), padding: randomPaddingLength()
      }))
      return { kind: 'peer', channel: { socket, level, swarmKey: match.key, swarm: match.candidate.swarm, details: negotiatedDetails(socket, level), deadline: authDeadline } }
    } catch (err) {
      if (err instanceof BttlsError && !(err instanceof PeerClosedError)) {
        this.probeLimit.failed(address)
        return { kind: 'decoy', socket, received, reason: err }
      }
      socket.destroy()
      raw.destroy()
      throw err
    }
  }
}
