/**
 * One listening port for every torrent and every transport (BEP: "Same-port detection").
 * Under require-tls, the probe-resistant posture, every connection goes to the TLS stack as it would
 * on a web server: no byte is read before it, so garbage, plaintext BitTorrent and MSE meet what any
 * Node HTTPS server answers. Under the other policies each connection is classified by its first bytes
 * (sniff.ts) and then:
 *
 *   tls    tls-accept.ts: bttls handshake (secure-inbound.ts), the initiator's proof selects the swarm;
 *          a TLS connection that is not a bttls peer of ours goes to the decoy web site (decoy.ts).
 *   plain  legacy-accept.ts: the peer's BEP 3 handshake names the infohash.
 *   mse    legacy-accept.ts: HASH('req2', infohash) XOR HASH('req3', S) selects the swarm.
 *
 * This file routes: it owns the port and the accepted sockets, reads the first bytes (first-bytes.ts)
 * and hands each connection to its acceptor. Each connection gets one deadline when it is accepted
 * (deadline.ts), which every step from the first byte to the peer's BitTorrent handshake runs under.
 *
 * The policy and the swarm's level decide what may join. Refusals are reported as 'refused' events
 * with a typed error; nothing a peer sends can throw out of here.
 */
import { EventEmitter } from 'node:events'
import net from 'node:net'
import { AUTH_TIMEOUT_MS, SNIFF_TIMEOUT_MS } from '../protocol/constants.js'
import { Deadline } from '../handshake/deadline.js'
import { RESPONDER_TLS_HANDSHAKE_TIMEOUT_MS, TlsResponder } from '../handshake/secure-inbound.js'
import type { CertificateAndKey } from '../pki/responder-certificate.js'
import type { Decoy } from './decoy.js'
import { siteDecoy } from './decoy-site.js'
import { classify, readFirstBytes } from './first-bytes.js'
import { LegacyAcceptor } from './legacy-accept.js'
import { LibtorrentSslResponder, type LibtorrentSslSwarm } from './libtorrent-ssl.js'
import type { PeerLink, TransportKind } from './peer-link.js'
import type { Policy } from './policy.js'
import type { ServedSwarm } from './served-swarm.js'
import { TlsAcceptor } from './tls-accept.js'
import { ACCEPT_LIMIT_FACTOR, HeldConnections } from '../handshake/held-connections.js'
import { ConnectionLimitError } from '../errors.js'

export type { ServedSwarm } from './served-swarm.js'

export interface ListenerOptions {
  readonly port?: number
  readonly host?: string
  readonly policy: Policy
  readonly swarms: () => Iterable<ServedSwarm>
  readonly keylog?: (line: Buffer) => void
  readonly sniffTimeoutMs?: number
  /** The TLS stack's handshake bound (default RESPONDER_TLS_HANDSHAKE_TIMEOUT_MS). */
  readonly tlsTimeoutMs?: number
  readonly authTimeoutMs?: number
  /**
   * Each connection's deadline, from accept to the peer's BitTorrent handshake; the steps' own bounds
   * (sniff, TLS, AuthHello) only narrow it. Default RESPONDER_TLS_HANDSHAKE_TIMEOUT_MS, the TLS
   * stack's default bound: under require-tls the TLS stack meets the connection first, so a prober
   * stalling in the TLS handshake is closed when a Node HTTPS server would close it.
   */
  readonly deadlineMs?: number
  /** Who gets TLS visitors that are not our peers; default the built-in site (decoy-site.ts). */
  readonly decoy?: Decoy
  /** The TLS certificate to present; default a generated one (responder-certificate.ts). */
  readonly certificate?: CertificateAndKey
  /** Connections held at once per IPv4 address or IPv6 /64 (held-connections.ts); default 32. */
  readonly maxConnectionsPerAddress?: number
}

export interface Refusal {
  readonly error: Error
  readonly transport?: TransportKind
  readonly remoteAddress: string
  readonly remotePort: number
  /** The connection was handed to the decoy web site rather than closed. */
  readonly decoy?: boolean
}

export interface PeerListenerEvents {
  link: [PeerLink]
  refused: [Refusal]
}

export class PeerListener extends EventEmitter<PeerListenerEvents> {
  private readonly sockets = new Set<net.Socket>()
  private readonly tls: TlsAcceptor
  private readonly legacy: LegacyAcceptor

  private boundPort: number | undefined = undefined

  private constructor (
    private readonly server: net.Server,
    private readonly responder: TlsResponder,
    private readonly decoy: Decoy,
    private readonly options: ListenerOptions,
    private readonly held: HeldConnections
  ) {
    super()
    const libtorrent = new LibtorrentSslResponder(() => libtorrentSwarms(options.swarms()), options.keylog)
    this.tls = new TlsAcceptor(responder, libtorrent, decoy, options.swarms, options.sniffTimeoutMs ?? SNIFF_TIMEOUT_MS, held)
    this.legacy = new LegacyAcceptor(options.policy, options.swarms, options.authTimeoutMs ?? AUTH_TIMEOUT_MS)
    server.on('connection', raw => { void this.route(raw) })
  }

  static async listen (options: ListenerOptions): Promise<PeerListener> {
    const held = new HeldConnections(options.maxConnectionsPerAddress)
    const responder = await TlsResponder.create({ ...options, heldConnections: held })
    // No Nagle, as the dialer and as web servers (node:http's default): a held AuthReply must not wait
    // for the ACK of the session tickets sent just before it.
    const server = net.createServer({ pauseOnConnect: true, noDelay: true })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => { server.off('error', reject); resolve() })
    })
    return new PeerListener(server, responder, options.decoy ?? siteDecoy(), options, held)
  }

  /** Asked on every link (the extended handshake advertises it): read once, not a getsockname each time. */
  get port (): number {
    this.boundPort ??= (this.server.address() as net.AddressInfo).port
    return this.boundPort
  }

  async close (): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    this.responder.close()
    await this.decoy.close()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }

  private async route (raw: net.Socket): Promise<void> {
    const remoteAddress = raw.remoteAddress ?? ''
    const release = this.held.hold(remoteAddress)
    this.sockets.add(raw)
    // `on`, not `once`: 'close' comes once anyway, and a once-wrapper is kept by every idle link.
    raw.on('close', () => { this.sockets.delete(raw); release() })
    raw.on('error', ignoreError) // reported through the step that was waiting on the socket
    const remotePort = raw.remotePort ?? 0
    if (this.held.overAtAccept(remoteAddress)) {
      raw.destroy()
      const error = new ConnectionLimitError(`${remoteAddress} holds ${this.held.count(remoteAddress)} connections, over ${this.held.maxPerAddress * ACCEPT_LIMIT_FACTOR}: closed unread`)
      this.emit('refused', { error, remoteAddress, remotePort })
      return
    }
    const deadline = Deadline.after(this.options.deadlineMs ?? RESPONDER_TLS_HANDSHAKE_TIMEOUT_MS, 'accept')
    let transport: TransportKind | undefined
    try {
      if (this.options.policy === 'require-tls') {
        transport = 'tls' // whatever the bytes are, the TLS stack answers them, as on any web server
      } else {
        const first = await readFirstBytes(raw, deadline.within(this.options.sniffTimeoutMs ?? SNIFF_TIMEOUT_MS, 'accept'))
        transport = classify(first)
        raw.unshift(first)
        // Legacy transports show what they are anyway: the excess is refused as an unknown swarm would be.
        if (transport !== 'tls' && this.held.over(remoteAddress)) {
          throw new ConnectionLimitError(`${remoteAddress} holds ${this.held.count(remoteAddress)} connections, over ${this.held.maxPerAddress}`)
        }
      }
      if (transport === 'tls') {
        const accepted = await this.tls.accept(raw, deadline)
        if ('decoy' in accepted) this.emit('refused', { error: accepted.decoy, transport, remoteAddress, remotePort, decoy: true })
        else this.emit('link', accepted.link)
        return
      }
      this.emit('link', transport === 'plain' ? await this.legacy.acceptPlain(raw, deadline) : await this.legacy.acceptMse(raw, deadline))
    } catch (err) {
      raw.destroy()
      this.emit('refused', { error: err as Error, transport, remoteAddress, remotePort })
    }
  }
}

function * libtorrentSwarms (swarms: Iterable<ServedSwarm>): Iterable<LibtorrentSslSwarm> {
  for (const swarm of swarms) if (swarm.libtorrentSsl) yield swarm.libtorrentSsl
}

function ignoreError (): void {}
