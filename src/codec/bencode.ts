/**
 * Bencode (BEP 3) for untrusted input. We do not use the bencode package for decoding because we need
 * what it does not give: hard limits on size, depth and element count (a 1 MB input of "l" would
 * otherwise recurse a million deep), strict rejection of non-canonical integers and string lengths,
 * dict keys as raw bytes (bencode@4 turns non-UTF-8 keys into hex), and the exact byte span of every
 * dict value, so that an infohash is taken over the info dict's bytes as they are, not a re-encoding.
 */
import { OversizedBencodeError } from '../errors.js'
import { MalformedBencodeError } from './errors.js'

export type BencodeValue = number | bigint | Buffer | BencodeValue[] | BencodeDict

/**
 * A decoded dictionary. Keys are the raw key bytes as a latin1 string (one char per byte), so ASCII
 * keys read naturally (`d.get('piece length')`), any byte string round-trips, and comparing two keys
 * with `<` compares their bytes (the order BEP 3 and BEP 52 sort by).
 */
export class BencodeDict extends Map<string, BencodeValue> {
  /** [start, end) of each value's encoding within the decoded input. */
  readonly spans = new Map<string, readonly [number, number]>()
}

export interface BencodeLimits {
  /** Reject inputs longer than this (OversizedBencodeError). */
  readonly maxBytes: number
  /** Maximum nesting of lists and dicts (the top-level container is depth 1). */
  readonly maxDepth?: number
  /** Maximum number of values (integers, strings, lists, dicts) in the whole input. */
  readonly maxTokens?: number
}

const DEFAULT_MAX_DEPTH = 64
const DEFAULT_MAX_TOKENS = 4_000_000
const COLON = 0x3a
const MINUS = 0x2d
const ZERO = 0x30
const NINE = 0x39
const E = 0x65

/** Decode exactly one bencoded value that spans all of `bytes`. Strings are views into `bytes`. */
export function decodeBencode (bytes: Uint8Array, limits: BencodeLimits): BencodeValue {
  if (bytes.length > limits.maxBytes) {
    throw new OversizedBencodeError(`bencoded input of ${bytes.length} bytes exceeds the limit of ${limits.maxBytes}`)
  }
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH
  const maxTokens = limits.maxTokens ?? DEFAULT_MAX_TOKENS
  let pos = 0
  let tokens = 0

  const fail = (what: string): never => {
    throw new MalformedBencodeError(`${what} at byte ${pos}`)
  }

  // Digits from pos up to (not including) `end`; returns the value and moves pos past `end`.
  const readDigits = (terminator: number, allowNegative: boolean): number | bigint => {
    const start = pos
    if (allowNegative && buf[pos] === MINUS) pos++
    const digitsStart = pos
    while (pos < buf.length && buf[pos]! >= ZERO && buf[pos]! <= NINE) pos++
    if (pos >= buf.length) fail('unexpected end of input in a number')
    if (buf[pos] !== terminator) fail(`unexpected byte 0x${buf[pos]!.toString(16)} in a number`)
    const digits = pos - digitsStart
    if (digits === 0) fail('empty number')
    // Canonical form only: "i03e", "i-0e" and "03:abc" have other encodings of the same value, and
    // accepting them would let two different byte strings carry one torrent.
    if (buf[digitsStart] === ZERO && (digits > 1 || digitsStart !== start)) fail('non-canonical number')
    const text = buf.toString('latin1', start, pos)
    pos++ // terminator
    if (digits <= 15) return Number(text)
    if (digits > 400) fail('number too long')
    const big = BigInt(text)
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big
  }

  const readString = (): Buffer => {
    const length = readDigits(COLON, false)
    if (typeof length !== 'number' || length > buf.length - pos) {
      pos-- // report the position of the colon
      fail(`string length ${length} runs past the end of input`)
    }
    const start = pos
    pos += length as number
    return buf.subarray(start, pos)
  }

  const readValue = (depth: number): BencodeValue => {
    if (++tokens > maxTokens) fail(`more than ${maxTokens} values`)
    if (pos >= buf.length) fail('unexpected end of input')
    const c = buf[pos]!
    if (c === 0x69) { // i
      pos++
      return readDigits(E, true)
    }
    if (c >= ZERO && c <= NINE) return readString()
    if (c === 0x6c) { // l
      if (depth >= maxDepth) fail(`nesting deeper than ${maxDepth}`)
      pos++
      const list: BencodeValue[] = []
      while (true) {
        if (pos >= buf.length) fail('unexpected end of input in a list')
        if (buf[pos] === E) { pos++; return list }
        list.push(readValue(depth + 1))
      }
    }
    if (c === 0x64) { // d
      if (depth >= maxDepth) fail(`nesting deeper than ${maxDepth}`)
      pos++
      const dict = new BencodeDict()
      while (true) {
        if (pos >= buf.length) fail('unexpected end of input in a dict')
        if (buf[pos] === E) { pos++; return dict }
        if (buf[pos]! < ZERO || buf[pos]! > NINE) fail('dict key is not a string')
        if (++tokens > maxTokens) fail(`more than ${maxTokens} values`)
        const key = readString().toString('latin1')
        // A duplicate key makes the dict mean different things to different parsers.
        if (dict.has(key)) fail(`duplicate dict key ${JSON.stringify(key)}`)
        const start = pos
        dict.set(key, readValue(depth + 1))
        dict.spans.set(key, [start, pos])
      }
    }
    return fail(`unexpected byte 0x${c.toString(16)}`)
  }

  const value = readValue(0)
  if (pos !== buf.length) fail('trailing bytes after the value')
  return value
}

/**
 * What encodeBencode accepts. Object keys and string Map keys are text (encoded UTF-8), except in a
 * BencodeDict (latin1, as decoded, so decode/encode round-trips); Uint8Array Map keys are raw bytes (BEP 52 `piece layers` is keyed by binary hashes); undefined members are left out.
 */
export type Encodable = number | bigint | string | Uint8Array | readonly Encodable[] |
ReadonlyMap<string | Uint8Array, Encodable> | { readonly [key: string]: Encodable | undefined }

/** Encode with dict keys sorted by their UTF-8 bytes (BEP 3), which JS string order does not always give. */
export function encodeBencode (value: Encodable): Buffer {
  const chunks: Buffer[] = []
  const put = (v: Encodable): void => {
    if (typeof v === 'number' || typeof v === 'bigint') {
      if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new RangeError(`cannot bencode ${v}`)
      chunks.push(Buffer.from(`i${v}e`, 'latin1'))
    } else if (typeof v === 'string' || v instanceof Uint8Array) {
      const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.buffer, v.byteOffset, v.length)
      chunks.push(Buffer.from(`${b.length}:`, 'latin1'), b)
    } else if (Array.isArray(v)) {
      chunks.push(Buffer.from('l'))
      for (const item of v as readonly Encodable[]) put(item)
      chunks.push(Buffer.from('e'))
    } else {
      const entries: Array<[string | Uint8Array, Encodable | undefined]> = v instanceof Map
        ? [...(v as ReadonlyMap<string | Uint8Array, Encodable>).entries()]
        : Object.entries(v as { readonly [key: string]: Encodable | undefined })
      const keyed = entries
        .filter((e): e is [string | Uint8Array, Encodable] => e[1] !== undefined)
        // A decoded BencodeDict's keys are raw bytes in latin1: re-encode them as such.
        .map(([k, val]) => [typeof k !== 'string' ? Buffer.from(k) : Buffer.from(k, v instanceof BencodeDict ? 'latin1' : 'utf8'), val] as const)
        .sort((a, b) => Buffer.compare(a[0], b[0]))
      chunks.push(Buffer.from('d'))
      for (const [k, val] of keyed) {
        chunks.push(Buffer.from(`${k.length}:`, 'latin1'), k)
        put(val)
      }
      chunks.push(Buffer.from('e'))
    }
  }
  put(value)
  return Buffer.concat(chunks)
}
