/**
 * Entry points for metadata: a .torrent file (parseTorrent) and an info dict received from peers after
 * a magnet link (metainfoFromInfoDict). Both are untrusted and bounded.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { OversizedBencodeError } from '../errors.js'
import { BencodeDict, decodeBencode, type BencodeValue } from '../codec/bencode.js'
import { InvalidTorrentError, MetadataMismatchError, OversizedTorrentError } from './errors.js'
import { MalformedBencodeError } from '../codec/errors.js'
import { parseInfoDict } from './info-dict.js'
import type { ParsedTorrent } from './parsed-torrent.js'
import { decodeUtf8 } from './path-component.js'
import { parseStrictSecret, SECRET_KEY } from './bttls-fields.js'

/** Default size limit for a .torrent file (libtorrent's is 10 MB; v1 hashes of a 100 GB torrent in 64 KiB pieces fit). */
export const DEFAULT_MAX_TORRENT_BYTES = 16 * 1024 * 1024
/** Default depth limit: the file tree nests one level per directory. */
export const DEFAULT_MAX_DEPTH = 64

export interface ParseLimits {
  readonly maxBytes?: number
  readonly maxDepth?: number
}

/** Parse a .torrent file (BEP 3 v1, BEP 52 v2, or hybrid). Throws InvalidTorrentError or OversizedTorrentError. */
export function parseTorrent (bytes: Uint8Array, limits: ParseLimits = {}): ParsedTorrent {
  // Own copy: the hashes and info bytes we keep are views into it, and must not change under us.
  const own = Buffer.from(bytes)
  const root = decode(own, limits, 'torrent file')
  if (!(root instanceof BencodeDict)) throw new InvalidTorrentError('a torrent file is a bencoded dict')
  const info = root.get('info')
  if (!(info instanceof BencodeDict)) throw new InvalidTorrentError('torrent file has no info dict')
  // The infohash is over the info dict's bytes exactly as they appear in the file.
  const [start, end] = root.spans.get('info')!
  const parsed = parseInfoDict({
    info,
    infoBytes: own.subarray(start, end),
    pieceLayers: root.get('piece layers'),
    trackers: parseTrackers(root)
  })
  const strictSecret = parseStrictSecret(root.get(SECRET_KEY))
  if (strictSecret !== undefined && parsed.strict?.mode !== 'secret') throw new InvalidTorrentError('bttls secret in a torrent that is not in Strict secret mode')
  // A comment is for people: one that is not UTF-8 is left out rather than failing the torrent.
  const rawComment = root.get('comment')
  const comment = Buffer.isBuffer(rawComment) ? decodeUtf8(rawComment) : undefined
  return { ...parsed, ...(strictSecret !== undefined ? { strictSecret } : {}), ...(comment !== undefined ? { comment } : {}) }
}

/**
 * Build the metainfo of a torrent joined by magnet link, from the info dict its peers sent (BEP 9).
 * Verifies the bytes against every infohash given (MetadataMismatchError). A v2 torrent built this way has
 * no piece layers: see PieceLayersUnavailableError in storage.
 */
export function metainfoFromInfoDict (infoBytes: Uint8Array, expected: { infoHashV1?: Uint8Array, infoHashV2?: Uint8Array },
  trackers: readonly string[] = [], limits: ParseLimits = {}): ParsedTorrent {
  if (expected.infoHashV1 === undefined && expected.infoHashV2 === undefined) {
    throw new RangeError('metainfoFromInfoDict needs the infohash the metadata must match')
  }
  const own = Buffer.from(infoBytes)
  // Hash before parsing: bytes that are not what we asked for are rejected without being looked at.
  checkHash(own, 'sha1', expected.infoHashV1)
  checkHash(own, 'sha256', expected.infoHashV2)
  const info = decode(own, limits, 'info dict')
  if (!(info instanceof BencodeDict)) throw new InvalidTorrentError('metadata is not a bencoded dict')
  const parsed = parseInfoDict({ info, infoBytes: own, pieceLayers: null, trackers: [...new Set(trackers)] })
  // The magnet named a v2 hash: the info dict must be v2 too (a v1 dict cannot be found by its SHA-256
  // by accident, but be explicit), and likewise for v1.
  if (expected.infoHashV2 !== undefined && parsed.infoHashV2 === undefined) {
    throw new MetadataMismatchError('magnet names a v2 infohash but the metadata is a v1-only info dict')
  }
  if (expected.infoHashV1 !== undefined && parsed.infoHashV1 === undefined) {
    throw new MetadataMismatchError('magnet names a v1 infohash but the metadata is a v2-only info dict')
  }
  return parsed
}

function checkHash (bytes: Buffer, algorithm: 'sha1' | 'sha256', expected: Uint8Array | undefined): void {
  if (expected === undefined) return
  const actual = createHash(algorithm).update(bytes).digest()
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new MetadataMismatchError(`metadata ${algorithm} is ${actual.toString('hex')}, expected ${Buffer.from(expected).toString('hex')}`)
  }
}

function decode (bytes: Buffer, limits: ParseLimits, what: string): BencodeValue {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_TORRENT_BYTES
  try {
    return decodeBencode(bytes, { maxBytes, maxDepth: limits.maxDepth ?? DEFAULT_MAX_DEPTH })
  } catch (err) {
    if (err instanceof OversizedBencodeError) {
      throw new OversizedTorrentError(`${what} of ${bytes.length} bytes exceeds the limit of ${maxBytes}`, { cause: err })
    }
    if (err instanceof MalformedBencodeError) {
      throw new InvalidTorrentError(`${what} is not valid bencode: ${err.message}`, { cause: err })
    }
    throw err
  }
}

/** announce + announce-list (BEP 12), flattened in tier order, deduplicated. */
function parseTrackers (root: BencodeDict): string[] {
  const out = new Set<string>()
  const text = (v: BencodeValue | undefined, where: string): string => {
    const s = Buffer.isBuffer(v) ? decodeUtf8(v) : undefined
    if (s === undefined) throw new InvalidTorrentError(`${where} is not a UTF-8 string`)
    return s
  }
  const list = root.get('announce-list')
  if (list !== undefined) {
    if (!Array.isArray(list)) throw new InvalidTorrentError('announce-list is not a list')
    list.forEach((tier, i) => {
      if (!Array.isArray(tier)) throw new InvalidTorrentError(`announce-list[${i}] is not a list`)
      tier.forEach((url, j) => { const u = text(url, `announce-list[${i}][${j}]`); if (u !== '') out.add(u) })
    })
  }
  if (root.has('announce')) {
    const u = text(root.get('announce'), 'announce')
    if (u !== '') out.add(u)
  }
  return [...out]
}
