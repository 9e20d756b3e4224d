/**
 * The forwarding decoy: every visitor's decrypted bytes go to a real web server on this machine (or
 * one the operator trusts), and its answers go back, byte for byte, as REALITY and Trojan forward to
 * their cover site. The prober then meets that server's own behaviour, whatever it is.
 */
import net from 'node:net'
import type { Duplex } from 'node:stream'
import { DecoyVisits, DEFAULT_DECOY_LIMITS, type Decoy, type DecoyLimits } from './decoy.js'

export interface ForwardDecoyOptions {
  readonly limits?: DecoyLimits
  /** Bound on connecting to the web server. Default 5 s. */
  readonly connectTimeoutMs?: number
  /** A visit with no byte either way for this long is closed. Default 120 s. */
  readonly idleTimeoutMs?: number
}

/** Parses `--decoy URL`: http://host[:port] only (the visitor's TLS already ended at our responder). */
export function decoyTarget (url: string): { host: string, port: number } {
  let parsed: URL
  try { parsed = new URL(url) } catch { throw new RangeError(`--decoy ${url}: not a URL`) }
  if (parsed.protocol !== 'http:') throw new RangeError(`--decoy ${url}: only http:// web servers can be forwarded to`)
  if (parsed.pathname !== '/' || parsed.search !== '' || parsed.username !== '') throw new RangeError(`--decoy ${url}: give only http://host:port`)
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: parsed.port === '' ? 80 : Number(parsed.port) }
}

export function forwardingDecoy (url: string, options: ForwardDecoyOptions = {}): Decoy {
  const target = decoyTarget(url)
  const visits = new DecoyVisits(options.limits ?? DEFAULT_DECOY_LIMITS)
  const upstreams = new Set<net.Socket>()
  return {
    take (socket: Duplex, received: Buffer): void {
      if (!visits.admit(socket)) return
      const upstream = net.connect({ host: target.host, port: target.port })
      upstreams.add(upstream)
      const end = (): void => { upstream.destroy(); socket.destroy() }
      const connectTimer = setTimeout(end, options.connectTimeoutMs ?? 5000)
      upstream.once('connect', () => clearTimeout(connectTimer))
      upstream.once('close', () => { clearTimeout(connectTimer); upstreams.delete(upstream); socket.destroy() })
      upstream.on('error', end)
      socket.once('close', () => upstream.destroy())
      upstream.setTimeout(options.idleTimeoutMs ?? 120_000, end)
      if (received.length > 0) upstream.write(received)
      socket.pipe(upstream)
      upstream.pipe(socket)
    },
    async close (): Promise<void> {
      visits.closeAll()
      for (const upstream of upstreams) upstream.destroy()
    }
  }
}
