/**
 * Outgoing connections. The policy (policy.ts) gives the transports to try in order; the next one is
 * tried only when the peer plainly does not speak the previous one (its TLS or MSE handshake failed).
 * A failure that says something is wrong (a proof that does not verify, a TLS responder that refuses
 * our proof) never falls back: retrying in the clear would hand the infohash to whoever caused it.
 */
import net from 'node:net'
import { isLoopback } from '../codec/endpoint.js'
import { DialCancelledError, DialError, HandshakeTimeoutError, MseHandshakeError, TlsHandshakeError } from '../errors.js'
import { withBorrowedReads } from '../handshake/borrowed-reads.js'
import { Deadline } from '../handshake/deadline.js'
import { openTls, secureOutbound } from '../handshake/secure-outbound.js'
import { AUTH_TIMEOUT_MS, TLS_HANDSHAKE_TIMEOUT_MS, type CipherSuite } from '../protocol/constants.js'
import { BT_HANDSHAKE_TIMEOUT_MS } from './link.js'
import { wireForm, type SwarmLevel } from '../levels/level.js'
import { pipeWire } from './pipe-wire.js'
import { LIBTORRENT_PROFILE_DETAILS, libtorrentSslConnect, type LibtorrentSslSwarm } from './libtorrent-ssl.js'
import type { PeerLink, TransportKind } from './peer-link.js'
import { dialOrder, type Policy } from './policy.js'

export interface DialOptions {
  readonly host: string
  readonly port: number
  readonly level: SwarmLevel
  /** 20-byte infohash of the BitTorrent handshake over MSE and plaintext. Over TLS the handshake
   *  carries the 20-byte form of the infohash the initiator proved with (the level's first key). */
  readonly wireInfoHash: Buffer
  readonly policy: Policy
  /** What capability signalling says of this peer (see policy.ts). */
  readonly knownTls?: boolean
  readonly keylog?: (line: Buffer) => void
  readonly connectTimeoutMs?: number
  /** Source address for outgoing connections (e.g. a distinct 127.0.0.x per peer in tests). */
  readonly localAddress?: string
  /**
   * Test and benchmark knob: try only this transport. It narrows the policy's order, never widens it:
   * a transport the policy would not dial fails with DialError without connecting.
   */
  readonly transport?: TransportKind
  /** Test and benchmark knob: the TLS 1.3 suites to offer (see OutboundOptions.cipherSuites). */
  readonly cipherSuites?: readonly CipherSuite[]
  /** A Full Strict torrent's libtorrent SSL-torrent profile (libtorrent-ssl.ts), if it may be used. */
  readonly libtorrentSsl?: LibtorrentSslSwarm
  /**
   * 'libtorrent': dial with libtorrent's SSL-torrent profile only (the peer is known to be libtorrent).
   * 'fallback': bttls first, and libtorrent's profile if the peer does not speak bttls. Either sends the
   * infohash in cleartext SNI, so neither is a default.
   */
  readonly libtorrentProfile?: 'libtorrent' | 'fallback'
  /**
   * Cancels the dial: whatever step it is in (TCP connect, TLS or MSE handshake), its socket is
   * destroyed at once and it rejects with a DialError whose last attempt is a DialCancelledError.
   * A dial that already resolved is not affected (close the link).
   */
  readonly signal?: AbortSignal
}

export const CONNECT_TIMEOUT_MS = 10_000

/**
 * The deadline of one dialed connection (deadline.ts), made before its TCP connect: each step's own
 * bound fits in it (connect, then the BEP's TLS_HANDSHAKE_TIMEOUT_MS and AUTH_TIMEOUT_MS), and every
 * step narrows it rather than starting a clock of its own.
 */
function dialDeadline (options: DialOptions): Deadline {
  return Deadline.after((options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS) + TLS_HANDSHAKE_TIMEOUT_MS + AUTH_TIMEOUT_MS, 'the dial')
}

export async function dial (options: DialOptions): Promise<PeerLink> {
  if (options.libtorrentProfile === 'libtorrent') return await dialLibtorrent(options, [])
  const allowed = dialOrder(options.policy, options.level, options.knownTls)
  const order = options.transport === undefined ? allowed : allowed.filter(t => t === options.transport)
  const attempts: Array<{ transport: string, error: Error }> = []
  for (const transport of order) {
    if (isCancelled(options)) break
    try {
      const link = await dialOnce(transport, options)
      return attempts.length === 0 ? link : Object.assign(link, { fallbackFrom: [...attempts] })
    } catch (err) {
      attempts.push({ transport, error: isCancelled(options) ? cancelled(options) : err as Error })
      if (isCancelled(options) || !peerLacksTransport(err as Error)) break
    }
  }
  if (isCancelled(options) && attempts.length === 0) attempts.push({ transport: order[0] ?? 'tcp', error: cancelled(options) })
  if (order.length === 0) {
    throw new DialError(`policy ${options.policy} does not dial ${String(options.transport)} to ${options.host}:${options.port}`, attempts)
  }
  const last = attempts[attempts.length - 1]
  if (options.libtorrentProfile === 'fallback' && last !== undefined && !isCancelled(options) && peerLacksTransport(last.error)) return await dialLibtorrent(options, attempts)
  const summary = attempts.map(a => `${a.transport}: ${a.error.name}: ${a.error.message}`).join('; ')
  throw new DialError(`could not connect to ${options.host}:${options.port} (${summary})`, attempts)
}

/** Errors meaning "this peer does not speak that transport", after which the next may be tried. */
function peerLacksTransport (err: Error): boolean {
  return err instanceof TlsHandshakeError || err instanceof MseHandshakeError ||
    (err instanceof HandshakeTimeoutError && err.message.startsWith('TLS handshake'))
}

async function dialLibtorrent (options: DialOptions, attempts: Array<{ transport: string, error: Error }>): Promise<PeerLink> {
  if (!options.libtorrentSsl) throw new DialError('the libtorrent SSL-torrent profile needs a Full Strict torrent (info["ssl-cert"])', attempts)
  try {
    const deadline = dialDeadline(options)
    const raw = await connectTcp(options, deadline)
    const onAbort = (): void => { raw.destroy() }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    const socket = await libtorrentSslConnect(raw, options.libtorrentSsl, deadline, options.keylog).finally(() => options.signal?.removeEventListener('abort', onAbort))
    const rest = deadline.within(BT_HANDSHAKE_TIMEOUT_MS, 'the end of the TLS handshake')
    return pipeWire({ socket, raw, direction: 'outbound', transport: 'tls', infoHash: options.libtorrentSsl.wireInfoHash, tls: LIBTORRENT_PROFILE_DETAILS(socket), deadline: rest }).link
  } catch (err) {
    const all = [...attempts, { transport: 'tls (libtorrent profile)', error: err as Error }]
    throw new DialError(`could not connect to ${options.host}:${options.port} (${all.map(a => `${a.transport}: ${a.error.name}: ${a.error.message}`).join('; ')})`, all)
  }
}

/** A function, not an inline test: TypeScript would take `aborted` for constant across an await. */
function isCancelled (options: DialOptions): boolean {
  return options.signal?.aborted === true
}

function cancelled (options: DialOptions): DialCancelledError {
  return new DialCancelledError(`dial to ${options.host}:${options.port} cancelled`)
}

async function dialOnce (transport: TransportKind, options: DialOptions): Promise<PeerLink> {
  const deadline = dialDeadline(options)
  const raw = await connectTcp(options, deadline, opener(transport, options))
  // Cancelling destroys the socket, which fails whichever handshake is waiting on it.
  const onAbort = (): void => { raw.destroy() }
  options.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    return await handshakeOver(raw, transport, options, deadline)
  } finally {
    options.signal?.removeEventListener('abort', onAbort)
  }
}

async function handshakeOver (raw: net.Socket, transport: TransportKind, options: DialOptions, deadline: Deadline): Promise<PeerLink> {
  if (transport === 'tls') {
    const channel = await secureOutbound(raw, options.level, { keylog: options.keylog, cipherSuites: options.cipherSuites, deadline })
    return pipeWire({ socket: channel.socket, raw, direction: 'outbound', transport: 'tls', infoHash: wireForm(channel.swarmKey.infoHash), tls: channel.details, deadline: channel.deadline }).link
  }
  const rest = deadline.within(transport === 'plain' ? BT_HANDSHAKE_TIMEOUT_MS : AUTH_TIMEOUT_MS, 'the connect')
  if (transport === 'plain') return pipeWire({ socket: raw, raw, direction: 'outbound', transport: 'plain', infoHash: options.wireInfoHash, deadline: rest }).link

  // MSE: RC4 only (crypto_provide 0x02); a peer that wants plaintext is reached by the 'plain' step.
  const control = pipeWire({ socket: raw, raw, direction: 'outbound', transport: 'mse', infoHash: options.wireInfoHash, deadline: rest })
  const { wire } = control.link
  await new Promise<void>((resolve, reject) => {
    // An MSE error, not a timeout: a peer that does not finish MSE is tried in the clear (peerLacksTransport).
    const fail = (err: Error): void => { stopWatch(); control.fail(err); reject(err) }
    const stopWatch = rest.whenExpired(() => fail(new MseHandshakeError(`MSE handshake not finished within ${rest.bound}`)))
    wire.once('crypto-handshake', () => { stopWatch(); resolve() })
    void control.link.closed.then(err => fail(new MseHandshakeError(`MSE handshake failed: ${err?.message ?? 'peer closed the connection'}`)))
    wire.startEncryption(options.wireInfoHash.toString('hex'))
  })
  return control.link
}

interface TcpTarget { readonly host: string, readonly port: number, readonly localAddress?: string }

/**
 * How a transport's socket is made (connectTcp's `open`). TLS and plaintext links read through the
 * process's shared buffer (handshake/borrowed-reads.ts), which a socket gets only when it is made: a
 * TLS link from node:tls itself (openTls), a plaintext one from net.connect with `onread`. MSE is left
 * to net.connect's own reads: the wire decrypts each read into a new buffer, and before that
 * `readBorrowed` would copy it out of the shared buffer (an MSE wire never parses in place), so
 * lending would add a copy and save no allocation.
 */
function opener (transport: TransportKind, options: DialOptions): ((target: TcpTarget) => net.Socket) | undefined {
  if (transport === 'tls') return target => openTls(target, options)
  if (transport === 'plain') return openPlain
  return undefined
}

/** A TCP connection to `target` whose reads go through the process's shared buffer. */
function openPlain (target: TcpTarget): net.Socket {
  return withBorrowedReads(onread => net.connect({ ...target, onread }))
}

/**
 * The address a dial to `host` is bound to, or undefined to let the kernel choose.
 *
 * - A source address of the other family cannot reach the peer (bind EINVAL): the kernel chooses.
 * - 127.0.0.1 (::1) to a loopback destination: the kernel chooses that very address for every
 *   loopback destination (Linux's local route: `src 127.0.0.1`), so binding it changes nothing but
 *   the cost. A bind to port 0 searches the kernel's table of bound ports, and on a peer that dials
 *   much (each closed link leaves a TIME_WAIT socket for a minute) that search took a fifth of a dialer's
 *   CPU (`perf`: inet_bhash2_conflict; bench/README.md, "The dialer's bind"). A loopback source to any
 *   other destination is still bound, so that a session on 127.0.0.1 still reaches nothing beyond
 *   this host.
 * - Any other source address (another 127.0.0.x, a LAN or public address) is bound: it is where
 *   peers see us come from.
 */
export function dialSourceAddress (localAddress: string | undefined, host: string): string | undefined {
  if (localAddress === undefined) return undefined
  const family = net.isIP(host)
  if (family !== 0 && net.isIP(localAddress) !== family) return undefined
  if ((localAddress === '127.0.0.1' || localAddress === '::1') && isLoopback(host)) return undefined
  return localAddress
}

/**
 * The TCP connect, within connectTimeoutMs and the connection's deadline; cancelled by options.signal.
 * `open` makes the socket (default net.connect; `opener` says which transports make their own).
 */
function connectTcp (options: DialOptions, connection: Deadline, open: (target: TcpTarget) => net.Socket = t => net.connect(t)): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const localAddress = dialSourceAddress(options.localAddress, options.host)
    const socket = open({ host: options.host, port: options.port, ...(localAddress !== undefined ? { localAddress } : {}) })
    const deadline = connection.within(options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS, 'the dial')
    const signal = options.signal
    const done = (): void => { stopWatch(); signal?.removeEventListener('abort', onAbort) }
    const onAbort = (): void => { done(); socket.destroy(); reject(cancelled(options)) }
    const stopWatch = deadline.whenExpired(() => { done(); socket.destroy(); reject(deadline.timeout('TCP connect not finished')) })
    if (isCancelled(options)) { onAbort(); return }
    signal?.addEventListener('abort', onAbort, { once: true })
    socket.once('connect', () => { done(); socket.setNoDelay(true); resolve(socket) })
    socket.once('error', err => { done(); reject(err) })
  })
}
