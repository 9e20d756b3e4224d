/**
 * Reads a classic libpcap file (what `tcpdump -w` writes) into TCP segments, without tshark: the
 * harness must work, and be testable on synthetic bytes, with nothing but Node.
 *
 * Supported: both byte orders, microsecond and nanosecond timestamps; link types Ethernet (1, what
 * tcpdump gives on Linux `lo`), BSD null/loopback (0) and OpenBSD loop (108), raw IP (12, 14, 101),
 * Linux cooked capture v1 (113) and v2 (276); IPv4 (first fragments only) and IPv6 (TCP directly
 * after the fixed header). pcapng is not supported: tcpdump writes classic pcap unless told otherwise.
 */

export interface PcapPacket {
  /** Capture time in microseconds since the epoch (an integer: exact in a double until 2255). */
  readonly timeUs: number
  readonly data: Buffer
  /** The length on the wire; more than data.length when the snap length cut the packet. */
  readonly originalLength: number
}

export interface PcapFile {
  readonly linkType: number
  readonly snapLength: number
  readonly packets: PcapPacket[]
}

export interface TcpSegment {
  readonly timeUs: number
  readonly src: string
  readonly dst: string
  readonly srcPort: number
  readonly dstPort: number
  readonly seq: number
  readonly ack: number
  readonly syn: boolean
  readonly ackFlag: boolean
  readonly fin: boolean
  readonly rst: boolean
  readonly payload: Buffer
}

export const LINKTYPE = { NULL: 0, ETHERNET: 1, RAW: 101, RAW_12: 12, RAW_14: 14, LOOP: 108, LINUX_SLL: 113, LINUX_SLL2: 276 } as const

const MAGIC_US = 0xa1b2c3d4
const MAGIC_NS = 0xa1b23c4d

export class PcapFormatError extends Error {
  override name = 'PcapFormatError'
}

/** Every packet of a classic pcap file; a file cut short mid-packet (capture killed) keeps the whole packets. */
export function parsePcap (file: Buffer): PcapFile {
  if (file.length < 24) throw new PcapFormatError('shorter than a pcap global header')
  const magicLE = file.readUInt32LE(0)
  const magicBE = file.readUInt32BE(0)
  const little = magicLE === MAGIC_US || magicLE === MAGIC_NS
  if (!little && magicBE !== MAGIC_US && magicBE !== MAGIC_NS) {
    throw new PcapFormatError(`not a classic pcap file (magic ${file.subarray(0, 4).toString('hex')}; pcapng is not supported)`)
  }
  const nanos = (little ? magicLE : magicBE) === MAGIC_NS
  const u32 = (at: number): number => little ? file.readUInt32LE(at) : file.readUInt32BE(at)
  const snapLength = u32(16)
  const linkType = u32(20) & 0x0fffffff // the top bits are FCS flags, not the type
  const packets: PcapPacket[] = []
  for (let at = 24; at + 16 <= file.length;) {
    const seconds = u32(at)
    const fraction = u32(at + 4)
    const captured = u32(at + 8)
    const originalLength = u32(at + 12)
    if (at + 16 + captured > file.length) break
    const timeUs = seconds * 1_000_000 + (nanos ? Math.floor(fraction / 1000) : fraction)
    packets.push({ timeUs, data: file.subarray(at + 16, at + 16 + captured), originalLength })
    at += 16 + captured
  }
  return { linkType, snapLength, packets }
}

/** The IP packet inside a link-layer frame, or undefined for anything that is not IPv4/IPv6. */
export function ipPayload (linkType: number, frame: Buffer): Buffer | undefined {
  let etherType: number | undefined
  let at: number
  switch (linkType) {
    case LINKTYPE.ETHERNET:
      if (frame.length < 14) return undefined
      etherType = frame.readUInt16BE(12)
      at = 14
      while ((etherType === 0x8100 || etherType === 0x88a8) && frame.length >= at + 4) { // VLAN tags
        etherType = frame.readUInt16BE(at + 2)
        at += 4
      }
      break
    case LINKTYPE.LINUX_SLL:
      if (frame.length < 16) return undefined
      etherType = frame.readUInt16BE(14)
      at = 16
      break
    case LINKTYPE.LINUX_SLL2:
      if (frame.length < 20) return undefined
      etherType = frame.readUInt16BE(0)
      at = 20
      break
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP:
      // The address family, in the capturing host's byte order (NULL) or big-endian (LOOP); the
      // IP version nibble below decides, so the byte order does not matter.
      at = 4
      break
    case LINKTYPE.RAW:
    case LINKTYPE.RAW_12:
    case LINKTYPE.RAW_14:
      at = 0
      break
    default:
      return undefined
  }
  if (etherType !== undefined && etherType !== 0x0800 && etherType !== 0x86dd) return undefined
  return frame.length > at ? frame.subarray(at) : undefined
}

/** The TCP segment in a frame, or undefined (not TCP, a later IPv4 fragment, cut short). */
export function decodeTcp (linkType: number, frame: Buffer, timeUs: number): TcpSegment | undefined {
  const ip = ipPayload(linkType, frame)
  if (ip === undefined || ip.length < 1) return undefined
  const version = ip[0]! >> 4
  let src: string
  let dst: string
  let tcp: Buffer
  if (version === 4) {
    if (ip.length < 20) return undefined
    const headerLength = (ip[0]! & 0x0f) * 4
    const totalLength = ip.readUInt16BE(2)
    if (ip[9] !== 6 || (ip.readUInt16BE(6) & 0x1fff) !== 0) return undefined // not TCP, or not the first fragment
    if (headerLength < 20 || ip.length < headerLength) return undefined
    src = `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`
    dst = `${ip[16]}.${ip[17]}.${ip[18]}.${ip[19]}`
    // Ethernet pads short frames: the IP total length says where the packet ends.
    tcp = ip.subarray(headerLength, Math.min(ip.length, totalLength))
  } else if (version === 6) {
    if (ip.length < 40 || ip[6] !== 6) return undefined
    src = ipv6(ip.subarray(8, 24))
    dst = ipv6(ip.subarray(24, 40))
    tcp = ip.subarray(40, Math.min(ip.length, 40 + ip.readUInt16BE(4)))
  } else {
    return undefined
  }
  if (tcp.length < 20) return undefined
  const dataOffset = (tcp[12]! >> 4) * 4
  if (dataOffset < 20 || tcp.length < dataOffset) return undefined
  const flags = tcp[13]!
  return {
    timeUs,
    src,
    dst,
    srcPort: tcp.readUInt16BE(0),
    dstPort: tcp.readUInt16BE(2),
    seq: tcp.readUInt32BE(4),
    ack: tcp.readUInt32BE(8),
    fin: (flags & 0x01) !== 0,
    syn: (flags & 0x02) !== 0,
    rst: (flags & 0x04) !== 0,
    ackFlag: (flags & 0x10) !== 0,
    payload: tcp.subarray(dataOffset)
  }
}

/** Every TCP segment of a pcap file, in capture order. */
export function tcpSegments (file: Buffer): TcpSegment[] {
  const { linkType, packets } = parsePcap(file)
  const segments: TcpSegment[] = []
  for (const p of packets) {
    const s = decodeTcp(linkType, p.data, p.timeUs)
    if (s !== undefined) segments.push(s)
  }
  return segments
}

function ipv6 (b: Buffer): string {
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16))
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:{3,}/, '::')
}
