/**
 * TCP connections out of captured segments, each direction reassembled by sequence number into the
 * byte stream the receiving application read. The TLS record layer (tls-records.ts) is parsed from
 * these streams, so retransmissions, out-of-order segments and segments that carry several records
 * (or a part of one) do not change what the harness measures.
 *
 * A connection starts at a SYN without ACK; segments of a connection whose SYN was not captured are
 * ignored. Only a prefix of each direction is kept (`maxBytes`): the harness looks at the first 50
 * records, and a 4 MiB transfer should not cost 4 MiB of memory per flow.
 */
import type { TcpSegment } from './pcap.js'

export interface Endpoint { readonly address: string, readonly port: number }

export interface StreamDirection {
  /** The reassembled stream from its first byte, cut at `maxBytes` or at the first hole. */
  readonly bytes: Buffer
  /** Where each segment's new bytes start in `bytes`, and when they could be read in order; ascending. */
  readonly arrivals: ReadonlyArray<{ readonly offset: number, readonly timeUs: number }>
  /** Payload bytes seen in all (beyond the kept prefix too), without retransmissions. */
  readonly totalBytes: number
  /** A sequence range no captured segment covered: the stream ends there. */
  readonly hole: boolean
  /** When this side sent its first FIN or RST, if it did. */
  readonly finUs?: number
  readonly rstUs?: number
}

export interface TcpFlow {
  readonly client: Endpoint
  readonly server: Endpoint
  readonly synUs: number
  readonly lastUs: number
  readonly toServer: StreamDirection
  readonly toClient: StreamDirection
}

export interface FlowOptions {
  /** Bytes kept per direction (default 2 MiB). */
  readonly maxBytes?: number
}

interface Piece { offset: number, timeUs: number, payload: Buffer }

class DirectionBuilder {
  isn: number | undefined
  readonly pieces: Piece[] = []
  highest = 0
  finUs: number | undefined
  rstUs: number | undefined

  constructor (private readonly maxBytes: number) {}

  add (s: TcpSegment): void {
    if (s.syn) this.isn = s.seq
    if (s.rst && this.rstUs === undefined) this.rstUs = s.timeUs
    if (s.fin && this.finUs === undefined) this.finUs = s.timeUs
    if (this.isn === undefined || s.payload.length === 0) return
    // Sequence numbers wrap at 2^32; the offset of the first data byte (ISN + 1) is 0.
    const offset = (s.seq - this.isn - 1) >>> 0
    if (offset > 0x80000000) return // before the stream's start: a stray or a keep-alive probe
    this.highest = Math.max(this.highest, offset + s.payload.length)
    if (offset >= this.maxBytes) return
    this.pieces.push({ offset, timeUs: s.timeUs, payload: s.payload.subarray(0, this.maxBytes - offset) })
  }

  build (): StreamDirection {
    // Ascending offset, then arrival: the first transmission of a range wins over its retransmissions.
    const sorted = [...this.pieces].sort((a, b) => a.offset - b.offset || a.timeUs - b.timeUs)
    const chunks: Buffer[] = []
    const arrivals: Array<{ offset: number, timeUs: number }> = []
    let next = 0
    let hole = false
    for (const p of sorted) {
      const end = p.offset + p.payload.length
      if (end <= next) continue // all seen already
      if (p.offset > next) { hole = true; break }
      // In-order delivery: bytes that came early are readable only once the bytes before them are.
      arrivals.push({ offset: next, timeUs: Math.max(p.timeUs, arrivals[arrivals.length - 1]?.timeUs ?? 0) })
      chunks.push(p.payload.subarray(next - p.offset))
      next = end
    }
    if (!hole && next < Math.min(this.highest, this.maxBytes)) hole = true
    return { bytes: Buffer.concat(chunks), arrivals, totalBytes: this.highest, hole, finUs: this.finUs, rstUs: this.rstUs }
  }
}

interface FlowBuilder {
  client: Endpoint
  server: Endpoint
  synUs: number
  lastUs: number
  toServer: DirectionBuilder
  toClient: DirectionBuilder
}

const key = (a: string, ap: number, b: string, bp: number): string => `${a}:${ap}>${b}:${bp}`

/** Connections in the order their SYN was captured. */
export function tcpFlows (segments: Iterable<TcpSegment>, options: FlowOptions = {}): TcpFlow[] {
  const maxBytes = options.maxBytes ?? 2 * 2 ** 20
  const all: FlowBuilder[] = []
  const current = new Map<string, FlowBuilder>()
  for (const s of segments) {
    if (s.syn && !s.ackFlag) {
      // A new connection; a reused 4-tuple replaces the old one from here on.
      const f: FlowBuilder = {
        client: { address: s.src, port: s.srcPort },
        server: { address: s.dst, port: s.dstPort },
        synUs: s.timeUs,
        lastUs: s.timeUs,
        toServer: new DirectionBuilder(maxBytes),
        toClient: new DirectionBuilder(maxBytes)
      }
      all.push(f)
      current.set(key(s.src, s.srcPort, s.dst, s.dstPort), f)
      current.set(key(s.dst, s.dstPort, s.src, s.srcPort), f)
    }
    const f = current.get(key(s.src, s.srcPort, s.dst, s.dstPort))
    if (f === undefined) continue
    f.lastUs = s.timeUs
    const fromClient = s.src === f.client.address && s.srcPort === f.client.port
    ;(fromClient ? f.toServer : f.toClient).add(s)
  }
  return all.map(f => ({ client: f.client, server: f.server, synUs: f.synUs, lastUs: f.lastUs, toServer: f.toServer.build(), toClient: f.toClient.build() }))
}

/** When the byte at `offset` of a direction arrived (the segment that first carried it). */
export function arrivalTime (direction: StreamDirection, offset: number): number {
  const a = direction.arrivals
  let lo = 0
  let hi = a.length - 1
  if (hi < 0) return NaN
  while (lo < hi) { // the last arrival whose offset ≤ `offset`
    const mid = (lo + hi + 1) >> 1
    if (a[mid]!.offset <= offset) lo = mid
    else hi = mid - 1
  }
  return a[lo]!.timeUs
}
