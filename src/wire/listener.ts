/**
 * One listening port for every torrent and every transport (BEP: "Same-port detection").
 * Under require-tls, the probe-resistant posture, every connection goes to the TLS stack as it would
 * on a web server: no byte is read before it, so garbage, plaintext BitTorrent and MSE meet what any
 * Node HTTPS server answers. Under the other policies each connection is classified by its first bytes
 * (sniff.ts) and then:
 *
 *   tls    bttls handshake (secure-inbound.ts): the initiator's proof selects the swarm.
 *   plain  the peer's BEP 3 handshake names the infohash.
 *   mse    MSE/PE: HASH('req2', infohash) XOR HASH('req3', S) selects the swarm.
 *
 * A TLS connection that is not a bttls peer of ours (a web visitor, a prober, a wrong proof) is handed
 * to the decoy web site with what was read of it (decoy.ts).
 *
 * The policy and the swarm's level decide what may join. Refusals are reported as 'refused' events
 * with a typed error; nothing a peer sends can throw out of here.
 */
import { EventEmitter } from 'node:events'
import { createHash } from 'node:crypto'
import net from 'node:net'
import type Wire from 'bittorrent-protocol'
import { ConnectionLimitError, HandshakeTimeoutError, MseHandshakeError, PolicyViolationError, UnknownSwarmError, UnrecognizedProtocolError } from '../errors.js'
import { AUTH_TIMEOUT_MS, SNIFF_TIMEOUT_MS } from '../protocol/constants.js'
import { TlsResponder } from '../handshake/secure-inbound.js'
import { HeldConnections } from '../handshake/held-connections.js'
import type { CertificateAndKey } from '../pki/responder-certificate.js'
import type { Decoy } from './decoy.js'
import { siteDecoy } from './decoy-site.js'
import { SNIFF_MAX_BYTES, sniff } from '../protocol/sniff.js'
import { wireForm, type SwarmLevel } from '../levels/level.js'
import { expectExtensionProtocol } from './capabilities.js'
import { createGuardedWire } from './guarded-wire.js'
import { LIBTORRENT_PROFILE_DETAILS, LibtorrentSslResponder, type LibtorrentSslSwarm } from './libtorrent-ssl.js'
import { peekFirstRecord } from './peek-record.js'
import { parseClientHello, type ClientHelloSummary } from '../protocol/client-hello.js'
import { awaitHandshake, createLink, type LinkControl } from './link.js'
import type { PeerLink, TransportKind } from './peer-link.js'
import { acceptsInbound, type Policy } from './policy.js'
import { batchWrites } from './write-batching.js'

export interface ServedSwarm {
  /** The 20-byte infohashes BitTorrent handshakes may carry for it (hybrid: v1 and truncated v2). */
  readonly wireInfoHashes: readonly Buffer[]
  readonly level: SwarmLevel
  /** Full Strict torrents: also served to libtorrent peers, whose ClientHello names the torrent in SNI. */
  readonly libtorrentSsl?: LibtorrentSslSwarm
}

export interface ListenerOptions {
  readonly port?: number
  readonly host?: string
  readonly policy: Policy
  readonly swarms: () => Iterable<ServedSwarm>
  readonly keylog?: (line: Buffer) => void
  readonly sniffTimeoutMs?: number
  readonly tlsTimeoutMs?: number
  readonly authTimeoutMs?: number
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
  private readonly libtorrent: LibtorrentSslResponder

  private constructor (
    private readonly server: net.Server,
    private readonly responder: TlsResponder,
    private readonly decoy: Decoy,
    private readonly options: ListenerOptions,
    private readonly held: HeldConnections
  ) {
    super()
    this.libtorrent = new LibtorrentSslResponder(() => libtorrentSwarms(options.swarms()), options.keylog)
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

  get port (): number {
    return (this.server.address() as net.AddressInfo).port
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
    raw.once('close', () => { this.sockets.delete(raw); release() })
    raw.on('error', () => {}) // reported through the step that was waiting on the socket
    const remotePort = raw.remotePort ?? 0
    let transport: TransportKind | undefined
    try {
      if (this.options.policy === 'require-tls') {
        transport = 'tls' // whatever the bytes are, the TLS stack answers them, as on any web server
      } else {
        const first = await readFirstBytes(raw, this.options.sniffTimeoutMs ?? SNIFF_TIMEOUT_MS)
        transport = classify(first)
        raw.unshift(first)
        // Legacy transports show what they are anyway: the excess is refused as an unknown swarm would be.
        if (transport !== 'tls' && this.held.over(remoteAddress)) {
          throw new ConnectionLimitError(`${remoteAddress} holds ${this.held.count(remoteAddress)} connections, over ${this.held.maxPerAddress}`)
        }
      }
      const link = transport === 'tls'
        ? await this.acceptTls(raw)
        : transport === 'plain' ? await this.acceptPlain(raw) : await this.acceptMse(raw)
      if (link !== undefined) this.emit('link', link)
    } catch (err) {
      raw.destroy()
      this.emit('refused', { error: err as Error, transport, remoteAddress, remotePort })
    }
  }

  /** A bttls peer's link, or undefined when the connection went to the decoy (reported as refused). */
  private async acceptTls (raw: net.Socket): Promise<PeerLink | undefined> {
    // libtorrent's SSL-torrent profile names the torrent in SNI; its ClientHello is read only when such
    // a torrent is served (opt-in), because waiting for a whole record is not what a web server does.
    if (this.libtorrentServed() && !this.held.over(raw.remoteAddress ?? '')) {
      const hello = parseClientHelloOrUndefined(await peekFirstRecord(raw, this.options.sniffTimeoutMs ?? SNIFF_TIMEOUT_MS))
      if (hello?.serverName !== undefined && this.libtorrent.find(hello.serverName) !== undefined) {
        const { socket, swarm } = await this.libtorrent.accept(raw, hello.serverName)
        return pipeWire(socket, 'tcpIncoming', 0, 'tls', raw, swarm.wireInfoHash, LIBTORRENT_PROFILE_DETAILS(socket)).link
      }
    }
    const outcome = await this.responder.accept(raw, () => candidates(this.options.swarms()))
    if (outcome.kind === 'decoy') {
      this.decoy.take(outcome.socket, outcome.received)
      this.emit('refused', { error: outcome.reason, transport: 'tls', remoteAddress: raw.remoteAddress ?? '', remotePort: raw.remotePort ?? 0, decoy: true })
      return undefined
    }
    const { channel } = outcome
    // The BT handshakes must carry the form of the infohash whose key verified (BEP: "Rules for both sides").
    const control = pipeWire(channel.socket, 'tcpIncoming', 0, 'tls', raw, wireForm(channel.swarmKey.infoHash), channel.details)
    return control.link
  }

  private libtorrentServed (): boolean {
    for (const swarm of this.options.swarms()) if (swarm.libtorrentSsl) return true
    return false
  }

  private async acceptPlain (raw: net.Socket): Promise<PeerLink> {
    const wire = createGuardedWire('tcpIncoming', 0, err => raw.destroy(err))
    return await this.acceptLegacy(raw, wire, 'plain', () => Promise.resolve())
  }

  private async acceptMse (raw: net.Socket): Promise<PeerLink> {
    // RC4 only (crypto_select 0x02). bittorrent-protocol's other responder mode prefers the plaintext
    // method whenever a peer offers both (libtorrent and aria2 do by default), which would carry the
    // payload in the clear after an MSE handshake while we report the link as encrypted.
    const wire = createGuardedWire('tcpIncoming', 2, err => raw.destroy(err))
    const identified = new Promise<void>((resolve, reject) => {
      wire.once('crypto-infohash', (req2Hex: string) => {
        const found = findByInfoHash(this.options.swarms(), h => mseReq2(h) === req2Hex)
        if (!found) { reject(new UnknownSwarmError('MSE peer asked for a swarm not served here')); return }
        if (!acceptsInbound(this.options.policy, found.swarm.level, 'mse')) {
          reject(new PolicyViolationError(`MSE connection refused for a ${found.swarm.level.name} torrent`)); return
        }
        wire.setInfoHash(found.infoHash.toString('hex'))
        resolve()
      })
    })
    return await this.acceptLegacy(raw, wire, 'mse', () => identified)
  }

  /** Plain and MSE: pipe the wire, wait (bounded) for the peer's BT handshake, then check the swarm. */
  private async acceptLegacy (raw: net.Socket, wire: Wire, transport: 'plain' | 'mse', identified: () => Promise<void>): Promise<PeerLink> {
    const closed = new Promise<Error | undefined>(resolve => raw.once('close', () => resolve(new UnrecognizedProtocolError(`connection closed during the ${transport} handshake`))))
    const handshake = awaitHandshake(wire, closed)
    handshake.catch(() => {})
    raw.pipe(wire as unknown as NodeJS.WritableStream)
    batchWrites(wire, raw)
    wire.pipe(raw)
    raw.resume()
    // One bound for the whole legacy handshake, as for the TLS steps: without it an MSE peer that
    // stalls (or sends garbage the wire gives up on) was never refused and held its socket forever.
    const timeoutMs = this.options.authTimeoutMs ?? AUTH_TIMEOUT_MS
    let timer: NodeJS.Timeout | undefined
    const failed = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new HandshakeTimeoutError(`${transport} handshake not finished within ${timeoutMs} ms`)), timeoutMs)
      // bittorrent-protocol ends the wire without an error when MSE fails (no sync marker in range, bad VC).
      if (transport === 'mse') wire.once('finish', () => reject(new MseHandshakeError('MSE handshake failed: the peer sent no valid MSE/PE handshake, or closed the connection')))
      handshake.catch(reject)
    })
    failed.catch(() => {})
    try {
      await Promise.race([identified(), failed])
      const remote = await Promise.race([handshake, failed])
      const found = findByInfoHash(this.options.swarms(), h => h.equals(remote.infoHash))
      if (!found) throw new UnknownSwarmError(`${transport} peer asked for infohash ${remote.infoHash.toString('hex')}, not served here`)
      if (!acceptsInbound(this.options.policy, found.swarm.level, transport)) {
        throw new PolicyViolationError(`${transport} connection refused for a ${found.swarm.level.name} torrent`)
      }
      return createLink({
        socket: raw, wire, transport, direction: 'inbound', infoHash: found.infoHash,
        remoteHandshake: remote, remoteAddress: raw.remoteAddress ?? '', remotePort: raw.remotePort ?? 0
      }).link
    } catch (err) {
      wire.destroy()
      throw err
    } finally {
      clearTimeout(timer)
    }
  }
}

function * libtorrentSwarms (swarms: Iterable<ServedSwarm>): Iterable<LibtorrentSslSwarm> {
  for (const swarm of swarms) if (swarm.libtorrentSsl) yield swarm.libtorrentSsl
}

function parseClientHelloOrUndefined (record: Buffer): ClientHelloSummary | undefined {
  try { return parseClientHello(record) } catch { return undefined } // the TLS stack will report it
}

function * candidates (swarms: Iterable<ServedSwarm>): Iterable<{ level: SwarmLevel, swarm: ServedSwarm }> {
  for (const swarm of swarms) yield { level: swarm.level, swarm }
}

function findByInfoHash (swarms: Iterable<ServedSwarm>, match: (infoHash: Buffer) => boolean): { swarm: ServedSwarm, infoHash: Buffer } | undefined {
  for (const swarm of swarms) for (const infoHash of swarm.wireInfoHashes) if (match(infoHash)) return { swarm, infoHash }
  return undefined
}

function classify (first: Buffer): TransportKind {
  const kind = sniff(first)
  return kind === 'need-more' ? 'mse' : kind
}

/** HASH('req2', SKEY) as bittorrent-protocol's MSE responder reports it (hex). */
export function mseReq2 (infoHash: Buffer): string {
  return createHash('sha1').update('req2').update(infoHash).digest('hex')
}

/** Reads until sniff() can decide or SNIFF_MAX_BYTES arrived, within the time bound. */
function readFirstBytes (raw: net.Socket, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0)
    const finish = (err: Error | null): void => {
      clearTimeout(timer)
      raw.off('data', onData)
      raw.off('close', onClose)
      raw.pause()
      if (err) reject(err)
      else resolve(buffered)
    }
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk])
      try {
        if (sniff(buffered) !== 'need-more' || buffered.length >= SNIFF_MAX_BYTES) finish(null)
      } catch (err) {
        finish(err as Error)
      }
    }
    const onClose = (): void => finish(new UnrecognizedProtocolError(`connection closed after ${buffered.length} bytes, before its protocol was known`))
    const timer = setTimeout(() => finish(new HandshakeTimeoutError(`too few bytes to recognise a protocol within ${timeoutMs} ms`)), timeoutMs)
    raw.on('data', onData)
    raw.once('close', onClose)
    raw.resume()
  })
}

/** TLS (both directions) and the dialer's legacy transports: a guarded wire piped over `socket`. */
export function pipeWire (
  socket: net.Socket, type: 'tcpIncoming' | 'tcpOutgoing', peEnabled: 0 | 1 | 2, transport: TransportKind,
  raw: net.Socket, infoHash: Buffer, tls?: PeerLink['tls']
): LinkControl {
  let control: LinkControl | undefined
  const wire = createGuardedWire(type, peEnabled, err => control?.fail(err))
  control = createLink({
    socket, wire, transport, direction: type === 'tcpIncoming' ? 'inbound' : 'outbound', infoHash, tls,
    remoteAddress: raw.remoteAddress ?? '', remotePort: raw.remotePort ?? 0
  })
  if (transport === 'tls' && type === 'tcpIncoming' && tls?.profile === undefined) expectExtensionProtocol(wire)
  socket.pipe(wire as unknown as NodeJS.WritableStream)
  batchWrites(wire, socket, { fullRecords: transport === 'tls' })
  wire.pipe(socket)
  return control
}
