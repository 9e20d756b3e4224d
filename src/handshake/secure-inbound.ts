/**
 * The responder's side of a bttls connection, read top to bottom:
 *
 *   1. TLS 1.3 handshake with a certificate that authenticates nothing (see throwaway-cert.ts).
 *   2. exporter := TLS-Exporter(EXPORTER_LABEL, "", 32)
 *   3. read exactly one AuthHello (bounded in bytes and time).
 *   4. find the swarm: try the key of every swarm we serve at the offered level, as MSE's responder
 *      tries HASH('req2', infohash) for every torrent. No match: close without a word.
 *   5. the level's own peer checks (publisher signature, certificate), then AuthReply with our proof.
 *
 * The caller then sends its BitTorrent handshake first (the responder speaks first in bttls).
 */
import { createServer, type Server, type TLSSocket } from 'node:tls'
import type { Socket } from 'node:net'
import { LevelMismatchError, UnknownSwarmError } from '../errors.js'
import { ServerHandshakes } from './server-handshakes.js'
import { basicSwarmKey } from '../levels/basic.js'
import type { SwarmKey, SwarmLevel } from '../levels/level.js'
import { authHeader, decodeAuthMessage, encodeAuthMessage } from './auth-message.js'
import { readAuthMessage } from './bounded-read.js'
import { AUTH_TIMEOUT_MS, TLS_HANDSHAKE_TIMEOUT_MS } from './constants.js'
import { computeProof, connectionExporter, proofMatches } from './key-schedule.js'
import { negotiatedDetails, type SecureChannel } from './secure-channel.js'
import { createThrowawayCertificate } from './throwaway-cert.js'
import { responderContextOptions } from './tls-profile.js'

/** A swarm the responder serves, with whatever the caller wants back when it matches. */
export interface SwarmCandidate<T> {
  readonly level: SwarmLevel
  readonly swarm: T
}

export interface InboundChannel<T> extends SecureChannel {
  readonly swarm: T
}

export interface ResponderOptions {
  readonly keylog?: (line: Buffer) => void
  readonly tlsTimeoutMs?: number
  readonly authTimeoutMs?: number
}

/** Runs the bttls responder's side for sockets the one-port listener already accepted. */
export class TlsResponder {
  private readonly handshakes: ServerHandshakes

  private constructor (server: Server, private readonly authTimeoutMs: number) {
    this.handshakes = new ServerHandshakes(server)
  }

  static async create (options: ResponderOptions = {}): Promise<TlsResponder> {
    const { cert, key } = await createThrowawayCertificate()
    const server = createServer({
      ...responderContextOptions(),
      cert,
      key,
      handshakeTimeout: options.tlsTimeoutMs ?? TLS_HANDSHAKE_TIMEOUT_MS
    })
    if (options.keylog) server.on('keylog', options.keylog)
    return new TlsResponder(server, options.authTimeoutMs ?? AUTH_TIMEOUT_MS)
  }

  /** Step 1: the TLS handshake on an accepted TCP socket whose first bytes looked like a ClientHello. */
  handshake (raw: Socket): Promise<TLSSocket> {
    return this.handshakes.run(raw)
  }

  /** Steps 1–5. Destroys the connection on any failure. */
  async accept<T> (raw: Socket, candidates: () => Iterable<SwarmCandidate<T>>): Promise<InboundChannel<T>> {
    let socket: TLSSocket | undefined
    try {
      socket = await this.handshake(raw)
      const exporter = connectionExporter(socket)
      const hello = decodeAuthMessage(await readAuthMessage(socket, this.authTimeoutMs, 'AuthHello'))
      const helloHeader = authHeader(hello.level, hello.flags)

      const match = findSwarm(candidates(), hello.level, helloHeader, exporter, hello.proof)
      if (!match) {
        // The peer gets the same silent close either way; only our log says which it was.
        if (hello.level === 'basic' && basicProofForStricterSwarm(candidates(), helloHeader, exporter, hello.proof)) {
          throw new LevelMismatchError('the initiator knows the infohash of a Strict torrent served here but not its secret: it offered a Basic proof')
        }
        throw new UnknownSwarmError(`no swarm served here matches the initiator's ${hello.level} proof (wrong infohash or secret, or an outsider)`)
      }
      const { level } = match.candidate
      const details = negotiatedDetails(socket, level)
      // Check the initiator (signature, certificate) before answering: a peer that fails learns nothing
      // from us, not even our certificate.
      await level.verifyPeer({ role: 'responder', socket, exporter, peerHeader: helloHeader, peerSignature: hello.signature, peerCertificate: hello.certificate })
      const flags = level.authFlags()
      const header = authHeader(hello.level, flags)
      socket.write(encodeAuthMessage({
        level: hello.level, flags, proof: computeProof(match.key.key, 'responder', header, exporter), signature: level.authExtension('responder', header, exporter),
        certificate: level.authCertificate?.('responder', header, exporter)
      }))
      return { socket, level: match.candidate.level, swarmKey: match.key, swarm: match.candidate.swarm, details }
    } catch (err) {
      socket?.destroy()
      raw.destroy()
      throw err
    }
  }
}

/** Whether a Basic proof was made with the infohash of a swarm we serve at a stricter level. */
function basicProofForStricterSwarm<T> (candidates: Iterable<SwarmCandidate<T>>, header: Buffer, exporter: Buffer, proof: Uint8Array): boolean {
  let found = false // no early exit: the close must not come sooner or later for a served infohash
  for (const candidate of candidates) {
    if (candidate.level.name === 'basic') continue
    for (const key of candidate.level.swarmKeys) {
      if (proofMatches(computeProof(basicSwarmKey(key.infoHash).key, 'initiator', header, exporter), proof)) found = true
    }
  }
  return found
}

/** Tries every key; no early exit, so the time taken does not say which swarm matched. */
function findSwarm<T> (
  candidates: Iterable<SwarmCandidate<T>>, level: string, header: Buffer, exporter: Buffer, proof: Uint8Array
): { candidate: SwarmCandidate<T>, key: SwarmKey } | undefined {
  let found: { candidate: SwarmCandidate<T>, key: SwarmKey } | undefined
  for (const candidate of candidates) {
    if (candidate.level.name !== level) continue
    for (const key of candidate.level.swarmKeys) {
      if (proofMatches(computeProof(key.key, 'initiator', header, exporter), proof) && !found) found = { candidate, key }
    }
  }
  return found
}
