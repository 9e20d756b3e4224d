/**
 * The client's install directory DIR:
 *
 *   releases/V/<file>   every release installed (kept: a rollback loses nothing, and can be undone)
 *   current  -> releases/V     the release in use (a symbolic link)
 *   previous -> releases/U     the one before, for `bttls update --rollback`
 *   staging/            downloads in progress; never under current, removed on failure
 *   metadata/           the TUF metadata the client trusts (root.json first, given out of band)
 *   state.json          installed version, previous version, versions rolled back from
 *   update.log          every step, one JSON line each
 *
 * Switching releases is one rename(2) of a new symbolic link over `current`: a reader sees the old
 * release or the new one, never a mix, and a crash leaves one of the two.
 */
import { mkdir, mkdtemp, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { NoPreviousReleaseError } from './errors.js'

export interface InstallState {
  /** The version `current` points to. */
  readonly installed?: string
  readonly previous?: string
  /** Versions the user rolled back from: not installed again automatically until a newer one comes. */
  readonly rolledBack: readonly string[]
}

export class InstallDir {
  readonly metadata: string
  readonly staging: string
  readonly log: string
  readonly current: string
  constructor (readonly dir: string) {
    this.metadata = join(dir, 'metadata')
    this.staging = join(dir, 'staging')
    this.log = join(dir, 'update.log')
    this.current = join(dir, 'current')
  }

  async prepare (): Promise<void> {
    await mkdir(this.metadata, { recursive: true })
    await mkdir(this.staging, { recursive: true })
    await mkdir(join(this.dir, 'releases'), { recursive: true })
  }

  async state (): Promise<InstallState> {
    try {
      const s = JSON.parse(await readFile(join(this.dir, 'state.json'), 'utf8')) as Partial<InstallState>
      return { ...(typeof s.installed === 'string' ? { installed: s.installed } : {}), ...(typeof s.previous === 'string' ? { previous: s.previous } : {}), rolledBack: Array.isArray(s.rolledBack) ? s.rolledBack.filter(v => typeof v === 'string') : [] }
    } catch {
      return { rolledBack: [] }
    }
  }

  private async saveState (s: InstallState): Promise<void> {
    const tmp = join(this.dir, `.state-${randomBytes(6).toString('hex')}`)
    await writeFile(tmp, JSON.stringify(s, null, 2) + '\n')
    await rename(tmp, join(this.dir, 'state.json'))
  }

  /** A fresh private directory for one download. */
  async stagingDir (): Promise<string> {
    return await mkdtemp(join(this.staging, 'download-'))
  }

  /** Point `name` (current, previous) at releases/V in one step. */
  private async link (name: 'current' | 'previous', version: string | undefined): Promise<void> {
    const path = join(this.dir, name)
    if (version === undefined) { await rm(path, { force: true }); return }
    const tmp = join(this.dir, `.${name}-${randomBytes(6).toString('hex')}`)
    await symlink(join('releases', version), tmp)
    await rename(tmp, path)
  }

  /** The release `current` points to, as the file system says. */
  async currentVersion (): Promise<string | undefined> {
    const target = await readlink(this.current).catch(() => undefined)
    return target?.split(/[\\/]/).pop()
  }

  /**
   * Install a verified file: move it into releases/V, then switch `current` to it and `previous` to
   * what `current` was. The file must already be verified: this is the only way into releases/.
   */
  async install (version: string, verifiedFile: string, fileName: string): Promise<InstallState> {
    const before = await this.state()
    const dir = join(this.dir, 'releases', version)
    await rm(dir, { recursive: true, force: true })
    const incoming = join(this.staging, `.release-${randomBytes(6).toString('hex')}`)
    await mkdir(incoming)
    await rename(verifiedFile, join(incoming, fileName))
    await rename(incoming, dir)
    const previous = before.installed !== undefined && before.installed !== version ? before.installed : before.previous
    await this.link('previous', previous)
    await this.link('current', version)
    const after: InstallState = { installed: version, ...(previous !== undefined ? { previous } : {}), rolledBack: before.rolledBack }
    await this.saveState(after)
    return after
  }

  /** Swap back to the previous release; the one left is kept, and remembered as rolled back from. */
  async rollback (): Promise<{ from: string, to: string }> {
    const s = await this.state()
    if (s.installed === undefined || s.previous === undefined) throw new NoPreviousReleaseError(`${this.dir} keeps no previous release to roll back to`)
    await this.link('current', s.previous)
    await this.link('previous', s.installed)
    await this.saveState({ installed: s.previous, previous: s.installed, rolledBack: [...new Set([...s.rolledBack, s.installed])] })
    return { from: s.installed, to: s.previous }
  }
}
