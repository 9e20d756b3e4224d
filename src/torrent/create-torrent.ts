/**
 * Make a .torrent (v1, v2 or hybrid) from a file or a directory, streaming every file once through
 * both hashers. The info dict is what libtorrent 2.0.8 makes from the same files (checked by
 * test/torrent/create.test.ts against test/fixtures/torrent), so both produce the same infohashes:
 * - files in BEP 52 order (a depth-first walk with names sorted bytewise), for v1 too;
 * - hybrid: a BEP 47 pad file (attr "p", path [".pad", "<length>"]) after every file whose length is not
 *   a multiple of the piece length, the last file included, so every file starts on a piece boundary.
 */
import { createHash, type Hash } from 'node:crypto'
import type { Stats } from 'node:fs'
import { open, readdir, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { encodeBencode, type Encodable } from '../codec/bencode.js'
import { TorrentCreationError } from './errors.js'
import { BLOCK_SIZE, FileMerkleHasher } from './merkle.js'
import type { TorrentVersion } from './metainfo.js'
import { parseTorrent } from './parse-torrent.js'
import type { ParsedTorrent } from './parsed-torrent.js'
import { unsafeComponentReason } from './path-component.js'
import { encodeStrictInfo, INFO_KEY, SECRET_KEY } from './bttls-fields.js'
import type { StrictInfo } from '../torrent/strict-info.js'
import { assertTrackerNameDistinct } from '../pki/certificate-profile.js'
import { VERSION } from '../version.js'

export interface CreateTorrentOptions {
  readonly version: TorrentVersion
  /** Power of two >= 16 KiB. Default: by total size, aiming at 1000-2000 pieces, at most 16 MiB. */
  readonly pieceLength?: number
  /** Tracker URLs, each its own tier (announce = the first). */
  readonly trackers?: readonly string[]
  /** Torrent name. Default: the base name of `path`. */
  readonly name?: string
  readonly private?: boolean
  /** Free text for people (top-level `comment`, outside the info dictionary: not part of the infohash). */
  readonly comment?: string
  /** `creation date` in seconds since the epoch. Default: now. */
  readonly creationDate?: number
  /** Make a Strict torrent: its parameters go into info["bttls"], a secret into the top-level "bttls secret". */
  readonly strict?: { readonly info: StrictInfo, readonly secret?: Buffer }
  /** Make a Full Strict torrent: the swarm CA certificate (PEM) goes into info["ssl-cert"]. */
  readonly sslCert?: string
}

export const CREATED_BY = `bttls/${VERSION}`
const MIN_PIECE_LENGTH = BLOCK_SIZE
const MAX_DEFAULT_PIECE_LENGTH = 16 * 1024 * 1024
const TARGET_MAX_PIECES = 2000
const READ_CHUNK = 1024 * 1024

interface SourceFile { readonly path: string[], readonly abs: string, readonly length: number }

export async function createTorrent (path: string, options: CreateTorrentOptions): Promise<{ bytes: Buffer, metainfo: ParsedTorrent }> {
  const { version } = options
  const name = options.name ?? basename(path)
  checkComponent(name, 'name')
  const top = await statOrFail(path)
  const singleFile = top.isFile()
  if (!singleFile && !top.isDirectory()) throw new TorrentCreationError(`${path} is neither a file nor a directory`)
  const files: SourceFile[] = singleFile
    ? [{ path: [], abs: path, length: top.size }]
    : await walk(path)
  const total = files.reduce((sum, f) => sum + f.length, 0)
  if (total === 0) throw new TorrentCreationError(`${path} holds no data to share`)

  const pieceLength = options.pieceLength ?? defaultPieceLength(total)
  if (!Number.isInteger(pieceLength) || pieceLength < MIN_PIECE_LENGTH || (pieceLength & (pieceLength - 1)) !== 0) {
    throw new RangeError(`piece length ${pieceLength} is not a power of two >= 16 KiB`)
  }
  const withV1 = version !== 'v2'
  const withV2 = version !== 'v1'
  const padded = version === 'hybrid' && !singleFile

  // One pass over the data feeds the v1 piece hasher (across files, pads included) and each file's merkle hasher.
  const v1 = withV1 ? new V1PieceHasher(pieceLength) : undefined
  const roots: Array<Buffer | undefined> = []
  const layers = new Map<string, Buffer>()
  const buf = Buffer.allocUnsafe(READ_CHUNK)
  for (const f of files) {
    const merkle = withV2 ? new FileMerkleHasher(pieceLength) : undefined
    await readWhole(f, buf, chunk => { v1?.update(chunk); merkle?.update(chunk) })
    if (padded && f.length % pieceLength !== 0) v1!.zeros(pieceLength - (f.length % pieceLength))
    if (merkle !== undefined) {
      const { root, pieceLayer } = merkle.digest()
      roots.push(root)
      if (root !== undefined && pieceLayer.length > 0) layers.set(root.toString('hex'), Buffer.concat(pieceLayer))
    }
  }

  const info: Record<string, Encodable | undefined> = { name, 'piece length': pieceLength }
  if (options.private === true) info.private = 1
  if (withV1) {
    info.pieces = v1!.digest()
    if (singleFile) {
      info.length = files[0]!.length
    } else {
      const list: Encodable[] = []
      for (const f of files) {
        list.push({ length: f.length, path: f.path })
        const pad = f.length % pieceLength
        if (padded && pad !== 0) list.push({ attr: 'p', length: pieceLength - pad, path: ['.pad', String(pieceLength - pad)] })
      }
      info.files = list
    }
  }
  if (withV2) {
    info['meta version'] = 2
    info['file tree'] = fileTree(files, roots, singleFile ? name : undefined)
  }
  if (options.strict !== undefined) info[INFO_KEY] = encodeStrictInfo(options.strict.info)
  if (options.sslCert !== undefined) {
    for (const url of options.trackers ?? []) assertTrackerNameDistinct(url, name)
    info['ssl-cert'] = options.sslCert
  }

  const torrent: Record<string, Encodable | undefined> = {
    info,
    'created by': CREATED_BY,
    'creation date': options.creationDate ?? Math.floor(Date.now() / 1000)
  }
  const trackers = options.trackers ?? []
  if (options.comment !== undefined) torrent.comment = options.comment
  if (trackers.length > 0) torrent.announce = trackers[0]
  if (trackers.length > 1) torrent['announce-list'] = trackers.map(t => [t])
  if (options.strict?.secret !== undefined) torrent[SECRET_KEY] = options.strict.secret
  if (withV2) torrent['piece layers'] = new Map([...layers].map(([hex, layer]) => [Buffer.from(hex, 'hex'), layer]))
  const bytes = encodeBencode(torrent)
  return { bytes, metainfo: parseTorrent(bytes, { maxBytes: Math.max(bytes.length, 16 * 1024 * 1024) }) }
}

/** Smallest power of two >= 16 KiB that keeps the torrent at or under ~2000 pieces, capped at 16 MiB. */
export function defaultPieceLength (totalLength: number): number {
  let p = MIN_PIECE_LENGTH
  while (p < MAX_DEFAULT_PIECE_LENGTH && totalLength / p > TARGET_MAX_PIECES) p *= 2
  return p
}

class V1PieceHasher {
  private hash: Hash = createHash('sha1')
  private filled = 0
  private readonly hashes: Buffer[] = []

  constructor (private readonly pieceLength: number) {}

  update (data: Uint8Array): void {
    let off = 0
    while (off < data.length) {
      const take = Math.min(this.pieceLength - this.filled, data.length - off)
      this.hash.update(data.subarray(off, off + take))
      this.filled += take
      off += take
      if (this.filled === this.pieceLength) this.finishPiece()
    }
  }

  zeros (n: number): void {
    this.update(Buffer.alloc(n))
  }

  digest (): Buffer {
    if (this.filled > 0) this.finishPiece()
    return Buffer.concat(this.hashes)
  }

  private finishPiece (): void {
    this.hashes.push(this.hash.digest())
    this.hash = createHash('sha1')
    this.filled = 0
  }
}

function fileTree (files: readonly SourceFile[], roots: ReadonlyArray<Buffer | undefined>, singleName: string | undefined): Encodable {
  const tree = new Map<string, Map<string, unknown>>()
  files.forEach((f, i) => {
    const leaf: Record<string, Encodable | undefined> = { length: f.length, 'pieces root': roots[i] }
    const path = singleName !== undefined ? [singleName] : f.path
    let node: Map<string, unknown> = tree
    for (const c of path) {
      let next = node.get(c) as Map<string, unknown> | undefined
      if (next === undefined) node.set(c, next = new Map())
      node = next
    }
    node.set('', leaf)
  })
  return tree as unknown as Encodable
}

async function walk (dir: string): Promise<SourceFile[]> {
  const out: SourceFile[] = []
  const visit = async (abs: string, rel: string[]): Promise<void> => {
    const entries = await readdir(abs, { withFileTypes: true })
    for (const e of entries) {
      const childAbs = join(abs, e.name)
      // Symlinks and special files are not shared: a link could pull in anything on this machine.
      if (e.isDirectory()) await visit(childAbs, [...rel, e.name])
      else if (e.isFile()) {
        checkComponent(e.name, childAbs)
        out.push({ path: [...rel, e.name], abs: childAbs, length: (await statOrFail(childAbs)).size })
      }
    }
  }
  await visit(dir, [])
  return out.sort((a, b) => comparePaths(a.path, b.path))
}

/** BEP 52 order: component by component, bytes of the UTF-8 names. */
function comparePaths (a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = Buffer.compare(Buffer.from(a[i]!, 'utf8'), Buffer.from(b[i]!, 'utf8'))
    if (c !== 0) return c
  }
  return a.length - b.length
}

async function readWhole (f: SourceFile, buf: Buffer, sink: (chunk: Buffer) => void): Promise<void> {
  const fh = await open(f.abs, 'r').catch(err => { throw new TorrentCreationError(`cannot open ${f.abs}`, { cause: err }) })
  try {
    let pos = 0
    while (pos < f.length) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, f.length - pos), pos)
      if (bytesRead === 0) throw new TorrentCreationError(`${f.abs} shrank while it was being hashed`)
      sink(buf.subarray(0, bytesRead))
      pos += bytesRead
    }
  } finally {
    await fh.close()
  }
}

async function statOrFail (path: string): Promise<Stats> {
  try {
    return await stat(path)
  } catch (err) {
    throw new TorrentCreationError(`cannot read ${path}`, { cause: err })
  }
}

function checkComponent (name: string, where: string): void {
  const reason = unsafeComponentReason(name)
  if (reason !== undefined) throw new TorrentCreationError(`${where}: name ${reason}`)
}
