/**
 * Binary-safe query strings for announces. info_hash and peer_id are raw bytes percent-encoded
 * byte by byte (BEP 3); URLSearchParams decodes as UTF-8 and would mangle them.
 */

const UNRESERVED = /[A-Za-z0-9\-._~]/

/** Percent-encodes every byte except RFC 3986 unreserved characters. */
export function escapeBytes (value: Uint8Array | string): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
  let out = ''
  for (const b of bytes) {
    const c = String.fromCharCode(b)
    out += UNRESERVED.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

export function encodeQuery (params: Iterable<readonly [string, Uint8Array | string | number]>): string {
  const parts: string[] = []
  for (const [k, v] of params) parts.push(`${escapeBytes(k)}=${escapeBytes(typeof v === 'number' ? String(v) : v)}`)
  return parts.join('&')
}

/**
 * Decodes a query string into raw byte values per name (a name may repeat). '+' stays a '+'
 * (RFC 3986 gives it no meaning; BitTorrent clients escape it). Malformed escapes throw.
 */
export function decodeQuery (query: string): Map<string, Buffer[]> {
  const out = new Map<string, Buffer[]>()
  if (query === '') return out
  for (const part of query.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const name = unescapeBytes(eq < 0 ? part : part.slice(0, eq)).toString('latin1')
    const value = unescapeBytes(eq < 0 ? '' : part.slice(eq + 1))
    const list = out.get(name)
    if (list) list.push(value)
    else out.set(name, [value])
  }
  return out
}

function unescapeBytes (s: string): Buffer {
  const out = Buffer.alloc(s.length)
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x25) {
      const hex = s.slice(i + 1, i + 3)
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new URIError(`malformed percent-escape at ${i}`)
      out[n++] = parseInt(hex, 16)
      i += 2
    } else {
      if (c > 0x7e) throw new URIError(`unescaped non-ASCII character at ${i}`)
      out[n++] = c
    }
  }
  return out.subarray(0, n)
}
