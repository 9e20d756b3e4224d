/**
 * JA3, JA3S, JA4 and JA4S of parsed hellos, implemented from their public definitions:
 *
 * - JA3/JA3S: Salesforce, https://github.com/salesforce/ja3 (README, "How it works"): decimal
 *   values joined by '-', fields by ',', GREASE dropped, MD5.
 * - JA4/JA4S: FoxIO, https://github.com/FoxIO-LLC/ja4/blob/main/technical_details/JA4.md and JA4S.md:
 *   `t` + version + d/i + cipher count + extension count + ALPN first/last char, then the truncated
 *   SHA-256 of the sorted ciphers, then of the sorted extensions (SNI and ALPN left out) followed by
 *   the signature algorithms in their order. GREASE is ignored everywhere; an empty list hashes to
 *   twelve zeros.
 *
 * Written from the text of those pages, not from their code; test/bench/ja4.test.ts checks the
 * values the pages publish.
 */
import { createHash } from 'node:crypto'
import { EXT, type ClientHello, type ServerHello } from './hellos.js'

/** RFC 8701 GREASE: 0x?a?a with both bytes equal. */
export function isGrease (v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && (v >> 8) === (v & 0xff)
}

const noGrease = (xs: readonly number[] | undefined): number[] => (xs ?? []).filter(v => !isGrease(v))
const hex4 = (v: number): string => v.toString(16).padStart(4, '0')
const sha256_12 = (text: string): string => text === '' ? '000000000000' : createHash('sha256').update(text).digest('hex').slice(0, 12)
const md5 = (text: string): string => createHash('md5').update(text).digest('hex')

export function ja3String (ch: ClientHello): string {
  return [
    String(ch.legacyVersion),
    noGrease(ch.cipherSuites).join('-'),
    noGrease(ch.extensions.map(e => e.type)).join('-'),
    noGrease(ch.supportedGroups).join('-'),
    (ch.ecPointFormats ?? []).join('-')
  ].join(',')
}

export function ja3 (ch: ClientHello): string {
  return md5(ja3String(ch))
}

export function ja3sString (sh: ServerHello): string {
  return [String(sh.legacyVersion), String(sh.cipherSuite), noGrease(sh.extensions.map(e => e.type)).join('-')].join(',')
}

export function ja3s (sh: ServerHello): string {
  return md5(ja3sString(sh))
}

const JA4_VERSIONS: Record<number, string> = {
  0x0304: '13', 0x0303: '12', 0x0302: '11', 0x0301: '10', 0x0300: 's3', 0x0002: 's2', 0xfeff: 'd1', 0xfefd: 'd2', 0xfefc: 'd3'
}

function ja4Version (versions: readonly number[]): string {
  // "the highest value": DTLS versions count down, so rank by position in the table above.
  const known = versions.filter(v => JA4_VERSIONS[v] !== undefined)
  if (known.length === 0) return '00'
  const rank = (v: number): number => (v & 0xff00) === 0xfe00 ? 0x10000 - v : v
  return JA4_VERSIONS[known.reduce((a, b) => rank(b) > rank(a) ? b : a)]!
}

const count2 = (n: number): string => String(Math.min(n, 99)).padStart(2, '0')

const isAlnum = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)

/** First and last character of the first ALPN value; hex of the value when either is not alphanumeric. */
export function ja4Alpn (first: string | undefined): string {
  if (first === undefined || first === '') return '00'
  const bytes = Buffer.from(first, 'latin1')
  if (isAlnum(bytes[0]!) && isAlnum(bytes[bytes.length - 1]!)) return first[0]! + first[first.length - 1]!
  const h = bytes.toString('hex')
  return h[0]! + h[h.length - 1]!
}

export interface Ja4Parts { readonly a: string, readonly b: string, readonly c: string, readonly raw: string }

/** JA4's three parts and the raw (sorted, unhashed) form, JA4_r. */
export function ja4Parts (ch: ClientHello, transport: 't' | 'q' | 'd' = 't'): Ja4Parts {
  const versions = ch.supportedVersions !== undefined ? noGrease(ch.supportedVersions) : [ch.legacyVersion]
  const ciphers = noGrease(ch.cipherSuites)
  const extensions = noGrease(ch.extensions.map(e => e.type))
  const a = transport + ja4Version(versions) + (ch.serverName !== undefined || extensions.includes(EXT.SERVER_NAME) ? 'd' : 'i') +
    count2(ciphers.length) + count2(extensions.length) + ja4Alpn(ch.alpn?.[0])
  const sortedCiphers = ciphers.map(hex4).sort().join(',')
  const sortedExtensions = extensions.filter(t => t !== EXT.SERVER_NAME && t !== EXT.ALPN).map(hex4).sort().join(',')
  const sigalgs = noGrease(ch.signatureAlgorithms).map(hex4).join(',')
  const cText = sortedExtensions === '' ? '' : sigalgs === '' ? sortedExtensions : `${sortedExtensions}_${sigalgs}`
  return { a, b: sha256_12(sortedCiphers), c: sha256_12(cText), raw: `${a}_${sortedCiphers}_${cText}` }
}

export function ja4 (ch: ClientHello, transport: 't' | 'q' | 'd' = 't'): string {
  const { a, b, c } = ja4Parts(ch, transport)
  return `${a}_${b}_${c}`
}

/** JA4_o: the same with ciphers and extensions in their original order, SNI and ALPN kept. */
export function ja4Original (ch: ClientHello, transport: 't' | 'q' | 'd' = 't'): string {
  const { a } = ja4Parts(ch, transport)
  const ciphers = noGrease(ch.cipherSuites).map(hex4).join(',')
  const extensions = noGrease(ch.extensions.map(e => e.type)).map(hex4).join(',')
  const sigalgs = noGrease(ch.signatureAlgorithms).map(hex4).join(',')
  const cText = extensions === '' ? '' : sigalgs === '' ? extensions : `${extensions}_${sigalgs}`
  return `${a}_${sha256_12(ciphers)}_${sha256_12(cText)}`
}

export function ja4s (sh: ServerHello, transport: 't' | 'q' | 'd' = 't'): string {
  const extensions = noGrease(sh.extensions.map(e => e.type))
  const version = ja4Version([sh.selectedVersion ?? sh.legacyVersion])
  return `${transport}${version}${count2(extensions.length)}${ja4Alpn(sh.alpn)}_${hex4(sh.cipherSuite)}_${sha256_12(extensions.map(hex4).join(','))}`
}
