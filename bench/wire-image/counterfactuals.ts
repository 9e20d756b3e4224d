/**
 * What it would take: the target classifier (handshake + first 30 records) refitted on bttls flows
 * changed as if bttls did what an HTTPS download does in one respect after another, each on top of the
 * ones before. It says which differences a classifier falls back to once one is gone, so the report can
 * state with numbers why the target is missed and what closing it would require. The changes are made
 * to the measured records, never to HTTPS flows, and take their lengths from the measured HTTPS flows of
 * the same run (round robin, so the result is deterministic):
 *
 * 1. *reference handshake*: the bttls flow's handshake records replaced by an HTTPS flow's (its hello,
 *    its server's certificate flight);
 * 2. *no request round trip*: piece data starts right after the session tickets, as a response body
 *    does: the records between them (the AuthReply with the responder's handshake, bitfield and unchoke,
 *    the initiator's extended handshake and requests) are dropped;
 * 3. *GET-sized first record*: the initiator's first record (AuthHello, padding and BitTorrent
 *    handshake) as long as an HTTPS client's first record after its Finished.
 *
 * Those three are measured against the lab's reference set, whose tools fetch one file. Against the
 * wider set, whose page visits have bttls's shape (a request, a response, a second request, the
 * file), three more, each alone or on the one before: *a page's response*, the responder's first
 * record after the tickets (AuthReply, handshakes, bitfield, unchoke) replaced by the records of a
 * measured page visit's response: what page-sized padding of that flight would buy; *a named hello*,
 * the ClientHello as long as that of a page visit that sends an SNI with bttls's ALPN list: what an
 * SNI would buy; and both together.
 */
import { handshakeCount, postHandshake, type Unit } from './features.js'
import { FEATURE_SETS } from './features.js'
import type { FlowSample } from './samples.js'
import type { TreeDataset } from './trees.js'

/** A full TLS record of application data: 2^14 bytes of plaintext, the content type and the AEAD tag. */
const FULL_RECORD = 16_401
/** Node's TLS 1.3 server sends two NewSessionTickets after the client's Finished. */
const TICKETS = 2

type Change = (records: readonly Unit[], reference: readonly Unit[]) => Unit[]

export const referenceHandshake: Change = (records, reference) =>
  [...reference.slice(0, handshakeCount(reference)), ...postHandshake(records)]

export const noRequestRoundTrip: Change = records => {
  const hs = records.slice(0, handshakeCount(records))
  const post = postHandshake(records)
  const firstFull = post.findIndex(u => u.dir === '<' && u.length >= FULL_RECORD)
  if (firstFull < 0) return [...records]
  return [...hs, ...post.slice(0, 1 + TICKETS), ...post.slice(firstFull)]
}

export const getSizedFirstRecord: Change = (records, reference) => {
  const hs = records.slice(0, handshakeCount(records))
  const post = postHandshake(records)
  const request = postHandshake(reference).find(u => u.dir === '>')
  const first = post.findIndex(u => u.dir === '>')
  if (request === undefined || first < 0) return [...records]
  return [...hs, ...post.slice(0, first), { ...post[first]!, length: request.length, wire: request.length + 5 }, ...post.slice(first + 1)]
}

/** The server records of a page visit between its tickets and its second request: the page's response. */
export function pageResponse (reference: readonly Unit[]): Unit[] | undefined {
  const post = postHandshake(reference)
  const firstRequest = post.findIndex(u => u.dir === '>')
  const secondRequest = post.findIndex((u, i) => i > firstRequest && u.dir === '>')
  if (firstRequest < 0 || secondRequest < 0) return undefined
  const response = post.slice(firstRequest + 1 + TICKETS, secondRequest)
  return response.length > 0 && response.every(u => u.dir === '<') ? response : undefined
}

export const pageSizedResponse: Change = (records, reference) => {
  const hs = records.slice(0, handshakeCount(records))
  const post = postHandshake(records)
  const response = pageResponse(reference)
  const first = post.findIndex(u => u.dir === '>')
  const at = first + 1 + TICKETS
  if (response === undefined || first < 0 || post[at]?.dir !== '<') return [...records]
  return [...hs, ...post.slice(0, at), ...response, ...post.slice(at + 1)]
}

export const COUNTERFACTUALS: ReadonlyArray<{ readonly name: string, readonly change: Change }> = [
  { name: 'reference handshake', change: referenceHandshake },
  { name: 'no request round trip', change: noRequestRoundTrip },
  { name: 'GET-sized first record', change: getSizedFirstRecord }
]

/** The target feature set on bttls flows with the first 1, 2, … changes applied; the lab's HTTPS flows as measured. */
export function counterfactualDatasets (samples: readonly FlowSample[]): TreeDataset[] {
  const https = samples.filter(s => s.kind === 'https' && s.tls && (s.reference ?? 'lab') === 'lab')
  const bttls = samples.filter(s => s.kind === 'bttls' && s.tls)
  if (https.length === 0 || bttls.length === 0) return []
  const lab = COUNTERFACTUALS.map((_, n) => {
    const changes = COUNTERFACTUALS.slice(0, n + 1)
    const changed = bttls.map((s, i) => {
      const reference = https[i % https.length]!.records
      return changes.reduce((records, c) => c.change(records, reference), s.records)
    })
    return dataset(`what if: ${changes.map(c => c.name).join(' + ')}`, changed, https)
  })
  return [...lab, ...widerCounterfactual(samples, bttls), ...paddingCounterfactual(samples, bttls)]
}

/** The ClientHello (the first record) as long as the reference's, which names a host. */
export const namedHello: Change = (records, reference) => {
  const [hello, ...rest] = records
  const named = reference[0]
  if (hello === undefined || named === undefined) return [...records]
  return [{ ...hello, length: named.length, wire: named.wire }, ...rest]
}

/**
 * Against the wider set, each row alone: the bttls flows with a page visit's response in place of
 * their first server flight; with a ClientHello that names a host (as long as that of a wider flow
 * with an SNI and bttls's ALPN list); with both; and with such a flow's whole handshake (its hello and
 * its server's certificate flight), without and with the page's response.
 */
function widerCounterfactual (samples: readonly FlowSample[], bttls: readonly FlowSample[]): TreeDataset[] {
  const wider = samples.filter(s => s.kind === 'https' && s.tls && s.reference === 'wider')
  const pages = wider.map(s => s.records).filter(r => pageResponse(r) !== undefined)
  const alpn = bttls[0]?.clientHello?.alpn?.join(',')
  const named = wider.filter(s => s.clientHello?.serverName !== undefined && s.clientHello.alpn?.join(',') === alpn).map(s => s.records)
  if (pages.length === 0 || named.length === 0) return []
  const rows: ReadonlyArray<readonly [string, (records: readonly Unit[], i: number) => Unit[]]> = [
    ['a page\'s response in place of the AuthReply\'s record', (r, i) => pageSizedResponse(r, pages[i % pages.length]!)],
    ['a ClientHello that names a host (SNI)', (r, i) => namedHello(r, named[i % named.length]!)],
    ['an SNI + a page\'s response', (r, i) => pageSizedResponse(namedHello(r, named[i % named.length]!), pages[i % pages.length]!)],
    ['a named page visit\'s handshake (hello and certificate flight)', (r, i) => referenceHandshake(r, named[i % named.length]!)],
    ['a named page visit\'s handshake + a page\'s response', (r, i) => pageSizedResponse(referenceHandshake(r, named[i % named.length]!), pages[i % pages.length]!)]
  ]
  return rows.map(([what, change]) => dataset(`what if: (against the wider reference, alone) ${what}`, bttls.map((s, i) => change(s.records, i)), wider))
}

function dataset (name: string, bttls: ReadonlyArray<readonly Unit[]>, https: readonly FlowSample[]): TreeDataset {
  const target = FEATURE_SETS.find(s => s.name === 'hs+post30')!
  return {
    name,
    features: target.description,
    classes: ['bttls', 'https'],
    X: [...bttls.map(records => target.vector({ records, segments: [] })), ...https.map(s => target.vector(s))],
    y: [...bttls.map(() => 'bttls'), ...https.map(() => 'https')],
    featureNames: [...target.names]
  }
}

/**
 * What padding could buy, as a sender would pad: lengths drawn at random (seeded, so the rows are
 * reproducible), never copied from a reference flow, and never shorter than what bttls sent. The
 * three records of the exchange before the data, each on top of the one before:
 * - the responder's first flight (AuthReply, handshakes, bitfield, unchoke) padded to a page-sized
 *   response, PAGE_BYTES, leaving as full records and a tail;
 * - the initiator's first record (AuthHello, BitTorrent and extension handshakes) padded to a
 *   request's length, REQUEST_BYTES (a Full Strict AuthHello carries a certificate and stays longer);
 * - the initiator's requests after the AuthReply cut to a request's length (fewer requests in the
 *   first batch), REQUEST_BYTES.
 * Measured against each reference set: if the target classifier stays above the goal, a padding
 * mechanism on the peer wire is not worth its bytes (docs/design.md, "Peer-wire padding").
 */
export const PAGE_BYTES: readonly [number, number] = [2_048, 30_000]
export const REQUEST_BYTES: readonly [number, number] = [350, 800]
const TLS_OVERHEAD = 17
const MAX_PLAINTEXT = 16_384

export interface PaddingPolicy { readonly flight?: boolean, readonly hello?: boolean, readonly requests?: boolean }

/** A linear congruential generator: the same rows on every refit of the same flows. */
export function seededRandom (seed: number): (lo: number, hi: number) => number {
  let state = seed >>> 0
  return (lo, hi) => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0
    return lo + Math.floor((state / 2 ** 32) * (hi - lo + 1))
  }
}

const withLength = (u: Unit, length: number): Unit => ({ ...u, length, wire: length + 5 })

/** A write of `plaintext` bytes as TLS sends it: full records, then the tail. */
export function asRecords (like: Unit, plaintext: number): Unit[] {
  const out: Unit[] = []
  for (; plaintext > MAX_PLAINTEXT; plaintext -= MAX_PLAINTEXT) out.push(withLength(like, FULL_RECORD))
  out.push(withLength(like, plaintext + TLS_OVERHEAD))
  return out
}

export function padded (records: readonly Unit[], policy: PaddingPolicy, draw: (lo: number, hi: number) => number): Unit[] {
  const hs = records.slice(0, handshakeCount(records))
  const post = postHandshake(records)
  const hello = post.findIndex(u => u.dir === '>')
  const flight = hello + 1 + TICKETS
  const requests = post.findIndex((u, i) => i > flight && u.dir === '>')
  const out: Unit[] = []
  post.forEach((u, i) => {
    if (i === hello && policy.hello === true) out.push(withLength(u, Math.max(u.length, draw(...REQUEST_BYTES))))
    else if (i === flight && u.dir === '<' && policy.flight === true) out.push(...asRecords(u, Math.max(u.length - TLS_OVERHEAD, draw(...PAGE_BYTES))))
    else if (i === requests && policy.requests === true) out.push(withLength(u, Math.min(u.length, draw(...REQUEST_BYTES))))
    else out.push(u)
  })
  return [...hs, ...out]
}

const PADDING_POLICIES: ReadonlyArray<readonly [string, PaddingPolicy]> = [
  ['a page-sized first flight', { flight: true }],
  ['a page-sized first flight + a request-sized first record', { flight: true, hello: true }],
  ['a page-sized first flight + request-sized first record and requests', { flight: true, hello: true, requests: true }]
]

function paddingCounterfactual (samples: readonly FlowSample[], bttls: readonly FlowSample[]): TreeDataset[] {
  const references: ReadonlyArray<readonly [string, FlowSample[]]> = [
    ['lab', samples.filter(s => s.kind === 'https' && s.tls && (s.reference ?? 'lab') === 'lab')],
    ['wider', samples.filter(s => s.kind === 'https' && s.tls && s.reference === 'wider')]
  ]
  return references.filter(([, https]) => https.length > 0).flatMap(([reference, https]) =>
    PADDING_POLICIES.map(([what, policy]) => {
      const draw = seededRandom(1)
      return dataset(`what if: (padding, against the ${reference} reference) ${what}`, bttls.map(s => padded(s.records, policy, draw)), https)
    }))
}
