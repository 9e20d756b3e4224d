/**
 * A one-connection relay between a probe and its target, recording what the target sends and how it
 * ends the connection (FIN or RST, and when), as a censor's prober sees it on the wire. The relay
 * never passes the prober's own close on: to the target the connection stays open until the target
 * closes it or the cap is reached, so "who closes, when" is always the target's answer, even when
 * node:tls gives up on its side after an alert.
 */
import net from 'node:net'

export interface TargetEnd {
  readonly how: 'FIN' | 'RST'
  /** performance.now() when it arrived. */
  readonly at: number
}

export interface RelayObservation {
  /** What the target sent (the first 64 KiB). */
  readonly bytes: Buffer
  readonly totalBytes: number
  /** performance.now() of the first byte from the target. */
  readonly firstByteAt?: number
  readonly fin?: TargetEnd
  readonly rst?: TargetEnd
}

const KEEP = 64 * 1024

export class ProbeRelay {
  private readonly chunks: Buffer[] = []
  private total = 0
  private firstByteAt: number | undefined
  private fin: TargetEnd | undefined
  private rst: TargetEnd | undefined
  private upstream: net.Socket | undefined
  private downstream: net.Socket | undefined
  private readonly endWaiters = new Set<() => void>()

  private constructor (private readonly server: net.Server) {}

  /** Listens on 127.0.0.1 (any port) for the probe's one connection, which it relays to `target`. */
  static async start (target: { host: string, port: number }): Promise<ProbeRelay> {
    const server = net.createServer({ allowHalfOpen: true })
    const relay = new ProbeRelay(server)
    server.on('connection', down => {
      server.close() // one connection only
      relay.downstream = down
      const up = net.connect({ host: target.host, port: target.port, allowHalfOpen: true })
      relay.upstream = up
      down.on('data', (d: Buffer) => { if (!up.destroyed) up.write(d) })
      down.on('error', () => {})
      down.on('end', () => {}) // the prober's FIN is not passed on (see above)
      up.on('data', (d: Buffer) => {
        relay.firstByteAt ??= performance.now()
        if (relay.total < KEEP) relay.chunks.push(d.subarray(0, KEEP - relay.total))
        relay.total += d.length
        if (!down.destroyed) down.write(d)
      })
      up.on('end', () => {
        relay.fin ??= { how: 'FIN', at: performance.now() }
        if (!down.destroyed) down.end()
        relay.wake()
      })
      up.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNRESET' || err.code === 'EPIPE') relay.rst ??= { how: 'RST', at: performance.now() }
        if (!down.destroyed) down.resetAndDestroy()
        relay.wake()
      })
      up.on('close', () => relay.wake())
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    return relay
  }

  get port (): number { return (this.server.address() as net.AddressInfo | null)?.port ?? 0 }

  /** Resolves when the target has closed (FIN or RST), or after `timeoutMs`. */
  async targetClosed (timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs
    while (this.fin === undefined && this.rst === undefined && performance.now() < deadline) await this.nextEvent(deadline - performance.now())
  }

  /** After a FIN, waits up to `ms` for an RST to follow (the lab saw "FIN, then RST" on a failed proof). */
  async settle (ms: number): Promise<void> {
    const deadline = performance.now() + ms
    while (this.fin !== undefined && this.rst === undefined && performance.now() < deadline) await this.nextEvent(deadline - performance.now())
  }

  /** Until the upstream socket reports something, or `ms`. */
  private async nextEvent (ms: number): Promise<void> {
    await new Promise<void>(resolve => {
      const timer = setTimeout(done, Math.max(0, ms))
      const waiters = this.endWaiters
      function done (): void { clearTimeout(timer); waiters.delete(done); resolve() }
      waiters.add(done)
    })
  }

  observation (): RelayObservation {
    return { bytes: Buffer.concat(this.chunks), totalBytes: this.total, firstByteAt: this.firstByteAt, fin: this.fin, rst: this.rst }
  }

  close (): void {
    this.server.close()
    this.upstream?.destroy()
    this.downstream?.destroy()
    this.wake()
  }

  private wake (): void { for (const w of [...this.endWaiters]) w() }
}
