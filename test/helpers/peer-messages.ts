/** The ids of the whole length-prefixed peer-wire messages in `bytes` (an extended message also gives its extended id). */
export function messageIds (bytes: Buffer): Array<{ id: number, ext?: number }> {
  const out: Array<{ id: number, ext?: number }> = []
  for (let at = 0; at + 4 <= bytes.length;) {
    const length = bytes.readUInt32BE(at)
    if (at + 4 + length > bytes.length) break
    if (length > 0) out.push(bytes[at + 4] === 20 ? { id: 20, ext: bytes[at + 5]! } : { id: bytes[at + 4]! })
    at += 4 + length
  }
  return out
}
