/**
 * Magnet links (BEP 9 for v1 `urn:btih:`, BEP 52 for v2 `urn:btmh:` with a SHA-256 multihash; a hybrid
 * link carries both). Parsing is strict: a link from a user or a web page is untrusted input.
 */
import { isIPv6 } from 'node:net'
import { InvalidMagnetError } from './errors.js'
import type { MagnetLink, Metainfo } from './metainfo.js'
import type { StrictMode } from './strict-info.js'
import { caFingerprint } from '../pki/certificate-profile.js'

const MAX_URI_LENGTH = 64 * 1024
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
/** Multihash prefix of a 32-byte SHA-256 digest: code 0x12, length 0x20. */
const SHA256_MULTIHASH = '1220'

const invalid = (message: string): never => {
  throw new InvalidMagnetError(message)
}

export function parseMagnet (uri: string): MagnetLink {
  if (uri.length > MAX_URI_LENGTH) invalid(`magnet URI longer than ${MAX_URI_LENGTH} characters`)
  if (!/^magnet:\?/i.test(uri)) invalid('not a magnet URI (must start with "magnet:?")')
  let infoHashV1: Buffer | undefined
  let infoHashV2: Buffer | undefined
  let name: string | undefined
  const trackers = new Set<string>()
  const peers = new Set<string>()
  let strictMode: StrictMode | undefined
  let strictSecret: Buffer | undefined
  let publisherKey: Buffer | undefined
  let fullStrict = false
  let caHash: Buffer | undefined

  for (const part of uri.slice('magnet:?'.length).split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    if (eq < 0) continue // a bare flag: nothing BitTorrent defines
    // BEP 9 allows numbered repeats (xt.1, tr.2); they mean the same as the plain key.
    const key = part.slice(0, eq).toLowerCase().replace(/\.\d+$/, '')
    const value = percentDecode(part.slice(eq + 1), key)
    switch (key) {
      case 'xt': {
        const lower = value.toLowerCase()
        if (lower.startsWith('urn:btih:')) {
          const h = decodeBtih(value.slice(9))
          if (infoHashV1 !== undefined && !infoHashV1.equals(h)) invalid('two different urn:btih infohashes')
          infoHashV1 = h
        } else if (lower.startsWith('urn:btmh:')) {
          const h = decodeBtmh(value.slice(9))
          if (infoHashV2 !== undefined && !infoHashV2.equals(h)) invalid('two different urn:btmh infohashes')
          infoHashV2 = h
        }
        // Other URNs (urn:sha1:, urn:ed2k:) name the content for other networks: ignored.
        break
      }
      case 'dn':
        name = value
        break
      case 'tr':
        trackers.add(checkTracker(value))
        break
      case 'x.pe':
        peers.add(checkPeer(value))
        break
      // bttls (BEP: "Strict magnet links", "Full Strict magnet links"): the level, and what an infohash alone does not give.
      case 'x.bttls':
        if (value === 'full-strict') { fullStrict = true; break }
        if (!/^strict-(secret|passphrase|publisher)$/.test(value)) invalid(`x.bttls must be strict-secret, strict-passphrase, strict-publisher or full-strict, got "${value.slice(0, 40)}"`)
        strictMode = value.slice('strict-'.length) as StrictMode
        break
      case 'x.bttls.secret':
        strictSecret = hex32(value, 'x.bttls.secret')
        break
      case 'x.bttls.pk':
        publisherKey = hex32(value, 'x.bttls.pk')
        break
      case 'x.bttls.ca':
        caHash = hex32(value, 'x.bttls.ca')
        break
      default:
        break
    }
  }
  if (infoHashV1 === undefined && infoHashV2 === undefined) invalid('no urn:btih or urn:btmh exact topic (xt)')
  if (strictMode === undefined && (strictSecret !== undefined || publisherKey !== undefined)) invalid('x.bttls.secret and x.bttls.pk need x.bttls')
  if (strictMode === 'publisher' && publisherKey === undefined) invalid('x.bttls=strict-publisher needs x.bttls.pk')
  if (strictSecret !== undefined && strictMode !== 'secret') invalid('x.bttls.secret goes with x.bttls=strict-secret only')
  if (publisherKey !== undefined && strictMode !== 'publisher') invalid('x.bttls.pk goes with x.bttls=strict-publisher only')
  if (fullStrict) checkFullStrictLink(strictMode, caHash, trackers)
  else if (caHash !== undefined) invalid('x.bttls.ca goes with x.bttls=full-strict only')
  const wireInfoHash = infoHashV1 ?? infoHashV2!.subarray(0, 20)
  return {
    ...(infoHashV1 !== undefined ? { infoHashV1 } : {}),
    ...(infoHashV2 !== undefined ? { infoHashV2 } : {}),
    wireInfoHash,
    ...(name !== undefined ? { name } : {}),
    trackers: [...trackers],
    peers: [...peers],
    ...(strictMode !== undefined ? { strict: strictMode === 'publisher' ? { mode: strictMode, publisherKey: publisherKey! } : { mode: strictMode } } : {}),
    ...(strictSecret !== undefined ? { strictSecret } : {}),
    ...(caHash !== undefined ? { caFingerprint: caHash } : {})
  }
}

/**
 * A Full Strict link names one level, the CA its swarm key needs, and a secure tracker (https), the
 * only place its client can get the CA certificate and its own peer certificate from.
 */
function checkFullStrictLink (strictMode: StrictMode | undefined, caHash: Buffer | undefined, trackers: ReadonlySet<string>): void {
  if (strictMode !== undefined) invalid('x.bttls names two levels (full-strict and a Strict mode)')
  if (caHash === undefined) invalid('x.bttls=full-strict needs x.bttls.ca')
  if (![...trackers].some(isSecureTrackerUrl)) invalid('x.bttls=full-strict needs an https:// tracker (tr), its secure tracker')
}

/** The tracker a Full Strict client gets its swarm CA and certificates from: the first https:// one. */
export function secureTrackerOf (m: { readonly trackers: readonly string[] }): string | undefined {
  return m.trackers.find(isSecureTrackerUrl)
}

function isSecureTrackerUrl (url: string): boolean {
  return /^https:\/\//i.test(url)
}

function hex32 (value: string, key: string): Buffer {
  if (!/^[0-9a-f]{64}$/i.test(value)) invalid(`${key} must be 64 hex characters`)
  return Buffer.from(value, 'hex')
}

/**
 * A magnet link for a torrent (xt for each infohash it has, dn, tr; x.pe for a MagnetLink's peers;
 * x.bttls for a Strict or Full Strict torrent). The Strict secret goes in only when `secret` is given:
 * such a link is a credential.
 */
export function magnetUri (m: Metainfo | MagnetLink, options: { secret?: Buffer } = {}): string {
  const parts: string[] = []
  if (m.infoHashV1 !== undefined) parts.push(`xt=urn:btih:${m.infoHashV1.toString('hex')}`)
  if (m.infoHashV2 !== undefined) parts.push(`xt=urn:btmh:${SHA256_MULTIHASH}${m.infoHashV2.toString('hex')}`)
  if (m.name !== undefined) parts.push(`dn=${encodeURIComponent(m.name)}`)
  for (const tr of m.trackers) parts.push(`tr=${encodeURIComponent(tr)}`)
  if ('peers' in m) for (const pe of m.peers) parts.push(`x.pe=${encodeURIComponent(pe)}`)
  if (m.strict !== undefined) {
    parts.push(`x.bttls=strict-${m.strict.mode}`)
    if (m.strict.publisherKey !== undefined) parts.push(`x.bttls.pk=${m.strict.publisherKey.toString('hex')}`)
    if (options.secret !== undefined && m.strict.mode === 'secret') parts.push(`x.bttls.secret=${options.secret.toString('hex')}`)
  }
  const ca = ('caFingerprint' in m ? m.caFingerprint : undefined) ?? ('sslCert' in m && m.sslCert !== undefined ? caFingerprint(m.sslCert) : undefined)
  if (ca !== undefined) parts.push('x.bttls=full-strict', `x.bttls.ca=${ca.toString('hex')}`)
  return `magnet:?${parts.join('&')}`
}

function percentDecode (raw: string, key: string): string {
  // '+' as space is a form-encoding habit many magnet generators follow for dn; in URLs it is literal.
  const text = key === 'dn' ? raw.replace(/\+/g, ' ') : raw
  try {
    return decodeURIComponent(text)
  } catch {
    return invalid(`bad percent-encoding in ${key}`)
  }
}

function decodeBtih (s: string): Buffer {
  if (/^[0-9a-f]{40}$/i.test(s)) return Buffer.from(s, 'hex')
  if (/^[a-z2-7]{32}$/i.test(s)) return base32Decode(s.toUpperCase())
  return invalid(`urn:btih: must be 40 hex or 32 base32 characters, got ${JSON.stringify(s.slice(0, 80))}`)
}

function decodeBtmh (s: string): Buffer {
  if (!/^[0-9a-f]{68}$/i.test(s)) invalid('urn:btmh: must be a 34-byte multihash in hex (1220 + 64 hex)')
  if (s.slice(0, 4) !== SHA256_MULTIHASH) invalid(`urn:btmh: multihash ${s.slice(0, 4)} is not SHA-256 (1220)`)
  return Buffer.from(s.slice(4), 'hex')
}

function base32Decode (s: string): Buffer {
  const out = Buffer.alloc(20)
  let bits = 0
  let value = 0
  let i = 0
  for (const ch of s) {
    value = (value << 5) | BASE32.indexOf(ch)
    bits += 5
    if (bits >= 8) {
      out[i++] = (value >>> (bits - 8)) & 0xff
      bits -= 8
    }
  }
  return out
}

function checkTracker (value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return invalid(`tr ${JSON.stringify(value.slice(0, 200))} is not a URL`)
  }
  if (!/^(https?|udp|wss?):$/.test(url.protocol)) invalid(`tr ${JSON.stringify(value.slice(0, 200))} is not an http(s), udp or ws(s) tracker`)
  return value
}

/** x.pe is host:port; an IPv6 host is in brackets. Returned as given (brackets kept). */
function checkPeer (value: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]/]+):(\d{1,5})$/.exec(value)
  if (m === null) return invalid(`x.pe ${JSON.stringify(value.slice(0, 200))} is not host:port`)
  if (m[1]!.startsWith('[') && !isIPv6(m[1]!.slice(1, -1))) invalid(`x.pe ${value} has a malformed IPv6 address`)
  const port = Number(m[2])
  if (port < 1 || port > 65535) invalid(`x.pe ${value} has port ${port} outside 1..65535`)
  return value
}
