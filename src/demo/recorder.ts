/**
 * A loopback relay that forwards a connection to a target and scans every byte it carries, in both
 * directions, for given needles (e.g. the infohash). It keeps the first bytes of each direction so the
 * ClientHello can be inspected, and a window of `maxNeedle - 1` bytes so matches across chunk
 * boundaries are found. This is what a passive observer on the path sees.
 */
import net from 'node:net'

export interface Needle { readonly label: string, readonly bytes: Buffer }

export interface Recording {
  bytes: number
  hits: Map<string, number>
  /** First bytes sent by the connecting side, per connection. */
  firstFlights: Buffer[]
}

export class Recorder {
  readonly recording: Recording
  private readonly server: net.Server
  private readonly sockets = new Set<net.Socket>()

  private constructor (server: net.Server, needles: readonly Needle[]) {
    this.server = server
    this.recording = { bytes: 0, hits: new Map(needles.map(n => [n.label, 0])), firstFlights: [] }
  }

  static async start (target: { host: string, port: number }, needles: readonly Needle[]): Promise<Recorder> {
    const server = net.createServer()
    const recorder = new Recorder(server, needles)
    const maxNeedle = Math.max(...needles.map(n => n.bytes.length))
    server.on('connection', inbound => {
      const outbound = net.connect(target.port, target.host)
      for (const s of [inbound, outbound]) { recorder.sockets.add(s); s.on('close', () => recorder.sockets.delete(s)); s.on('error', () => { inbound.destroy(); outbound.destroy() }) }
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
      })
      outbound.on('data', down)
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
