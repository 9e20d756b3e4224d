/**
 * PieceStore on the local file system: dir/name for a single-file torrent, dir/name/<path...> for a
 * directory. Files and directories appear lazily (first verified piece that touches them) and sparse.
 *
 * Safety: bytes from the swarm reach disk only in writePiece, after the whole piece verified; every
 * path is checked to stay inside `dir` (the parser already refuses "..", "/" and friends; here we also
 * refuse symlinks planted in the download tree: directories are created level by level with lstat,
 * files opened with O_NOFOLLOW).
 */
import { lstat, mkdir, stat } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import type { PieceStore } from './piece-store.js'
import type { Metainfo } from '../torrent/metainfo.js'
import { isParsedTorrent, type ParsedTorrent } from '../torrent/parsed-torrent.js'
import { metainfoFromInfoDict } from '../torrent/parse-torrent.js'
import { FileHandlePool } from './file-handle-pool.js'
import { PieceMap, type Segment } from './piece-map.js'
import { lend } from './lent-views.js'
import { PieceReadCache } from './piece-read-cache.js'
import { makePieceVerifier, type PieceVerifier } from './piece-verifier.js'
import { PieceHashMismatchError, PieceNotAvailableError, PieceOutOfRangeError, StorageError, UnsafePathError } from './errors.js'

export interface FileStoreOptions {
  /** Most file handles kept open at once (default 128). */
  readonly maxOpenFiles?: number
  /** Bytes of whole pieces kept in memory to serve requests (default 64 MiB; 0 turns it off). */
  readonly readCacheBytes?: number
}

export const DEFAULT_READ_CACHE_BYTES = 64 * 1024 * 1024

/**
 * Open storage for `metainfo` under `dir`. Nothing is created or read yet: call verifyExisting() to
 * resume. A Metainfo that did not come from this module's parsers is re-derived from its infoBytes
 * (which for v2 loses the piece layers). Throws PieceLayersUnavailableError for a v2-only torrent whose
 * pieces cannot be verified (no piece layers, files larger than a piece).
 */
export async function openFileStore (metainfo: Metainfo, dir: string, options: FileStoreOptions = {}): Promise<FileStore> {
  const t = isParsedTorrent(metainfo)
    ? metainfo
    : metainfoFromInfoDict(metainfo.infoBytes, {
      ...(metainfo.infoHashV1 !== undefined ? { infoHashV1: metainfo.infoHashV1 } : {}),
      ...(metainfo.infoHashV2 !== undefined ? { infoHashV2: metainfo.infoHashV2 } : {})
    }, metainfo.trackers)
  return new FileStore(t, resolve(dir), options)
}

export class FileStore implements PieceStore {
  private readonly verify: PieceVerifier
  private readonly map: PieceMap
  private readonly paths: string[]
  private readonly pool: FileHandlePool
  private readonly haveSet = new Set<number>()
  private readonly checkedDirs = new Map<string, Promise<void>>()
  private readonly readCache: PieceReadCache
  private closed = false

  constructor (readonly torrent: ParsedTorrent, readonly dir: string, options: FileStoreOptions = {}) {
    this.verify = makePieceVerifier(torrent)
    this.map = new PieceMap(torrent.files, torrent.pieceLength)
    this.pool = new FileHandlePool(options.maxOpenFiles)
    this.readCache = new PieceReadCache(options.readCacheBytes ?? DEFAULT_READ_CACHE_BYTES)
    const base = torrent.singleFile ? dir : join(dir, torrent.name)
    this.paths = torrent.files.map(f => {
      const p = torrent.singleFile ? join(dir, torrent.name) : join(base, ...f.path)
      if (!p.startsWith(dir + sep)) throw new UnsafePathError(`${f.path.join('/')} resolves outside ${dir}`)
      return p
    })
  }

  get have (): ReadonlySet<number> {
    return this.haveSet
  }

  get complete (): boolean {
    return this.haveSet.size === this.torrent.pieceCount
  }

  async verifyExisting (): Promise<number> {
    this.checkOpen()
    this.haveSet.clear()
    this.readCache.clear()
    // Sizes first: a piece whose files are missing or too short is absent without reading anything.
    const sizes = await Promise.all(this.paths.map(async (p, i) => {
      if (this.torrent.files[i]!.pad) return Infinity
      try {
        const s = await stat(p)
        return s.isFile() ? s.size : -1
      } catch {
        return -1
      }
    }))
    const buf = Buffer.allocUnsafe(this.torrent.pieceLength)
    for (let index = 0; index < this.torrent.pieceCount; index++) {
      const size = this.torrent.pieceSize(index)
      const segments = this.map.segments(index, 0, size)
      if (segments.some(s => !s.pad && sizes[s.fileIndex]! < s.fileOffset + s.length)) continue
      const data = buf.subarray(0, size)
      if (!await this.readSegments(segments, data)) continue
      if (this.verify(index, data) === undefined) this.haveSet.add(index)
    }
    if (this.complete) await this.createEmptyFiles()
    return this.haveSet.size
  }

  async writePiece (index: number, data: Uint8Array): Promise<void> {
    this.checkOpen()
    this.checkIndex(index)
    const size = this.torrent.pieceSize(index)
    if (data.length !== size) throw new PieceOutOfRangeError(`piece ${index} has ${size} bytes, got ${data.length}`)
    const reason = this.verify(index, data)
    if (reason !== undefined) throw new PieceHashMismatchError(index, `piece ${index} does not verify (${reason})`)
    this.readCache.delete(index)
    for (const s of this.map.segments(index, 0, size)) {
      if (s.pad) continue
      const path = this.paths[s.fileIndex]!
      await this.ensureDir(path)
      await this.io(path, true, async fh => {
        let done = 0
        while (done < s.length) {
          const { bytesWritten } = await fh.write(data, s.rangeOffset + done, s.length - done, s.fileOffset + done)
          done += bytesWritten
        }
      })
    }
    this.haveSet.add(index)
    if (this.complete) await this.createEmptyFiles()
  }

  async readBlock (index: number, offset: number, length: number): Promise<Buffer> {
    this.checkOpen()
    this.checkIndex(index)
    const size = this.torrent.pieceSize(index)
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length <= 0 || offset + length > size) {
      throw new PieceOutOfRangeError(`block (${offset}, ${length}) is outside piece ${index} of ${size} bytes`)
    }
    if (!this.haveSet.has(index)) throw new PieceNotAvailableError(index)
    if (this.readCache.fits(size)) {
      const piece = await this.readCache.get(index, size, () => this.readPiece(index, size))
      if (piece !== undefined) return lend(piece, offset, offset + length)
      // The whole piece could not be read: the block alone decides, as without the cache.
    }
    const out = Buffer.allocUnsafe(length)
    if (!await this.readSegments(this.map.segments(index, offset, length), out)) {
      throw new StorageError(`piece ${index} is verified but its bytes are no longer on disk`)
    }
    return out
  }

  async close (): Promise<void> {
    this.closed = true
    this.readCache.clear()
    await this.pool.closeAll()
  }

  /** A whole verified piece for the read cache; undefined if it cannot be read (the caller retries by block). */
  private async readPiece (index: number, size: number): Promise<Buffer | undefined> {
    const out = this.readCache.buffer(size)
    return await this.readSegments(this.map.segments(index, 0, size), out) ? out : undefined
  }

  /** Fill `out` from disk; false when a file is missing or short. Pad segments read as zeros. */
  private async readSegments (segments: readonly Segment[], out: Buffer): Promise<boolean> {
    for (const s of segments) {
      const target = out.subarray(s.rangeOffset, s.rangeOffset + s.length)
      if (s.pad) {
        target.fill(0)
        continue
      }
      const ok = await this.io(this.paths[s.fileIndex]!, false, async fh => {
        let done = 0
        while (done < s.length) {
          const { bytesRead } = await fh.read(target, done, s.length - done, s.fileOffset + done)
          if (bytesRead === 0) return false
          done += bytesRead
        }
        return true
      })
      if (ok !== true) return false
    }
    return true
  }

  private async io<T> (path: string, create: boolean, fn: (fh: FileHandle) => Promise<T>): Promise<T | undefined> {
    try {
      return await this.pool.use(path, create, fn)
    } catch (err) {
      if (err instanceof StorageError || err instanceof UnsafePathError) throw err
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ELOOP') throw new UnsafePathError(`${path} is a symlink`, { cause: err })
      throw new StorageError(`${create ? 'writing' : 'reading'} ${path} failed: ${(err as Error).message}`, { cause: err })
    }
  }

  /**
   * Create the file's directory one level at a time below `dir`, refusing any level that is a symlink
   * or not a directory: a symlink planted in the download tree (say dir/name/sub -> /etc) would
   * otherwise carry our writes elsewhere. `dir` itself is the caller's choice and is trusted.
   */
  private async ensureDir (path: string): Promise<void> {
    const parent = dirname(path)
    let check = this.checkedDirs.get(parent)
    if (check === undefined) {
      check = (async () => {
        try {
          await mkdir(this.dir, { recursive: true })
          let cur = this.dir
          for (const c of relative(this.dir, parent).split(sep).filter(c => c !== '')) {
            cur = join(cur, c)
            await mkdir(cur).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'EEXIST') throw err })
            const st = await lstat(cur)
            if (!st.isDirectory()) throw new UnsafePathError(`${cur} is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}`)
          }
        } catch (err) {
          this.checkedDirs.delete(parent)
          if (err instanceof UnsafePathError) throw err
          throw new StorageError(`cannot create directory ${parent}: ${(err as Error).message}`, { cause: err })
        }
      })()
      this.checkedDirs.set(parent, check)
    }
    await check
  }

  /** Empty files own no piece, so no write creates them: make them once the torrent is complete. */
  private async createEmptyFiles (): Promise<void> {
    for (const [i, f] of this.torrent.files.entries()) {
      if (f.length !== 0 || f.pad) continue
      const path = this.paths[i]!
      await this.ensureDir(path)
      await this.io(path, true, async () => {})
    }
  }

  private checkIndex (index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.torrent.pieceCount) {
      throw new PieceOutOfRangeError(`piece ${index} is outside 0..${this.torrent.pieceCount - 1}`)
    }
  }

  private checkOpen (): void {
    if (this.closed) throw new StorageError('the store is closed')
  }
}
