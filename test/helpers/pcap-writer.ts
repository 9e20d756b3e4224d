/**
 * Synthetic captures for the wire-image harness's tests: classic pcap files of hand-made TCP
 * segments (IPv4 or IPv6 in Ethernet, Linux cooked, BSD null or raw-IP framing). Checksums are left
 * zero: the reader never checks them (tcpdump on `lo` sees offloaded, unchecked sums too).
 */
import { LINKTYPE, type TcpSegment } from '../../bench/wire-image/pcap.js'

/** A segment to write: the reader's fields, with the flags as letters (any of S A F R P). */
export type SegmentSpec = Pick<TcpSegment, 'timeUs' | 'src' | 'dst' | 'srcPort' | 'dstPort' | 'seq'> & {
  readonly ack?: number
  readonly flags: string
  readonly payload?: Buffer
}

export type Framing = 'ethernet' | 'sll' | 'sll2' | 'null' | 'raw'

const LINKTYPES: Record<Framing, number> = { ethernet: LINKTYPE.ETHERNET, sll: LINKTYPE.LINUX_SLL, sll2: LINKTYPE.LINUX_SLL2, null: LINKTYPE.NULL, raw: LINKTYPE.RAW }

function tcpHeader (s: SegmentSpec): Buffer {
  const h = Buffer.alloc(20)
  h.writeUInt16BE(s.srcPort, 0)
  h.writeUInt16BE(s.dstPort, 2)
  h.writeUInt32BE(s.seq >>> 0, 4)
  h.writeUInt32BE((s.ack ?? 0) >>> 0, 8)
  h[12] = 5 << 4
  let flags = 0
  if (s.flags.includes('F')) flags |= 0x01
  if (s.flags.includes('S')) flags |= 0x02
  if (s.flags.includes('R')) flags |= 0x04
  if (s.flags.includes('P')) flags |= 0x08
  if (s.flags.includes('A')) flags |= 0x10
  h[13] = flags
  h.writeUInt16BE(65535, 14)
  return h
}

function ipPacket (s: SegmentSpec): Buffer {
  const tcp = Buffer.concat([tcpHeader(s), s.payload ?? Buffer.alloc(0)])
  if (s.src.includes(':')) {
    const h = Buffer.alloc(40)
    h[0] = 0x60
    h.writeUInt16BE(tcp.length, 4)
    h[6] = 6
    h[7] = 64
    v6(s.src).copy(h, 8)
    v6(s.dst).copy(h, 24)
    return Buffer.concat([h, tcp])
  }
  const h = Buffer.alloc(20)
  h[0] = 0x45
  h.writeUInt16BE(20 + tcp.length, 2)
  h[8] = 64
  h[9] = 6
  Buffer.from(s.src.split('.').map(Number)).copy(h, 12)
  Buffer.from(s.dst.split('.').map(Number)).copy(h, 16)
  return Buffer.concat([h, tcp])
}

function v6 (address: string): Buffer {
  const [head, tail] = address.split('::') as [string, string | undefined]
  const a = head === '' ? [] : head.split(':')
  const b = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? a : [...a, ...Array<string>(8 - a.length - b.length).fill('0'), ...b]
  const out = Buffer.alloc(16)
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2))
  return out
}

function frame (framing: Framing, ip: Buffer): Buffer {
  const v6 = (ip[0]! >> 4) === 6
  switch (framing) {
    case 'ethernet': {
      const h = Buffer.alloc(14)
      h.writeUInt16BE(v6 ? 0x86dd : 0x0800, 12)
      // Ethernet's minimum frame: short packets are padded, which the reader must cut off.
      const f = Buffer.concat([h, ip])
      return f.length < 60 ? Buffer.concat([f, Buffer.alloc(60 - f.length, 0xee)]) : f
    }
    case 'sll': { const h = Buffer.alloc(16); h.writeUInt16BE(v6 ? 0x86dd : 0x0800, 14); return Buffer.concat([h, ip]) }
    case 'sll2': { const h = Buffer.alloc(20); h.writeUInt16BE(v6 ? 0x86dd : 0x0800, 0); return Buffer.concat([h, ip]) }
    case 'null': { const h = Buffer.alloc(4); h.writeUInt32LE(v6 ? 30 : 2); return Buffer.concat([h, ip]) }
    case 'raw': return ip
  }
}

export interface PcapOptions { framing?: Framing, bigEndian?: boolean, nanoseconds?: boolean }

export function writePcap (segments: readonly SegmentSpec[], o: PcapOptions = {}): Buffer {
  const framing = o.framing ?? 'ethernet'
  const be = o.bigEndian === true
  const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); if (be) b.writeUInt32BE(v >>> 0); else b.writeUInt32LE(v >>> 0); return b }
  const u16 = (v: number): Buffer => { const b = Buffer.alloc(2); if (be) b.writeUInt16BE(v); else b.writeUInt16LE(v); return b }
  const parts: Buffer[] = [u32(o.nanoseconds ? 0xa1b23c4d : 0xa1b2c3d4), u16(2), u16(4), u32(0), u32(0), u32(262144), u32(LINKTYPES[framing])]
  for (const s of segments) {
    const data = frame(framing, ipPacket(s))
    const seconds = Math.floor(s.timeUs / 1e6)
    const micros = s.timeUs - seconds * 1e6
    parts.push(u32(seconds), u32(o.nanoseconds ? micros * 1000 : micros), u32(data.length), u32(data.length), data)
  }
  return Buffer.concat(parts)
}

/** A TLS record: type, version 0x0303, length, and `length` bytes of `fill`. */
export function tlsRecord (type: number, length: number, fill = 0): Buffer {
  const h = Buffer.from([type, 3, 3, length >> 8, length & 0xff])
  return Buffer.concat([h, Buffer.alloc(length, fill)])
}
