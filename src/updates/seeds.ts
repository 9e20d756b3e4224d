/**
 * Where a release's seeds are: the update server lists its bttls endpoints at `seeds.json`
 * ({"peers": ["host:port", ...]}). The list is not signed and need not be: a client talks only to
 * peers that prove the publisher key inside TLS, so a forged list can waste a client's time (bounded
 * by the swarm's idle bound) but cannot make it accept other bytes.
 */
import { MalformedMetadataError } from './errors.js'

export const SEEDS_PATH = 'seeds.json'
export const MAX_SEEDS_BYTES = 16 * 1024
const MAX_SEEDS = 64

export function encodePeerList (peers: ReadonlyArray<{ host: string, port: number }>): Buffer {
  return Buffer.from(JSON.stringify({ peers: peers.map(p => p.host.includes(':') ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`) }))
}

export function parsePeerList (bytes: Buffer): Array<{ host: string, port: number }> {
  let parsed: unknown
  try { parsed = JSON.parse(bytes.toString('utf8')) } catch { throw new MalformedMetadataError(`${SEEDS_PATH} is not JSON`) }
  const list = (parsed as { peers?: unknown })?.peers
  if (!Array.isArray(list)) throw new MalformedMetadataError(`${SEEDS_PATH} has no "peers" list`)
  const out: Array<{ host: string, port: number }> = []
  for (const p of list.slice(0, MAX_SEEDS)) {
    const m = typeof p === 'string' ? (/^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(p) ?? /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(p)) : null
    const port = m ? Number(m[2]) : 0
    if (m && port > 0 && port < 65536) out.push({ host: m[1]!, port })
  }
  return out
}
