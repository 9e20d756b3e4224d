/**
 * A userspace stand-in for `tc qdisc netem delay` (this kernel has no netem): a TCP proxy on
 * 127.0.0.1 that holds every chunk for RTT/2 in each direction before passing it on, so a
 * client dialing the proxy sees the target `rttMs` away.
 *
 * Each chunk carries its own due time and chunks leave strictly in arrival order (one timer per
 * direction, armed for the head of the queue), so a later chunk never overtakes an earlier one and
 * bursts are not serialised behind each other's delay: it is a delay line, not a bandwidth limit.
 * Not modelled: TCP's own SYN/SYN-ACK (the kernel answers the dial at once), so a real network adds
 * one more round trip to every mode alike; and no loss or reordering.
 *
 *   node dist/bench/delay-proxy.js --rtt MS --target PORT [--port PORT]
 */
import net from 'node:net'
import { emit, isMain } from './json-child.js'

export interface DelayProxyOptions {
  /** Round-trip time to add; each direction is delayed by half of it. */
  readonly rttMs: number
  readonly targetPort: number
  readonly targetHost?: string
  /** Port to listen on (127.0.0.1); 0 picks one. */
  readonly port?: number
}

/** Past this many bytes queued towards a slow side, stop reading the other (bounded memory). */
const HIGH_WATER = 8 * 2 ** 20

export class DelayProxy {
  private readonly sockets = new Set<net.Socket>()

  private constructor (private readonly server: net.Server, private readonly options: DelayProxyOptions) {
    server.on('connection', client => this.relay(client))
  }

  static async listen (options: DelayProxyOptions): Promise<DelayProxy> {
    const server = net.createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port ?? 0, '127.0.0.1', () => { server.off('error', reject); resolve() })
    })
    return new DelayProxy(server, options)
  }

  get port (): number {
    return (this.server.address() as net.AddressInfo).port
  }

  get rttMs (): number {
    return this.options.rttMs
  }

  async close (): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }

  private relay (client: net.Socket): void {
    const upstream = net.connect({ host: this.options.targetHost ?? '127.0.0.1', port: this.options.targetPort })
    for (const s of [client, upstream]) {
      // No Nagle: a proxy that coalesced small writes would add delay the real path does not have.
      s.setNoDelay(true)
      this.sockets.add(s)
      s.once('close', () => this.sockets.delete(s))
      s.on('error', () => {})
    }
    const half = this.options.rttMs / 2
    delayLine(client, upstream, half)
    delayLine(upstream, client, half)
  }
}

/** Copies `from` to `to`, each chunk `delayMs` late, in order; an end or a reset follows the data, as late. */
export function delayLine (from: net.Socket, to: net.Socket, delayMs: number): void {
  const queue: Array<{ due: number, chunk: Buffer | null }> = []
  let queued = 0
  let timer: NodeJS.Timeout | undefined

  const pump = (): void => {
    timer = undefined
    const now = performance.now()
    while (queue.length > 0 && queue[0]!.due <= now + 0.5) {
      const { chunk } = queue.shift()!
      if (chunk === null) { to.end(); return }
      queued -= chunk.length
      to.write(chunk)
    }
    if (queued < HIGH_WATER && from.isPaused()) from.resume()
    arm()
  }
  const arm = (): void => {
    if (timer !== undefined || queue.length === 0) return
    timer = setTimeout(pump, Math.max(0, queue[0]!.due - performance.now()))
  }
  const push = (chunk: Buffer | null): void => {
    queue.push({ due: performance.now() + delayMs, chunk })
    if (chunk !== null) {
      queued += chunk.length
      if (queued >= HIGH_WATER) from.pause()
    }
    arm()
  }

  from.on('data', (chunk: Buffer) => push(chunk))
  from.on('end', () => push(null))
  // A reset is not data: it travels as late as the bytes before it would have.
  from.on('close', hadError => { if (hadError) setTimeout(() => to.destroy(), delayMs) })
  to.on('close', () => { if (timer !== undefined) clearTimeout(timer); from.destroy() })
}

async function main (): Promise<void> {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name)
    return i >= 0 ? process.argv[i + 1] : undefined
  }
  const rttMs = Number(arg('--rtt') ?? 0)
  const targetPort = Number(arg('--target'))
  if (!Number.isFinite(rttMs) || rttMs < 0 || !Number.isInteger(targetPort)) throw new Error('usage: delay-proxy --rtt MS --target PORT [--port PORT]')
  const proxy = await DelayProxy.listen({ rttMs, targetPort, port: Number(arg('--port') ?? 0) })
  emit('listening', { port: proxy.port, rttMs, targetPort })
  // Run by a bench as a child: its stdin closing is the signal to stop.
  process.stdin.resume()
  process.stdin.on('end', () => { void proxy.close().then(() => process.exit(0)) })
}

if (isMain(import.meta.url)) main().catch(err => { console.error((err as Error).message); process.exit(1) })
