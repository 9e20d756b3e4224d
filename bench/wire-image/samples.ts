/**
 * One captured connection as the report keeps it: who it was (kind and variant, from the run that
 * made it), its hellos and their fingerprints, its first records and segments, and how it ended.
 */
import { ja3, ja3s, ja4, ja4Original, ja4Parts, ja4s } from './fingerprints.js'
import type { Unit } from './features.js'
import type { ReferenceSet } from './plan.js'
import { handshakeCount } from './features.js'
import { HANDSHAKE_TYPE, negotiatedVersion, parseClientHello, parseServerHello, versionName, type ClientHello } from './hellos.js'
import type { StreamDirection, TcpFlow } from './tcp-flows.js'
import { leadingHandshakeMessages, looksLikeTls, recordSequence, splitTlsRecords, type Direction } from './tls-records.js'

/** bttls vs HTTPS is the question; plain and MSE flows are the reference for how easy it can be. */
export type FlowKind = 'bttls' | 'https' | 'plain' | 'mse' | 'hello'

export interface FlowLabel {
  readonly kind: FlowKind
  /** e.g. "basic, 32 KiB pieces" or "nginx h2 ← curl (example.com)". */
  readonly variant: string
  /** The file moved, in bytes (hello-only connections: none). */
  readonly size?: number
  /** HTTPS flows: which reference set the client/server pair belongs to (plan.ts). */
  readonly reference?: ReferenceSet
}

export interface ClientHelloInfo {
  readonly ja4: string
  readonly ja4r: string
  readonly ja4o: string
  readonly ja3: string
  readonly recordLength: number
  readonly serverName?: string
  readonly alpn?: readonly string[]
  readonly versions: readonly string[]
  readonly cipherSuites: number
  readonly extensions: number
  readonly groups: readonly number[]
  readonly keyShares: readonly number[]
  readonly signatureAlgorithms: number
  readonly paddingLength?: number
}

export interface ServerHelloInfo {
  readonly ja4s: string
  readonly ja3s: string
  readonly version: string
  readonly cipherSuite: string
  readonly helloRetryRequest: boolean
}

export interface FlowSample extends FlowLabel {
  readonly client: string
  readonly server: string
  readonly tls: boolean
  readonly clientHello?: ClientHelloInfo
  readonly serverHello?: ServerHelloInfo
  /** Records up to and including the client's Finished (TLS flows). */
  readonly handshakeRecords: number
  readonly records: readonly Unit[]
  readonly segments: readonly Unit[]
  readonly bytes: { readonly toServer: number, readonly toClient: number }
  /** The first 16 bytes each way, hex: enough for the plain-BitTorrent and MSE rules. */
  readonly firstBytes: { readonly toServer: string, readonly toClient: string }
  /** Milliseconds since the SYN at which each side sent FIN or RST. */
  readonly ends: { readonly clientFin?: number, readonly serverFin?: number, readonly clientRst?: number, readonly serverRst?: number }
  /** A capture hole cut a stream short (dropped packets): the sample may be incomplete. */
  readonly hole: boolean
}

const hex4 = (v: number): string => `0x${v.toString(16).padStart(4, '0')}`
const round = (ms: number): number => Math.round(ms * 1000) / 1000

export function clientHelloInfo (ch: ClientHello, recordLength: number): ClientHelloInfo {
  return {
    ja4: ja4(ch),
    ja4r: ja4Parts(ch).raw,
    ja4o: ja4Original(ch),
    ja3: ja3(ch),
    recordLength,
    serverName: ch.serverName,
    alpn: ch.alpn,
    versions: (ch.supportedVersions ?? [ch.legacyVersion]).map(versionName),
    cipherSuites: ch.cipherSuites.length,
    extensions: ch.extensions.length,
    groups: ch.supportedGroups ?? [],
    keyShares: (ch.keyShares ?? []).map(k => k.group),
    signatureAlgorithms: ch.signatureAlgorithms?.length ?? 0,
    paddingLength: ch.paddingLength
  }
}

/** TCP payload chunks of both directions in arrival order. */
function segmentUnits (flow: TcpFlow, max: number): Unit[] {
  const side = (dir: Direction, d: StreamDirection): Unit[] => d.arrivals.map((a, i) => {
    const length = (d.arrivals[i + 1]?.offset ?? d.bytes.length) - a.offset
    return { dir, length, wire: length, ms: round((a.timeUs - flow.synUs) / 1000) }
  })
  return [...side('>', flow.toServer), ...side('<', flow.toClient)].sort((a, b) => a.ms - b.ms).slice(0, max)
}

export function flowSample (flow: TcpFlow, label: FlowLabel, max = 50): FlowSample {
  const tls = looksLikeTls(flow.toServer.bytes)
  const records: Unit[] = tls
    ? recordSequence(flow, max).map(r => ({ dir: r.dir, type: r.type, length: r.length, wire: r.length + 5, ms: round((r.timeUs - flow.synUs) / 1000) }))
    : []
  let clientHello: ClientHelloInfo | undefined
  let serverHello: ServerHelloInfo | undefined
  if (tls) {
    const ch = leadingHandshakeMessages(flow.toServer.bytes).find(m => m.type === HANDSHAKE_TYPE.CLIENT_HELLO)
    if (ch !== undefined) {
      try { clientHello = clientHelloInfo(parseClientHello(ch.body), splitTlsRecords(flow.toServer.bytes, 1).records[0]?.length ?? 0) } catch { /* a malformed hello: no fingerprint */ }
    }
    const sh = leadingHandshakeMessages(flow.toClient.bytes).find(m => m.type === HANDSHAKE_TYPE.SERVER_HELLO)
    if (sh !== undefined) {
      try {
        const parsed = parseServerHello(sh.body)
        serverHello = { ja4s: ja4s(parsed), ja3s: ja3s(parsed), version: versionName(negotiatedVersion(parsed)), cipherSuite: hex4(parsed.cipherSuite), helloRetryRequest: parsed.helloRetryRequest }
      } catch { /* likewise */ }
    }
  }
  const since = (us: number | undefined): number | undefined => us === undefined ? undefined : round((us - flow.synUs) / 1000)
  return {
    ...label,
    client: `${flow.client.address}:${flow.client.port}`,
    server: `${flow.server.address}:${flow.server.port}`,
    tls,
    clientHello,
    serverHello,
    handshakeRecords: tls ? handshakeCount(records) : 0,
    records,
    segments: segmentUnits(flow, max),
    bytes: { toServer: flow.toServer.totalBytes, toClient: flow.toClient.totalBytes },
    firstBytes: { toServer: flow.toServer.bytes.subarray(0, 16).toString('hex'), toClient: flow.toClient.bytes.subarray(0, 16).toString('hex') },
    ends: { clientFin: since(flow.toServer.finUs), serverFin: since(flow.toClient.finUs), clientRst: since(flow.toServer.rstUs), serverRst: since(flow.toClient.rstUs) },
    hole: flow.toServer.hole || flow.toClient.hole
  }
}

/** Records as the lab wrote them: `>53 <266@2.3 …` (length, and the gap in ms when ≥ 1 ms). */
export function recordString (units: readonly Unit[]): string {
  return units.map((u, i) => {
    const gap = i === 0 ? 0 : u.ms - units[i - 1]!.ms
    return `${u.dir}${u.length}${gap >= 1 ? `@${gap.toFixed(1)}` : ''}`
  }).join(' ')
}

/** A sample as the JSON stores it: each unit on one line, `>53/23@12.345` (direction, length, content type, ms since the SYN). */
export type StoredSample = Omit<FlowSample, 'records' | 'segments'> & { readonly records: string[], readonly segments: string[] }

export function storedSample (s: FlowSample): StoredSample {
  const unit = (u: Unit): string => `${u.dir}${u.length}${u.type !== undefined ? `/${u.type}` : ''}@${u.ms}`
  return { ...s, records: s.records.map(unit), segments: s.segments.map(unit) }
}

/** The inverse of storedSample: a stored run's samples, for refitting classifiers without new traffic. */
export function sampleFromStored (s: StoredSample): FlowSample {
  const unit = (text: string, record: boolean): Unit => {
    const m = /^([<>])(\d+)(?:\/(\d+))?@([\d.]+)$/.exec(text)
    if (m === null) throw new Error(`not a stored unit: ${text}`)
    const length = Number(m[2])
    return { dir: m[1] as Unit['dir'], length, wire: record ? length + 5 : length, ms: Number(m[4]), ...(m[3] !== undefined ? { type: Number(m[3]) } : {}) }
  }
  return { ...s, records: s.records.map(r => unit(r, true)), segments: s.segments.map(r => unit(r, false)) }
}
