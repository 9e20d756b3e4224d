/**
 * Open file handles, kept open between pieces (opening a file per 16 KiB block would dominate a
 * transfer) but capped, since a torrent may hold more files than the process may open. Handles in use
 * are never closed under their user: eviction only takes idle ones.
 */
import { constants } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'

interface Entry {
  handle: Promise<FileHandle>
  writable: boolean
  users: number
}

export class FileHandlePool {
  private readonly entries = new Map<string, Entry>()

  constructor (private readonly maxOpen = 128) {}

  /**
   * Run `fn` with a handle on `path`. `create`: open read-write, creating the file (never following a
   * symlink at the last component). Otherwise open an existing file, read-write if we may, else read-only;
   * resolves undefined (without calling fn) when the file does not exist.
   */
  async use<T> (path: string, create: boolean, fn: (fh: FileHandle) => Promise<T>): Promise<T | undefined> {
    let entry = this.entries.get(path)
    if (entry !== undefined && create && !entry.writable) {
      // Opened read-only for a read; a write needs a new handle. The old one closes when idle.
      this.entries.delete(path)
      void this.closeWhenIdle(entry)
      entry = undefined
    }
    if (entry === undefined) {
      const opened = this.openHandle(path, create)
      // Counted as in use from the start, so that evictIdle below cannot pick the entry we are opening.
      entry = { handle: opened.then(r => r.fh), writable: create, users: 1 }
      entry.handle.catch(() => {}) // failures are handled through `opened` (and by concurrent users below)
      this.entries.set(path, entry)
      try {
        entry.writable = (await opened).writable
      } catch (err) {
        if (this.entries.get(path) === entry) this.entries.delete(path)
        if (!create && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw err
      }
      this.evictIdle()
    } else {
      // Re-insert: Map order is our LRU order.
      this.entries.delete(path)
      this.entries.set(path, entry)
      entry.users++
    }
    let fh: FileHandle
    try {
      fh = await entry.handle
    } catch (err) {
      // Another caller's open of the same path, still pending when we joined it, failed.
      entry.users--
      if (!create && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
    try {
      return await fn(fh)
    } finally {
      entry.users--
      // Opens that ran while every handle was in use could not evict: the cap is restored as users finish.
      if (this.entries.size > this.maxOpen) this.evictIdle()
    }
  }

  async closeAll (): Promise<void> {
    const all = [...this.entries.values()]
    this.entries.clear()
    await Promise.all(all.map(async e => await (await e.handle.catch(() => undefined))?.close()))
  }

  private async openHandle (path: string, create: boolean): Promise<{ fh: FileHandle, writable: boolean }> {
    const { O_RDWR, O_RDONLY, O_CREAT, O_NOFOLLOW } = constants
    if (create) return { fh: await open(path, O_RDWR | O_CREAT | O_NOFOLLOW, 0o644), writable: true }
    try {
      return { fh: await open(path, O_RDWR | O_NOFOLLOW), writable: true }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'EACCES' && code !== 'EROFS' && code !== 'EPERM') throw err
      return { fh: await open(path, O_RDONLY | O_NOFOLLOW), writable: false }
    }
  }

  private evictIdle (): void {
    for (const [path, entry] of this.entries) {
      if (this.entries.size <= this.maxOpen) break
      if (entry.users > 0) continue
      this.entries.delete(path)
      void this.closeWhenIdle(entry)
    }
  }

  private async closeWhenIdle (entry: Entry): Promise<void> {
    while (entry.users > 0) await new Promise(resolve => setTimeout(resolve, 5))
    await (await entry.handle.catch(() => undefined))?.close().catch(() => {})
  }
}
