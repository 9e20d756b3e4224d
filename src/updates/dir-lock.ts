/**
 * One `bttls update` at a time per install directory: DIR/update.lock names the process holding it.
 *
 * The lock is created whole or not at all: written under a unique name, then hard-linked to
 * update.lock, which fails if the name exists (link(2) is atomic, also over NFS, where O_EXCL was not).
 * A lock whose process is gone (kill -9, a crash, a reboot) is stale and taken over: renamed away under
 * a unique name, which only one of two racing takers can do, and checked to be the stale one read
 * (if another taker already replaced it by a live lock, that lock is put back and we fail).
 *
 * What it cannot tell: a lock written on another host (a shared directory) is treated as held, since
 * its process cannot be checked; and a pid reused by an unrelated process keeps a stale lock held. In
 * both cases the message names the file to remove.
 */
import { hostname } from 'node:os'
import { join } from 'node:path'
import { link, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { UpdateInProgressError } from './errors.js'

export const LOCK_FILE = 'update.lock'

interface LockContent { readonly pid: number, readonly host: string, readonly since: string }

/** Takes DIR's update lock; resolves with its release. Throws UpdateInProgressError while another run holds it. */
export async function lockInstallDir (dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE)
  const mine: LockContent = { pid: process.pid, host: hostname(), since: new Date().toISOString() }
  const tmp = join(dir, `.update.lock-${randomBytes(6).toString('hex')}`)
  await writeFile(tmp, JSON.stringify(mine) + '\n', { mode: 0o644 })
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await link(tmp, path)
        const text = JSON.stringify(mine) + '\n'
        return async () => {
          // Only our own lock: never remove one a later run took over.
          if (await readFile(path, 'utf8').catch(() => undefined) === text) await rm(path, { force: true })
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      }
      const text = await readFile(path, 'utf8').catch(() => undefined)
      if (text === undefined) continue // released meanwhile
      const holder = parse(text)
      if (holder !== undefined && holds(holder)) throw inProgress(path, holder)
      // Stale (or unreadable): move it away, then make sure it was the one we judged.
      const aside = join(dir, `.update.lock-stale-${randomBytes(6).toString('hex')}`)
      try { await rename(path, aside) } catch { continue }
      const moved = await readFile(aside, 'utf8').catch(() => undefined)
      if (moved !== text) {
        await link(aside, path).catch(() => {})
        await rm(aside, { force: true })
        const other = moved === undefined ? undefined : parse(moved)
        throw inProgress(path, other)
      }
      await rm(aside, { force: true })
    }
    throw inProgress(path, undefined)
  } finally {
    await rm(tmp, { force: true })
  }
}

function parse (text: string): LockContent | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockContent>
    if (typeof v.pid !== 'number' || !Number.isInteger(v.pid) || v.pid <= 0 || typeof v.host !== 'string') return undefined
    return { pid: v.pid, host: v.host, since: typeof v.since === 'string' ? v.since : '?' }
  } catch {
    return undefined
  }
}

/** Whether the lock's process may still be running. */
function holds (lock: LockContent): boolean {
  if (lock.host !== hostname()) return true
  try {
    process.kill(lock.pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' // alive, someone else's
  }
}

function inProgress (path: string, holder: LockContent | undefined): UpdateInProgressError {
  const who = holder === undefined ? 'another run' : `process ${holder.pid}${holder.host !== hostname() ? ` on ${holder.host}` : ''} (since ${holder.since})`
  return new UpdateInProgressError(`another bttls update is running on this directory: ${who}; if it is not, remove ${path}`)
}
