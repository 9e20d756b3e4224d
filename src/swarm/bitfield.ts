/**
 * A peer's (or our) piece set for a torrent whose piece count is known. Unlike the wire's BitField,
 * it never grows: indexes outside the torrent are the caller's bug or a peer's protocol violation.
 */
export class Bitfield {
  readonly bytes: Uint8Array
  private count = 0

  constructor (readonly size: number) {
    this.bytes = new Uint8Array(Math.ceil(size / 8))
  }

  /**
   * BEP 3: exactly ceil(size/8) bytes, spare bits zero. Returns undefined for anything else, so the
   * caller decides how to punish the peer.
   */
  static fromWire (buf: Uint8Array, size: number): Bitfield | undefined {
    const field = new Bitfield(size)
    if (buf.length !== field.bytes.length) return undefined
    const spare = field.bytes.length * 8 - size
    if (spare > 0 && (buf[buf.length - 1]! & ((1 << spare) - 1)) !== 0) return undefined
    field.bytes.set(buf)
    for (let i = 0; i < size; i++) if (field.get(i)) field.count++
    return field
  }

  get (index: number): boolean {
    return (this.bytes[index >> 3]! & (0x80 >> (index & 7))) !== 0
  }

  /** Returns false when the bit was already set. */
  set (index: number): boolean {
    if (index < 0 || index >= this.size || this.get(index)) return false
    this.bytes[index >> 3]! |= 0x80 >> (index & 7)
    this.count++
    return true
  }

  get setCount (): number {
    return this.count
  }

  get full (): boolean {
    return this.count === this.size
  }
}
