/**
 * A BEP 3 announce client over HTTP and HTTPS. For HTTPS it can trust exactly one CA (for a Full Strict
 * torrent: the swarm CA the torrent carries, which issued the secure tracker's certificate) instead of
 * the system roots. Peers come back compact (BEP 23 `peers`, BEP 7 `peers6`) or as BEP 3 dicts.
 * A `failure reason` becomes a TrackerError whose code is the tracker's `bttls failure code` when sent.
 * Extra query parameters and the whole decoded response are passed through, for extensions (the
 * bttls certificate keys, capability parameters).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { isIP } from 'node:net'
import type { PeerCertificate } from 'node:tls'
import { BencodeDict, decodeBencode } from '../../codec/bencode.js'
import { FAILURE_CODE_KEY, PASSKEY_PARAM } from '../announce-keys.js'
import { decodeCompactPeers, type PeerAddress } from '../../codec/compact-peers.js'
import { isFailureCode, TrackerError } from '../errors.js'
import { encodeQuery } from '../../codec/query-string.js'

export type AnnounceEvent = 'started' | 'completed' | 'stopped' | 'paused'

export interface AnnounceRequest {
  readonly infoHash: Uint8Array
  readonly peerId: Uint8Array
  readonly port: number
  readonly uploaded?: number
  readonly downloaded?: number
  readonly left?: number
  readonly event?: AnnounceEvent
  readonly numwant?: number
  /** Sent as `passkey=` (a URL of the form /announce/<token> needs none). */
  readonly passkey?: string
  /** Further query parameters, in order: values are text, raw bytes (percent-encoded) or numbers. */
  readonly params?: ReadonlyArray<readonly [string, string | Uint8Array | number]>
}

export interface AnnounceOptions {
  /** HTTPS: trust only these CA certificates (PEM) instead of the system roots. */
  readonly ca?: string | readonly string[]
  /** HTTPS: the server's identity check (default Node's host-name check). */
  readonly checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined
  /** Whole request bound; default 15 s. */
  readonly timeoutMs?: number
  /** Largest response accepted; default 1 MiB. */
  readonly maxResponseBytes?: number
  /** Source address of the request (a tracker lists the address it sees, so this is the one peers dial). */
  readonly localAddress?: string
}

export interface AnnounceResponse {
  readonly interval: number
  readonly minInterval?: number
  readonly complete?: number
  readonly incomplete?: number
  readonly peers: PeerAddress[]
  readonly warning?: string
  /** The decoded response, for extension keys. */
  readonly dict: BencodeDict
}

const DEFAULT_TIMEOUT_MS = 15_000
const DEFAULT_MAX_RESPONSE = 1 << 20
const DEFAULT_INTERVAL_S = 1800

export async function announce (trackerUrl: string, req: AnnounceRequest, options: AnnounceOptions = {}): Promise<AnnounceResponse> {
  const url = new URL(trackerUrl)
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TrackerError('ERR_TRACKER_UNREACHABLE', `not an HTTP(S) tracker: ${trackerUrl}`)
  if (req.infoHash.length !== 20 || req.peerId.length !== 20) throw new RangeError('info_hash and peer_id are 20 bytes')
  const params: Array<readonly [string, string | Uint8Array | number]> = [
    ['info_hash', req.infoHash], ['peer_id', req.peerId], ['port', req.port],
    ['uploaded', req.uploaded ?? 0], ['downloaded', req.downloaded ?? 0], ['left', req.left ?? 0], ['compact', 1]
  ]
  if (req.event !== undefined) params.push(['event', req.event])
  if (req.numwant !== undefined) params.push(['numwant', req.numwant])
  if (req.passkey !== undefined) params.push([PASSKEY_PARAM, req.passkey])
  params.push(...(req.params ?? []))
  const target = `${url.pathname}${url.search === '' ? '?' : `${url.search}&`}${encodeQuery(params)}`
  const body = await get(url, target, options)
  return parseResponse(body)
}

function get (url: URL, target: string, options: AnnounceOptions): Promise<Buffer> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  const limit = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE
  const secure = url.protocol === 'https:'
  const unreachable = (err: Error): TrackerError => new TrackerError('ERR_TRACKER_UNREACHABLE', `tracker ${url.origin}: ${err.message}`, { cause: err })
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > limit) {
          clearTimeout(timer)
          reject(new TrackerError('ERR_TRACKER_RESPONSE', `tracker ${url.origin}: response larger than ${limit} bytes`))
          r.destroy()
          return
        }
        chunks.push(chunk)
      })
      res.on('end', () => {
        clearTimeout(timer)
        const bytes = Buffer.concat(chunks)
        // BEP 3 trackers send failures with 200; some send 4xx with a bencoded failure: read those too.
        if (res.statusCode !== 200 && !(bytes[0] === 0x64 /* d */)) {
          reject(new TrackerError('ERR_TRACKER_RESPONSE', `tracker ${url.origin}: HTTP ${res.statusCode ?? '?'}`))
        } else resolve(bytes)
      })
      res.on('error', err => { clearTimeout(timer); reject(unreachable(err)) })
    }
    const common = { host, port: url.port === '' ? undefined : Number(url.port), path: target, method: 'GET', agent: false as const, headers: { 'user-agent': 'bttls/0.1' }, ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}) }
    const r = secure
      ? httpsRequest({
        ...common,
        // SNI carries the URL's host name; an IP literal may not be sent as SNI (RFC 6066), and Node then
        // matches the certificate's IP SAN against the host instead.
        ...(isIP(host) === 0 ? { servername: host } : {}),
        ...(options.ca !== undefined ? { ca: typeof options.ca === 'string' ? [options.ca] : [...options.ca] } : {}),
        ...(options.checkServerIdentity !== undefined ? { checkServerIdentity: options.checkServerIdentity } : {}),
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2' as const
      }, onResponse)
      : httpRequest(common, onResponse)
    const timer = setTimeout(() => r.destroy(new Error(`no response within ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`)), options.timeoutMs ?? DEFAULT_TIMEOUT_MS)
    r.on('error', err => { clearTimeout(timer); reject(err instanceof TrackerError ? err : unreachable(err)) })
    r.end()
  })
}

export function parseResponse (bytes: Buffer): AnnounceResponse {
  let dict
  try { dict = decodeBencode(bytes, { maxBytes: bytes.length, maxDepth: 8 }) } catch (err) {
    throw new TrackerError('ERR_TRACKER_RESPONSE', 'the tracker\'s response is not bencoded', { cause: err })
  }
  if (!(dict instanceof BencodeDict)) throw new TrackerError('ERR_TRACKER_RESPONSE', 'the tracker\'s response is not a dictionary')
  const failure = dict.get('failure reason')
  if (failure !== undefined) {
    const code = dict.get(FAILURE_CODE_KEY)
    const codeText = Buffer.isBuffer(code) ? code.toString('latin1') : ''
    const message = Buffer.isBuffer(failure) ? failure.toString('utf8') : 'tracker failure'
    throw new TrackerError(isFailureCode(codeText) ? codeText : 'ERR_TRACKER_FAILURE', `tracker: ${message}`)
  }
  const int = (key: string): number | undefined => {
    const v = dict.get(key)
    return typeof v === 'number' || typeof v === 'bigint' ? Number(v) : undefined
  }
  const peers: PeerAddress[] = []
  const p4 = dict.get('peers')
  if (Buffer.isBuffer(p4)) peers.push(...decodeCompactPeers(p4, 4))
  else if (Array.isArray(p4)) {
    for (const entry of p4) {
      if (!(entry instanceof BencodeDict)) continue
      const ip = entry.get('ip')
      const port = entry.get('port')
      if (Buffer.isBuffer(ip) && (typeof port === 'number') && port > 0 && port < 65536) peers.push({ host: ip.toString('latin1'), port })
    }
  }
  const p6 = dict.get('peers6')
  if (Buffer.isBuffer(p6)) peers.push(...decodeCompactPeers(p6, 6))
  const warning = dict.get('warning message')
  const interval = int('interval')
  const minInterval = int('min interval')
  const complete = int('complete')
  const incomplete = int('incomplete')
  return {
    interval: interval !== undefined && interval > 0 ? interval : DEFAULT_INTERVAL_S,
    ...(minInterval !== undefined ? { minInterval } : {}),
    ...(complete !== undefined ? { complete } : {}),
    ...(incomplete !== undefined ? { incomplete } : {}),
    peers,
    ...(Buffer.isBuffer(warning) ? { warning: warning.toString('utf8') } : {}),
    dict
  }
}
