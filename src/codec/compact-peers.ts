/** Compact peer lists: BEP 23 `peers` (6 bytes per IPv4 peer) and BEP 7 `peers6` (18 bytes per IPv6 peer). */
import { isIPv4, isIPv6 } from 'node:net'

export interface PeerAddress { readonly host: string, readonly port: number }

/** Splits peers into the two compact strings; addresses that are neither family are dropped. */
export function encodeCompactPeers (peers: Iterable<PeerAddress>): { peers: Buffer, peers6: Buffer } {
  const v4: Buffer[] = []
  const v6: Buffer[] = []
  for (const p of peers) {
    const entry = compactPeer(p)
    if (entry?.length === 6) v4.push(entry)
    else if (entry !== undefined) v6.push(entry)
  }
  return { peers: Buffer.concat(v4), peers6: Buffer.concat(v6) }
}

/**
 * One peer in compact form: 4 address bytes + big-endian port (BEP 23), or 16 + port (BEP 7). Shared by
 * tracker responses and PEX (BEP 11), which use the same entries. Undefined for a bad port or address.
 */
export function compactPeer (p: PeerAddress): Buffer | undefined {
  if (!(Number.isInteger(p.port) && p.port > 0 && p.port < 65536)) return undefined
  if (isIPv4(p.host)) {
    const b = Buffer.alloc(6)
    p.host.split('.').forEach((octet, i) => { b[i] = Number(octet) })
    b.writeUInt16BE(p.port, 4)
    return b
  }
  const host = p.host.replace(/%.*$/, '') // a zone index is local to this host
  if (isIPv6(host)) {
    const b = Buffer.alloc(18)
    ipv6Bytes(host).copy(b)
    b.writeUInt16BE(p.port, 16)
    return b
  }
  return undefined
}

/** Parses a compact list (entry 6 or 18 bytes); a trailing partial entry is ignored, port 0 dropped. */
export function decodeCompactPeers (bytes: Uint8Array, family: 4 | 6): PeerAddress[] {
  const size = family === 4 ? 6 : 18
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
  const out: PeerAddress[] = []
  for (let off = 0; off + size <= buf.length; off += size) {
    const port = buf.readUInt16BE(off + size - 2)
    if (port === 0) continue
    const host = family === 4
      ? [...buf.subarray(off, off + 4)].join('.')
      : Array.from({ length: 8 }, (_, i) => buf.readUInt16BE(off + 2 * i).toString(16)).join(':')
    out.push({ host, port })
  }
  return out
}

function ipv6Bytes (host: string): Buffer {
  let h = host
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(h)
  if (v4) {
    const o = v4[1]!.split('.').map(Number)
    h = h.slice(0, -v4[1]!.length) + `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`
  }
  const [head, tail] = h.includes('::') ? h.split('::') as [string, string] : [h, undefined]
  const headGroups = head === '' ? [] : head.split(':')
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups]
  const b = Buffer.alloc(16)
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), 2 * i))
  return b
}
