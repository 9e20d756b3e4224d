/**
 * Turns a decoded info dict (plus, for v2, the top-level `piece layers`) into a ParsedTorrent,
 * enforcing BEP 3, BEP 47 and BEP 52. Every rule broken is an InvalidTorrentError that names the rule:
 * a torrent is untrusted input, and its file names become paths on our disk.
 */
import { createHash, X509Certificate } from 'node:crypto'
import { BencodeDict, type BencodeValue } from '../codec/bencode.js'
import { InvalidTorrentError } from './errors.js'
import { BLOCK_SIZE, HASH_SIZE, rootFromPieceLayer } from './merkle.js'
import type { TorrentFile, TorrentVersion } from './metainfo.js'
import type { ParsedTorrent } from './parsed-torrent.js'
import { decodeUtf8, unsafeComponentReason } from './path-component.js'
import { INFO_KEY, parseStrictInfo } from './bttls-fields.js'
import type { StrictInfo } from '../torrent/strict-info.js'

function strictField (strict: StrictInfo | undefined): { strict?: StrictInfo } {
  return strict === undefined ? {} : { strict }
}

/** info["ssl-cert"]: a PEM CA certificate (Full Strict / libtorrent SSL torrent). */
function sslCertField (value: BencodeValue | undefined): { sslCert?: string } {
  if (value === undefined) return {}
  if (!Buffer.isBuffer(value)) return invalid('info.ssl-cert is not a string')
  const pem = value.toString('latin1')
  try {
    if (!new X509Certificate(pem).ca) invalid('info.ssl-cert is not a CA certificate')
  } catch (err) {
    if (err instanceof InvalidTorrentError) throw err
    invalid('info.ssl-cert is not a PEM X.509 certificate')
  }
  return { sslCert: pem }
}

/** Largest piece we accept: a piece is held in memory whole while it is verified. */
export const MAX_PIECE_LENGTH = 256 * 1024 * 1024
const MIN_V2_PIECE_LENGTH = BLOCK_SIZE

export interface InfoDictInput {
  readonly info: BencodeDict
  /** The exact bytes of the info dict (hashed for the infohashes, served over BEP 9). */
  readonly infoBytes: Buffer
  /** The top-level `piece layers` value of a .torrent file; null when it is unknowable (magnet). */
  readonly pieceLayers: BencodeValue | undefined | null
  readonly trackers: readonly string[]
}

interface V1File { path: string[], length: number, pad: boolean }
interface V2File { path: string[], length: number, piecesRoot?: Buffer }

const invalid = (message: string): never => {
  throw new InvalidTorrentError(message)
}

export function parseInfoDict (input: InfoDictInput): ParsedTorrent {
  const { info, infoBytes } = input
  const name = component(requireBytes(info, 'name', 'info'), 'info.name')
  const pieceLength = requireInt(info, 'piece length', 'info')
  if (pieceLength <= 0 || pieceLength > MAX_PIECE_LENGTH) {
    invalid(`info.piece length ${pieceLength} is outside 1..${MAX_PIECE_LENGTH}`)
  }

  const metaVersion = info.get('meta version')
  if (metaVersion !== undefined && metaVersion !== 2) {
    invalid(`info.meta version is ${String(metaVersion)}, only 2 is known`)
  }
  const hasV2 = metaVersion === 2
  const hasV1 = info.has('pieces')
  if (!hasV2 && info.has('file tree')) invalid('info.file tree without meta version 2')
  if (!hasV1 && !hasV2) invalid('info has neither pieces (v1) nor meta version 2 (v2)')
  const version: TorrentVersion = hasV1 && hasV2 ? 'hybrid' : hasV1 ? 'v1' : 'v2'
  if (hasV2 && (pieceLength < MIN_V2_PIECE_LENGTH || (pieceLength & (pieceLength - 1)) !== 0)) {
    invalid(`info.piece length ${pieceLength} must be a power of two >= 16 KiB in a v2 torrent`)
  }

  const v1 = hasV1 ? parseV1Files(info, name) : undefined
  const v2 = hasV2 ? parseFileTree(info, name) : undefined

  let files: TorrentFile[]
  let totalLength: number
  let pieceCount: number
  let singleFile: boolean
  if (v2 !== undefined) {
    // v2 piece space: each file starts on a piece boundary (implicit padding between files).
    files = []
    let offset = 0
    pieceCount = 0
    totalLength = 0
    for (const f of v2.files) {
      files.push({ path: f.path, length: f.length, offset, pad: false, ...(f.piecesRoot !== undefined ? { piecesRoot: f.piecesRoot } : {}) })
      const pieces = Math.ceil(f.length / pieceLength)
      if (f.length > 0) totalLength = offset + f.length
      offset += pieces * pieceLength
      pieceCount += pieces
      if (!Number.isSafeInteger(offset)) invalid('total length of the torrent is too large')
    }
    singleFile = v2.singleFile
    if (v1 !== undefined) {
      files = reconcileHybrid(v1.files, files, pieceLength)
      totalLength = v1.totalLength
      if (v1.singleFile !== singleFile) invalid('hybrid torrent: v1 and v2 disagree on single-file vs directory')
    }
  } else {
    files = []
    let offset = 0
    for (const f of v1!.files) {
      files.push({ path: f.path, length: f.length, offset, pad: f.pad })
      offset += f.length
    }
    totalLength = v1!.totalLength
    pieceCount = Math.ceil(totalLength / pieceLength)
    singleFile = v1!.singleFile
  }
  if (totalLength === 0) invalid('torrent holds no data (total length 0)')
  checkDistinctPaths(files)

  let pieceHashesV1: Buffer | undefined
  if (hasV1) {
    pieceHashesV1 = requireBytes(info, 'pieces', 'info')
    if (pieceHashesV1.length % 20 !== 0) invalid(`info.pieces has ${pieceHashesV1.length} bytes, not a multiple of 20`)
    const v1Count = Math.ceil(totalLength / pieceLength)
    if (pieceHashesV1.length / 20 !== v1Count) {
      invalid(`info.pieces holds ${pieceHashesV1.length / 20} hashes, the files need ${v1Count}`)
    }
    if (hasV2 && v1Count !== pieceCount) invalid(`hybrid torrent: v1 has ${v1Count} pieces, v2 has ${pieceCount}`)
    pieceCount = v1Count
  }

  let pieceLayers: Map<string, Buffer> | undefined
  if (hasV2 && input.pieceLayers !== null) pieceLayers = parsePieceLayers(input.pieceLayers, files, pieceLength)

  const contentLength = files.reduce((sum, f) => sum + (f.pad ? 0 : f.length), 0)
  const infoHashV1 = hasV1 ? createHash('sha1').update(infoBytes).digest() : undefined
  const infoHashV2 = hasV2 ? createHash('sha256').update(infoBytes).digest() : undefined
  const wireInfoHash = infoHashV1 ?? infoHashV2!.subarray(0, 20)
  const pieceSize = makePieceSize(version, files, pieceLength, pieceCount, totalLength)
  // One level per torrent, whether the info dict comes in a .torrent file or as BEP 9 metadata.
  if (info.get(INFO_KEY) !== undefined && info.get('ssl-cert') !== undefined) {
    throw new InvalidTorrentError('a torrent is Strict (info.bttls) or Full Strict (info.ssl-cert), not both')
  }

  return {
    version,
    ...(infoHashV1 !== undefined ? { infoHashV1 } : {}),
    ...(infoHashV2 !== undefined ? { infoHashV2 } : {}),
    wireInfoHash,
    name,
    pieceLength,
    totalLength,
    pieceCount,
    files,
    infoBytes,
    trackers: input.trackers,
    private: info.get('private') === 1,
    ...strictField(parseStrictInfo(info.get(INFO_KEY))),
    ...sslCertField(info.get('ssl-cert')),
    pieceSize,
    singleFile,
    contentLength,
    ...(pieceHashesV1 !== undefined ? { pieceHashesV1 } : {}),
    ...(pieceLayers !== undefined ? { pieceLayers } : {})
  }
}

function makePieceSize (version: TorrentVersion, files: readonly TorrentFile[], pieceLength: number,
  pieceCount: number, totalLength: number): (index: number) => number {
  const check = (index: number): void => {
    if (!Number.isInteger(index) || index < 0 || index >= pieceCount) {
      throw new RangeError(`piece ${index} is outside 0..${pieceCount - 1}`)
    }
  }
  if (version !== 'v2') {
    // v1 and hybrid: one contiguous piece space (hybrid pad files included), only the last piece short.
    return index => {
      check(index)
      return index < pieceCount - 1 ? pieceLength : totalLength - (pieceCount - 1) * pieceLength
    }
  }
  // v2: the last piece of every file is short. Starting piece of each file that has bytes, for search.
  const starts: Array<{ piece: number, end: number }> = files
    .filter(f => f.length > 0)
    .map(f => ({ piece: f.offset / pieceLength, end: f.offset + f.length }))
  return index => {
    check(index)
    let lo = 0
    let hi = starts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (starts[mid]!.piece <= index) lo = mid
      else hi = mid - 1
    }
    return Math.min(pieceLength, starts[lo]!.end - index * pieceLength)
  }
}

function parseV1Files (info: BencodeDict, name: string): { files: V1File[], totalLength: number, singleFile: boolean } {
  const hasLength = info.has('length')
  const hasFiles = info.has('files')
  if (hasLength === hasFiles) invalid('info must have exactly one of length (single file) and files (directory)')
  if (hasLength) {
    const length = requireInt(info, 'length', 'info')
    if (length < 0) invalid(`info.length is negative (${length})`)
    return { files: [{ path: [name], length, pad: false }], totalLength: length, singleFile: true }
  }
  const list = info.get('files')
  if (!Array.isArray(list)) return invalid('info.files is not a list')
  if (list.length === 0) invalid('info.files is empty')
  const files: V1File[] = []
  let total = 0
  list.forEach((entry, i) => {
    const where = `info.files[${i}]`
    if (!(entry instanceof BencodeDict)) return invalid(`${where} is not a dict`)
    const length = requireInt(entry, 'length', where)
    if (length < 0) invalid(`${where}.length is negative (${length})`)
    const path = entry.get('path')
    if (!Array.isArray(path)) return invalid(`${where}.path is not a list`)
    if (path.length === 0) invalid(`${where}.path is empty`)
    const components = path.map((c, j) => {
      if (!Buffer.isBuffer(c)) return invalid(`${where}.path[${j}] is not a string`)
      return component(c, `${where}.path[${j}]`)
    })
    const attr = entry.get('attr')
    if (attr !== undefined && !Buffer.isBuffer(attr)) invalid(`${where}.attr is not a string`)
    const attrs = attr === undefined ? '' : (attr as Buffer).toString('latin1')
    // BEP 47 symlinks point anywhere on the file system: we refuse them rather than follow them.
    if (attrs.includes('l')) invalid(`${where} is a symlink (attr "l"), which bttls does not support`)
    files.push({ path: components, length, pad: attrs.includes('p') })
    total += length
    if (!Number.isSafeInteger(total)) invalid('total length of the torrent is too large')
  })
  return { files, totalLength: total, singleFile: false }
}

function parseFileTree (info: BencodeDict, name: string): { files: V2File[], singleFile: boolean } {
  const tree = info.get('file tree')
  if (!(tree instanceof BencodeDict)) return invalid('info.file tree is missing or not a dict')
  if (tree.size === 0) invalid('info.file tree is empty')
  const files: V2File[] = []
  const walk = (node: BencodeDict, path: string[]): void => {
    // BEP 52 piece space follows the tree with keys in byte order; latin1 keys compare as bytes.
    for (const key of [...node.keys()].sort((a, b) => a < b ? -1 : a > b ? 1 : 0)) {
      const where = `info.file tree/${[...path, key].join('/')}`
      const child = node.get(key)
      if (!(child instanceof BencodeDict)) return invalid(`${where} is not a dict`)
      if (key === '') {
        invalid(`${where}: a file entry ("") must be the only key of its node`)
      }
      const comp = component(Buffer.from(key, 'latin1'), where)
      const leaf = child.get('')
      if (leaf !== undefined) {
        if (child.size !== 1) invalid(`${where} is both a file and a directory`)
        if (!(leaf instanceof BencodeDict)) return invalid(`${where}."" is not a dict`)
        const length = requireInt(leaf, 'length', where)
        if (length < 0) invalid(`${where}.length is negative (${length})`)
        const root = leaf.get('pieces root')
        if (length > 0) {
          if (!Buffer.isBuffer(root) || root.length !== HASH_SIZE) invalid(`${where}.pieces root must be 32 bytes`)
          files.push({ path: [...path, comp], length, piecesRoot: root as Buffer })
        } else {
          if (root !== undefined) invalid(`${where}: an empty file has no pieces root`)
          files.push({ path: [...path, comp], length })
        }
      } else {
        if (child.size === 0) invalid(`${where} is an empty directory`)
        walk(child, [...path, comp])
      }
    }
  }
  walk(tree, [])
  // One file at the top whose name is the torrent's name: stored as dir/name, like a v1 single file.
  const only = files[0]
  const singleFile = files.length === 1 && only!.path.length === 1 && only!.path[0] === name
  return { files, singleFile }
}

/**
 * A hybrid torrent describes the same files twice. Both descriptions must agree, or a v1 peer and a v2
 * peer would download different data under one torrent: same real files in the same order with the
 * same lengths, and each v1 file starting exactly where v2 piece alignment puts it (BEP 47 pad files).
 */
function reconcileHybrid (v1: readonly V1File[], v2: readonly TorrentFile[], pieceLength: number): TorrentFile[] {
  const out: TorrentFile[] = []
  let offset = 0
  let j = 0
  for (const f of v1) {
    if (f.pad) {
      if (f.length >= pieceLength) invalid(`hybrid torrent: pad file of ${f.length} bytes is not shorter than a piece`)
      out.push({ path: f.path, length: f.length, offset, pad: true })
    } else {
      const g = v2[j++]
      if (g === undefined) return invalid(`hybrid torrent: v1 file ${f.path.join('/')} is not in the file tree`)
      if (g.path.join('/') !== f.path.join('/') || g.length !== f.length) {
        invalid(`hybrid torrent: v1 file ${f.path.join('/')} (${f.length} bytes) differs from v2 file ${g.path.join('/')} (${g.length} bytes)`)
      }
      if (f.length > 0 && offset !== g.offset) {
        invalid(`hybrid torrent: ${f.path.join('/')} starts at ${offset} in v1 but at ${g.offset} in v2 (missing pad file)`)
      }
      out.push({ ...g, offset })
    }
    offset += f.length
  }
  if (j !== v2.length) invalid(`hybrid torrent: file tree has ${v2.length} files, v1 files list ${j}`)
  return out
}

function parsePieceLayers (value: BencodeValue | undefined, files: readonly TorrentFile[], pieceLength: number): Map<string, Buffer> {
  const needed = files.filter(f => !f.pad && f.length > pieceLength)
  const layers = new Map<string, Buffer>()
  if (value === undefined) {
    if (needed.length > 0) invalid(`piece layers missing (needed for ${needed.length} files larger than a piece)`)
    return layers
  }
  if (!(value instanceof BencodeDict)) return invalid('piece layers is not a dict')
  for (const f of needed) {
    const root = Buffer.from(f.piecesRoot!)
    const rootKey = root.toString('latin1')
    const hex = root.toString('hex')
    if (layers.has(hex)) continue // identical files share one layer
    const layer = value.get(rootKey)
    const where = `piece layers entry for ${f.path.join('/')}`
    if (layer === undefined) invalid(`${where} is missing`)
    if (!Buffer.isBuffer(layer)) return invalid(`${where} is not a string`)
    const expected = Math.ceil(f.length / pieceLength) * HASH_SIZE
    if (layer.length !== expected) invalid(`${where} has ${layer.length} bytes, expected ${expected}`)
    const hashes: Buffer[] = []
    for (let off = 0; off < layer.length; off += HASH_SIZE) hashes.push(layer.subarray(off, off + HASH_SIZE))
    if (!rootFromPieceLayer(hashes, pieceLength).equals(root)) invalid(`${where} does not hash to the file's pieces root`)
    layers.set(hex, layer)
  }
  return layers
}

function checkDistinctPaths (files: readonly TorrentFile[]): void {
  // Two entries for one path, or a file that is also a directory, would make two pieces of the torrent
  // fight over the same bytes on disk.
  const seen = new Set<string>()
  const dirs = new Set<string>()
  for (const f of files) {
    if (f.pad) continue
    const key = f.path.join('/')
    if (seen.has(key) || dirs.has(key)) invalid(`two entries for the path ${key}`)
    seen.add(key)
    for (let i = 1; i < f.path.length; i++) {
      const dir = f.path.slice(0, i).join('/')
      if (seen.has(dir)) invalid(`${dir} is both a file and a directory`)
      dirs.add(dir)
    }
  }
}

function component (bytes: Buffer, where: string): string {
  const text = decodeUtf8(bytes)
  if (text === undefined) return invalid(`${where} is not valid UTF-8`)
  const reason = unsafeComponentReason(text)
  if (reason !== undefined) invalid(`${where} ${reason} (not a safe path component)`)
  return text
}

export function requireBytes (d: BencodeDict, key: string, where: string): Buffer {
  const v = d.get(key)
  if (v === undefined) return invalid(`${where}.${key} is missing`)
  if (!Buffer.isBuffer(v)) return invalid(`${where}.${key} is not a string`)
  return v
}

export function requireInt (d: BencodeDict, key: string, where: string): number {
  const v = d.get(key)
  if (v === undefined) return invalid(`${where}.${key} is missing`)
  if (typeof v === 'bigint') return invalid(`${where}.${key} is out of range`)
  if (typeof v !== 'number') return invalid(`${where}.${key} is not an integer`)
  return v
}
