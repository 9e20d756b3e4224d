/**
 * A BEP 15 announce client for udp:// trackers: connect for a connection id, then announce with it,
 * each request retransmitted after 15·2^n seconds (n = 0, 1, ...) as BEP 15 says, a connection id
 * reused for at most a minute, every answer matched to its request by a fresh random transaction id
 * and read through the bounded codec of udp-messages.ts.
 *
 * Only datagrams from the tracker's address and port are read. One that carries another transaction
 * id is dropped (a late answer to an earlier retransmission, or a spoofed one): it cannot be told
 * apart from either, so it must not end the exchange. When the retransmissions run out and only such
 * datagrams came, the error says so (ERR_UDP_TRACKER_WRONG_TRANSACTION) instead of "no answer". An
 * answer to our transaction that is malformed ends the announce at once: the tracker itself is broken.
 *
 * bttls adds nothing to a UDP announce (BEP: "UDP trackers"): its response has no room for per-peer
 * flags, so peers come back of unknown capability, as from the DHT. The announce URL's path and query
 * go along as BEP 41 URLData, which is how a UDP tracker URL carries a passkey.
 */
import { createSocket, type Socket } from 'node:dgram'
import { lookup } from 'node:dns/promises'
import { randomBytes } from 'node:crypto'
import { isIP } from 'node:net'
import { BencodeDict } from '../../codec/bencode.js'
import type { AnnounceRequest, AnnounceResponse } from './client.js'
import { PASSKEY_PARAM } from '../announce-keys.js'
import { TrackerError } from '../errors.js'
import {
  ACTION_ANNOUNCE, ACTION_CONNECT, ACTION_ERROR, decodeResponse, encodeAnnounceRequest, encodeConnectRequest, transactionIdOf, type UdpResponse
} from './udp-messages.js'

export interface UdpAnnounceOptions {
  /** BEP 15's retransmission base: the n-th try waits base·2^n. Default 15 s; tests make it short. */
  readonly retransmitBaseMs?: number
  /** Retransmissions after the first try (BEP 15 allows up to 8, over an hour). Default 2: 15 + 30 + 60 s. */
  readonly maxRetransmits?: number
  /** Bound on the whole exchange, whatever the schedule (e.g. the `stopped` announce on close). */
  readonly timeoutMs?: number
  /** Largest datagram accepted; default 8 KiB (a 50-peer IPv6 answer is 920 bytes). */
  readonly maxResponseBytes?: number
  /** Source address (the tracker lists the address it sees). */
  readonly localAddress?: string
}

const DEFAULT_RETRANSMIT_BASE_MS = 15_000
const DEFAULT_MAX_RETRANSMITS = 2
const DEFAULT_MAX_RESPONSE = 8192
/** BEP 15: a client may use a connection id until one minute after it received it. */
const CONNECTION_ID_LIFETIME_MS = 60_000
const DEFAULT_NUMWANT = -1

export async function announceUdp (trackerUrl: string, req: AnnounceRequest, options: UdpAnnounceOptions = {}): Promise<AnnounceResponse> {
  const url = new URL(trackerUrl)
  if (url.protocol !== 'udp:') throw new TrackerError('ERR_TRACKER_UNREACHABLE', `not a UDP tracker: ${trackerUrl}`)
  const port = Number(url.port)
  if (!(port > 0 && port < 65536)) throw new TrackerError('ERR_TRACKER_UNREACHABLE', `UDP tracker ${url.host}: no port`)
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  const address = await resolve(host, options.localAddress)
  const family: 4 | 6 = isIP(address) === 6 ? 6 : 4
  const exchange = new Exchange(address, port, family, options)
  const deadline = options.timeoutMs === undefined ? undefined : setTimeout(() => exchange.abort(new TrackerError('ERR_TRACKER_UNREACHABLE', `UDP tracker ${url.host}: no answer within ${options.timeoutMs} ms`)), options.timeoutMs)
  try {
    await exchange.open()
    const key = randomBytes(4).readUInt32BE(0)
    const urlData = urlDataOf(url, req.passkey)
    let connection: { id: bigint, at: number } | undefined
    const maxRetransmits = options.maxRetransmits ?? DEFAULT_MAX_RETRANSMITS
    for (let n = 0; n <= maxRetransmits; n++) {
      const waitMs = (options.retransmitBaseMs ?? DEFAULT_RETRANSMIT_BASE_MS) * 2 ** n
      if (connection === undefined || Date.now() - connection.at >= CONNECTION_ID_LIFETIME_MS) {
        const r = await exchange.request(tid => encodeConnectRequest(tid), ACTION_CONNECT, waitMs)
        if (r === undefined) continue
        connection = { id: (r as Extract<UdpResponse, { action: 0 }>).connectionId, at: Date.now() }
      }
      const id = connection.id
      const r = await exchange.request(tid => encodeAnnounceRequest({
        connectionId: id,
        transactionId: tid,
        infoHash: req.infoHash,
        peerId: req.peerId,
        downloaded: req.downloaded ?? 0,
        left: req.left ?? 0,
        uploaded: req.uploaded ?? 0,
        ...(req.event !== undefined ? { event: req.event } : {}),
        key,
        numwant: req.numwant ?? DEFAULT_NUMWANT,
        port: req.port,
        urlData
      }), ACTION_ANNOUNCE, waitMs)
      if (r === undefined) continue
      const a = r as Extract<UdpResponse, { action: 1 }>
      return { interval: a.interval, complete: a.seeders, incomplete: a.leechers, peers: a.peers, dict: new BencodeDict() }
    }
    throw exchange.strayCount > 0
      ? new TrackerError('ERR_UDP_TRACKER_WRONG_TRANSACTION', `UDP tracker ${url.host}: ${exchange.strayCount} datagram(s), none answering our transaction, after ${maxRetransmits + 1} tries`)
      : new TrackerError('ERR_TRACKER_UNREACHABLE', `UDP tracker ${url.host}: no answer after ${maxRetransmits + 1} tries`)
  } finally {
    if (deadline !== undefined) clearTimeout(deadline)
    exchange.close()
  }
}

/** BEP 41 URLData: the path and query, which carry e.g. a private tracker's passkey. */
function urlDataOf (url: URL, passkey: string | undefined): string {
  const query = passkey === undefined ? url.search : `${url.search === '' ? '?' : `${url.search}&`}${PASSKEY_PARAM}=${encodeURIComponent(passkey)}`
  const path = url.pathname === '/' && query === '' ? '' : url.pathname
  return path + query
}

async function resolve (host: string, localAddress: string | undefined): Promise<string> {
  if (isIP(host) !== 0) return host
  const family = localAddress === undefined ? 0 : isIP(localAddress)
  try {
    return (await lookup(host, family === 0 ? {} : { family })).address
  } catch (err) {
    throw new TrackerError('ERR_TRACKER_UNREACHABLE', `UDP tracker ${host}: ${(err as Error).message}`, { cause: err })
  }
}

/** One socket, one outstanding request at a time; datagrams from anyone but the tracker are ignored. */
class Exchange {
  private readonly socket: Socket
  private waiting: { transactionId: number, expected: typeof ACTION_CONNECT | typeof ACTION_ANNOUNCE, resolve: (r: UdpResponse | undefined) => void, reject: (e: Error) => void, timer: NodeJS.Timeout } | undefined
  private failure: Error | undefined
  /** Datagrams from the tracker that answered no outstanding transaction. */
  strayCount = 0

  constructor (private readonly address: string, private readonly port: number, private readonly family: 4 | 6, private readonly options: UdpAnnounceOptions) {
    this.socket = createSocket(family === 6 ? 'udp6' : 'udp4')
    this.socket.on('message', (msg, from) => this.onMessage(msg, from.address, from.port))
    this.socket.on('error', err => this.abort(new TrackerError('ERR_TRACKER_UNREACHABLE', `UDP tracker ${address}: ${err.message}`, { cause: err })))
  }

  async open (): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('error', reject)
      this.socket.bind({ port: 0, ...(this.options.localAddress !== undefined ? { address: this.options.localAddress } : {}) }, () => {
        this.socket.off('error', reject)
        resolve()
      })
    }).catch(err => { throw new TrackerError('ERR_TRACKER_UNREACHABLE', `UDP tracker ${this.address}: cannot bind: ${(err as Error).message}`, { cause: err }) })
  }

  /** Sends one request; the matching answer, or undefined after `waitMs` without one. */
  request (encode: (transactionId: number) => Buffer, expected: typeof ACTION_CONNECT | typeof ACTION_ANNOUNCE, waitMs: number): Promise<UdpResponse | undefined> {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    const transactionId = randomBytes(4).readUInt32BE(0)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.waiting = undefined; resolve(undefined) }, waitMs)
      this.waiting = { transactionId, expected, resolve, reject, timer }
      this.socket.send(encode(transactionId), this.port, this.address, err => { if (err) this.abort(new TrackerError('ERR_TRACKER_UNREACHABLE', `UDP tracker ${this.address}: ${err.message}`, { cause: err })) })
    })
  }

  abort (err: Error): void {
    this.failure ??= err
    const w = this.waiting
    this.waiting = undefined
    if (w !== undefined) { clearTimeout(w.timer); w.reject(err) }
  }

  close (): void {
    const w = this.waiting
    this.waiting = undefined
    if (w !== undefined) clearTimeout(w.timer)
    try { this.socket.close() } catch { /* already closed */ }
  }

  private onMessage (msg: Buffer, fromAddress: string, fromPort: number): void {
    if (fromPort !== this.port || normalise(fromAddress) !== normalise(this.address)) return
    const w = this.waiting
    if (w === undefined || transactionIdOf(msg) !== w.transactionId) { this.strayCount++; return }
    this.waiting = undefined
    clearTimeout(w.timer)
    let r: UdpResponse
    try {
      r = decodeResponse(msg, w.expected, this.family, this.options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE)
    } catch (err) { w.reject(err as Error); return }
    if (r.action === ACTION_ERROR) w.reject(new TrackerError('ERR_TRACKER_FAILURE', `UDP tracker: ${r.message === '' ? 'error' : r.message}`))
    else w.resolve(r)
  }
}

function normalise (address: string): string {
  return address.replace(/^::ffff:/, '').toLowerCase()
}
