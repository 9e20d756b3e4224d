/**
 * A loopback relay that forwards a connection to a target and scans every byte it carries, in both
 * directions, for given needles (e.g. the infohash). It keeps the first bytes of each direction so the
 * ClientHello can be inspected, and a window of `maxNeedle - 1` bytes so matches across chunk
 * boundaries are found. This is what a passive observer on the path sees. It also follows each
 * direction's TLS records and how each side ended (a half-closing relay, so that what one side sends
 * after the other's FIN, such as its answering close_notify, still crosses).
 */
import net from 'node:net'

export interface Needle { readonly label: string, readonly bytes: Buffer }

/** One direction of a relayed connection, as an observer sees it end. */
export interface DirectionEnd {
  /** The content type and length of the last TLS record header that crossed (read as TLS whatever it is). */
  lastRecord: [number, number] | undefined
  /** How the sending side ended: a FIN, a reset, or not yet. */
  ending: 'fin' | 'reset' | 'open'
}

export interface Recording {
  bytes: number
  hits: Map<string, number>
  /** First bytes sent by the connecting side, per connection. */
  firstFlights: Buffer[]
  /** Per connection: `up` from the connecting side, `down` from the target. */
  connections: Array<{ up: DirectionEnd, down: DirectionEnd }>
}

export class Recorder {
  readonly recording: Recording
  private readonly server: net.Server
  private readonly sockets = new Set<net.Socket>()

  private constructor (server: net.Server, needles: readonly Needle[]) {
    this.server = server
    this.recording = { bytes: 0, hits: new Map(needles.map(n => [n.label, 0])), firstFlights: [], connections: [] }
  }

  static async start (target: { host: string, port: number }, needles: readonly Needle[]): Promise<Recorder> {
    const server = net.createServer({ allowHalfOpen: true })
    const recorder = new Recorder(server, needles)
    const maxNeedle = Math.max(1, ...needles.map(n => n.bytes.length))
    server.on('connection', inbound => {
      const outbound = net.connect({ port: target.port, host: target.host, allowHalfOpen: true })
      const ends = { up: new RecordTrail(), down: new RecordTrail() }
      recorder.recording.connections[recorder.index(inbound)] = ends
      for (const [s, end] of [[inbound, ends.up], [outbound, ends.down]] as const) {
        recorder.sockets.add(s)
        s.on('close', () => { recorder.sockets.delete(s); if (recorder.sockets.size === 0) recorder.settle() })
        s.on('end', () => { end.ending = 'fin' })
        s.on('error', () => { end.ending = 'reset'; inbound.destroy(); outbound.destroy() })
      }
      const first: Buffer[] = []
      let firstBytes = 0
      const scan = (tail: { buf: Buffer }) => (chunk: Buffer): void => {
        recorder.recording.bytes += chunk.length
        const window = Buffer.concat([tail.buf, chunk])
        for (const n of needles) {
          let from = 0
          for (;;) {
            const i = window.indexOf(n.bytes, from)
            if (i < 0) break
            // only count matches that end inside the new chunk (the tail was scanned before)
            if (i + n.bytes.length > tail.buf.length) recorder.recording.hits.set(n.label, recorder.recording.hits.get(n.label)! + 1)
            from = i + 1
          }
        }
        tail.buf = window.subarray(Math.max(0, window.length - (maxNeedle - 1)))
      }
      const up = scan({ buf: Buffer.alloc(0) })
      const down = scan({ buf: Buffer.alloc(0) })
      inbound.on('data', (chunk: Buffer) => {
        if (firstBytes < 4096) { first.push(chunk); firstBytes += chunk.length; if (firstBytes >= 4096 || first.length === 1) recorder.recording.firstFlights[recorder.index(inbound)] = Buffer.concat(first) }
        up(chunk)
        ends.up.feed(chunk)
      })
      outbound.on('data', (chunk: Buffer) => { down(chunk); ends.down.feed(chunk) })
      inbound.pipe(outbound).pipe(inbound)
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    return recorder
  }

  private readonly order = new WeakMap<net.Socket, number>()
  private count = 0
  private index (socket: net.Socket): number {
    let i = this.order.get(socket)
    if (i === undefined) { i = this.count++; this.order.set(socket, i) }
    return i
  }

  get port (): number { return (this.server.address() as net.AddressInfo).port }

  private idle: Array<() => void> = []
  private settle (): void {
    for (const resolve of this.idle.splice(0)) resolve()
  }

  /** Resolves once no relayed connection is open (at once if none is), or after `ms` at the latest. */
  async quiet (ms: number): Promise<void> {
    if (this.sockets.size === 0) return
    await new Promise<void>(resolve => {
      const timer = setTimeout(resolve, ms)
      this.idle.push(() => { clearTimeout(timer); resolve() })
    })
  }

  async close (): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }
}

/** The forms in which an infohash could leak: raw bytes and lower/upper-case hex. */
export function infohashNeedles (label: string, infoHash: Buffer): Needle[] {
  return [
    { label: `${label} (raw)`, bytes: infoHash },
    { label: `${label} (hex)`, bytes: Buffer.from(infoHash.toString('hex'), 'latin1') },
    { label: `${label} (HEX)`, bytes: Buffer.from(infoHash.toString('hex').toUpperCase(), 'latin1') }
  ]
}

/** Follows one direction's TLS record headers across chunks, keeping the last one. */
class RecordTrail implements DirectionEnd {
  lastRecord: [number, number] | undefined = undefined
  ending: DirectionEnd['ending'] = 'open'
  /** Bytes of the current record's body still to come. */
  private body = 0
  private header = Buffer.alloc(0)

  feed (chunk: Buffer): void {
    for (let at = 0; at < chunk.length;) {
      if (this.body > 0) {
        const n = Math.min(this.body, chunk.length - at)
        this.body -= n
        at += n
        continue
      }
      const part = chunk.subarray(at, at + 5 - this.header.length)
      this.header = Buffer.concat([this.header, part])
      at += part.length
      if (this.header.length < 5) continue
      this.body = this.header.readUInt16BE(3)
      this.lastRecord = [this.header[0]!, this.body]
      this.header = Buffer.alloc(0)
    }
  }
}
