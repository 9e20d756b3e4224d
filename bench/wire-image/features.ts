/**
 * What a passive classifier gets to see of one flow, and the feature vectors the decision trees are
 * fitted on. Everything here is lengths, directions and times: no payload byte past the hellos.
 *
 * A flow is described twice:
 * - `records`: TLS records (length field, content type) for TLS flows;
 * - `segments`: TCP payload chunks for every flow (what the plain and MSE flows are compared by).
 * Features use signed lengths: + client to server, − server to client, 0 where the flow had fewer.
 * "Handshake records" are the records up to and including the client's Finished; "post" records
 * are the ones after it, where the lab saw the BitTorrent structure show through.
 */
import type { Direction } from './tls-records.js'

export interface Unit {
  readonly dir: Direction
  /** TLS record: its length field; TCP segment: its payload length. */
  readonly length: number
  /** Bytes on the wire: a record's length plus its 5-byte header; a segment's payload. */
  readonly wire: number
  /** Milliseconds since the SYN. */
  readonly ms: number
  /** TLS content type (records only). */
  readonly type?: number
}

export interface FlowFeatures {
  /** TLS flows: the first records (at most 50); empty for plain and MSE flows. */
  readonly records: readonly Unit[]
  /** Every flow: the first TCP payload chunks (at most 50). */
  readonly segments: readonly Unit[]
}

const CCS = 20
const APPLICATION_DATA = 23

/** How many records the handshake takes: up to and including the client's Finished. */
export function handshakeCount (records: readonly Unit[]): number {
  const ccs = records.findIndex(r => r.dir === '>' && r.type === CCS)
  let finished: number
  if (ccs >= 0) {
    // Middlebox-compatible TLS 1.3 and TLS 1.2: Finished is the client's first record after its CCS.
    finished = records.findIndex((r, i) => i > ccs && r.dir === '>')
  } else {
    // TLS 1.3 without the CCS: the client's first encrypted record after the server's first.
    const serverEncrypted = records.findIndex(r => r.dir === '<' && r.type === APPLICATION_DATA)
    finished = serverEncrypted < 0 ? -1 : records.findIndex((r, i) => i > serverEncrypted && r.dir === '>' && r.type === APPLICATION_DATA)
  }
  return finished < 0 ? records.length : finished + 1
}

export function postHandshake (records: readonly Unit[]): Unit[] {
  return records.slice(handshakeCount(records))
}

/** Signed lengths of units [from, from + n), zero-padded to n. */
export function signedLengths (units: readonly Unit[], n: number, from = 0): number[] {
  const out = new Array<number>(n).fill(0)
  units.slice(from, from + n).forEach((u, i) => { out[i] = u.dir === '>' ? u.length : -u.length })
  return out
}

/** Direction bursts: consecutive units one way merged, as signed bytes on the wire. */
export function bursts (units: readonly Unit[]): number[] {
  const out: number[] = []
  let last: Direction | undefined
  for (const u of units) {
    const v = u.dir === '>' ? u.wire : -u.wire
    if (u.dir === last) out[out.length - 1]! += v
    else out.push(v)
    last = u.dir
  }
  return out
}

/** The first n bursts, zero-padded. */
export function firstBursts (units: readonly Unit[], n: number): number[] {
  const b = bursts(units).slice(0, n)
  return [...b, ...new Array<number>(n - b.length).fill(0)]
}

/** Milliseconds between consecutive units [from, from + n) (the first: since the unit before it). */
export function gaps (units: readonly Unit[], n: number, from = 0): number[] {
  const out = new Array<number>(n).fill(0)
  for (let i = 0; i < n && from + i < units.length; i++) {
    const previous = units[from + i - 1]
    out[i] = previous === undefined ? 0 : units[from + i]!.ms - previous.ms
  }
  return out
}

export interface FeatureSet {
  readonly name: string
  readonly description: string
  /** Which flows it applies to: TLS only (bttls vs HTTPS) or every kind. */
  readonly scope: 'tls' | 'all'
  readonly vector: (f: FlowFeatures) => number[]
  /** A name per feature, 1-based as the lab wrote them: `post[7]` is the 7th record after the Finished. */
  readonly names: readonly string[]
}

/** Handshake records kept by the "handshake + first 30" set: Node/OpenSSL/nginx flights fit in 12. */
const HANDSHAKE_SLOTS = 12

const range = (prefix: string, n: number, from = 1): string[] => Array.from({ length: n }, (_, i) => `${prefix}[${from + i}]`)

export const FEATURE_SETS: readonly FeatureSet[] = [
  { name: 'first10', scope: 'tls', description: 'first 10 records, hellos included (signed lengths)', vector: f => signedLengths(f.records, 10), names: range('rec', 10) },
  { name: 'post10', scope: 'tls', description: 'first 10 records after the client\'s Finished', vector: f => signedLengths(postHandshake(f.records), 10), names: range('post', 10) },
  { name: 'post30', scope: 'tls', description: 'first 30 records after the client\'s Finished', vector: f => signedLengths(postHandshake(f.records), 30), names: range('post', 30) },
  { name: 'post6to35', scope: 'tls', description: 'records 6–35 after the Finished (auth messages, tickets and BT handshake dropped)', vector: f => signedLengths(postHandshake(f.records), 30, 5), names: range('post', 30, 6) },
  {
    name: 'hs+post30',
    scope: 'tls',
    description: `handshake records (first ${HANDSHAKE_SLOTS}) + first 30 after the Finished: the issue's target set`,
    vector: f => [...signedLengths(f.records.slice(0, handshakeCount(f.records)), HANDSHAKE_SLOTS), ...signedLengths(postHandshake(f.records), 30)],
    names: [...range('hs', HANDSHAKE_SLOTS), ...range('post', 30)]
  },
  {
    name: 'post10+gaps',
    scope: 'tls',
    description: 'first 10 records after the Finished with the milliseconds between them',
    vector: f => [...signedLengths(postHandshake(f.records), 10), ...gaps(postHandshake(f.records), 10)],
    names: [...range('post', 10), ...range('gap ms', 10)]
  },
  { name: 'bursts10', scope: 'tls', description: 'first 10 direction bursts (bytes on the wire)', vector: f => firstBursts(f.records, 10), names: range('burst', 10) },
  { name: 'bursts10-any', scope: 'all', description: 'first 10 direction bursts of TCP payload (any protocol)', vector: f => firstBursts(f.segments, 10), names: range('burst', 10) },
  { name: 'segments10-any', scope: 'all', description: 'first 10 TCP payload sizes, signed (any protocol; loopback MTU)', vector: f => signedLengths(f.segments, 10), names: range('segment', 10) }
]
