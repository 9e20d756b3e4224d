/**
 * The update client: TUF's client workflow (tuf-js) over a pinned HTTPS fetcher, the release fetched
 * through its bttls swarm (publisher required) with HTTPS as the bounded fallback, verified against
 * the signed length and SHA-256, installed atomically (install-dir.ts), every step in the update log.
 *
 *   1. refresh: root chain (N+1.root.json... each signed by a threshold of the previous root's keys
 *      and of its own), timestamp, snapshot, targets; each signature threshold, version (never back)
 *      and expiry checked, snapshot and targets against the versions and hashes the step before names.
 *   2. pick the newest release the signed targets list; refuse one older than the installed release.
 *   3. fetch: swarm, then HTTPS after `swarmIdleMs` without data; or a file given by hand.
 *   4. verify length and SHA-256 against the signed target; install; log.
 * Nothing reaches DIR/current before step 4 passed; a refused download is deleted from staging.
 * One run at a time per directory (dir-lock.ts): a second fails with UpdateInProgressError.
 */
import { copyFile, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { Metadata, MetadataKind } from '@tufjs/models'
import { Updater } from 'tuf-js'
import type { SessionOptions } from '../session/session.js'
import {
  MalformedMetadataError, MissingTrustedRootError, NoReleaseError, RollbackAttackError, TargetMismatchError, UpdateDownloadError
} from './errors.js'
import { InstallDir } from './install-dir.js'
import { JsonLinesLog, type LogEntry } from './json-lines-log.js'
import { PinnedFetcher, repositoryUrl } from './pinned-fetcher.js'
import { compareVersions, newestRelease, releaseTarget, type ReleaseTarget } from './release-target.js'
import { fetchFromSwarm } from './swarm-fetch.js'
import { classify, TufErrorWitness } from './tuf-errors.js'
import { parsePeerList, SEEDS_PATH, MAX_SEEDS_BYTES } from './seeds.js'
import { fileSha256 } from './file-sha256.js'
import { lockInstallDir } from './dir-lock.js'

export interface UpdateOptions {
  /** The install directory (see install-dir.ts). */
  readonly dir: string
  /** The repository: an https:// URL, or a local directory (an update by hand). */
  readonly repository: string
  /** root.json to trust on first use (shipped with the application); later runs use the chained one in DIR. */
  readonly trustedRoot?: Buffer
  /** SPKI SHA-256 pins of the update server's chain (32 bytes each). */
  readonly pins?: readonly Buffer[]
  /** CA certificates (PEM) trusted besides Node's store. */
  readonly ca?: readonly string[]
  /** Peers to try besides the seeds the server lists. */
  readonly peers?: ReadonlyArray<{ host: string, port: number }>
  /** Give the swarm up after this long without data (default DEFAULT_SWARM_IDLE_MS). */
  readonly swarmIdleMs?: number
  /** false: HTTPS only. */
  readonly swarm?: boolean
  /** Install this file (downloaded by other means) if it is the newest signed release. */
  readonly file?: string
  readonly fetchTimeoutMs?: number
  /** The swarm session's options (tests shorten its time bounds). */
  readonly session?: SessionOptions
  /** Each log entry, as it is appended (the CLI prints them). */
  readonly onLog?: (entry: LogEntry & { time: string }) => void
}

export type UpdateOutcome =
  | { readonly status: 'installed', readonly version: string, readonly via: 'swarm' | 'https' | 'file', readonly path: string, readonly previous?: string }
  | { readonly status: 'up-to-date' | 'held', readonly version: string }

/** Bytes we accept for a root.json given by the user (tuf-js's own bound for fetched roots). */
const MAX_ROOT_BYTES = 512_000

export async function update (o: UpdateOptions): Promise<UpdateOutcome> {
  const dir = new InstallDir(o.dir)
  await dir.prepare()
  const log = new JsonLinesLog(dir.log, o.onLog)
  const base = repositoryUrl(o.repository)
  let unlock: (() => Promise<void>) | undefined
  try {
    unlock = await lockInstallDir(o.dir)
    return await runUpdate(o, dir, log, base)
  } catch (err) {
    log.append({ event: 'error', name: (err as Error).name, code: (err as { code?: string }).code, message: (err as Error).message })
    throw err
  } finally {
    await unlock?.()
  }
}

async function runUpdate (o: UpdateOptions, dir: InstallDir, log: JsonLinesLog, base: string): Promise<UpdateOutcome> {
  const rootFile = join(dir.metadata, 'root.json')
  if (!(await stat(rootFile).then(() => true, () => false))) {
    if (o.trustedRoot === undefined) throw new MissingTrustedRootError(`${o.dir} trusts no root yet: give the publisher's root.json`)
    if (o.trustedRoot.length > MAX_ROOT_BYTES) throw new MalformedMetadataError(`the root given is larger than ${MAX_ROOT_BYTES} bytes`)
    try { Metadata.fromJSON(MetadataKind.Root, JSON.parse(o.trustedRoot.toString('utf8')) as Parameters<typeof Metadata.fromJSON>[1]) } catch (err) {
      throw new MalformedMetadataError(`the root given is not TUF root metadata: ${(err as Error).message}`)
    }
    await writeFile(rootFile, o.trustedRoot)
    log.append({ event: 'trust-root', sha256: createHash('sha256').update(o.trustedRoot).digest('hex') })
  }
  const fetcher = new PinnedFetcher({ pins: o.pins, ca: o.ca, timeoutMs: o.fetchTimeoutMs })
  log.append({ event: 'refresh', repository: base, pinned: (o.pins ?? []).length })
  const tuf = new Updater({ metadataDir: dir.metadata, metadataBaseUrl: `${base}/metadata`, fetcher, config: { fetchRetries: 0 } })
  const witness = new TufErrorWitness(tuf, fetcher)
  try {
    await tuf.refresh()
  } catch (err) {
    throw witness.errorFrom(err)
  }
  const versions = await trustedVersions(dir.metadata)
  log.append({ event: 'metadata', ...versions })

  // The local targets.json is the one tuf-js just verified and kept; it lists the paths, and each
  // release's description is then taken from tuf-js's trusted set, not from the file.
  const listed = Object.keys((JSON.parse(await readFile(join(dir.metadata, 'targets.json'), 'utf8')) as { signed: { targets?: Record<string, unknown> } }).signed.targets ?? {})
  const releases: ReleaseTarget[] = []
  for (const path of listed) {
    const info = await tuf.getTargetInfo(path).catch(err => { throw witness.errorFrom(err) })
    if (info !== undefined) releases.push(releaseTarget(info))
  }
  const newest = newestRelease(releases)
  if (newest === undefined) throw new NoReleaseError('the repository\'s signed targets list no release')
  const state = await dir.state()
  if (state.installed !== undefined) {
    const cmp = compareVersions(newest.version, state.installed)
    if (cmp < 0) throw new RollbackAttackError(`the newest signed release is ${newest.version}, older than the installed ${state.installed}`)
    if (cmp === 0) { log.append({ event: 'up-to-date', version: newest.version }); return { status: 'up-to-date', version: newest.version } }
  }
  if (state.rolledBack.includes(newest.version)) {
    log.append({ event: 'held', version: newest.version, reason: 'rolled back from; waiting for a newer release' })
    return { status: 'held', version: newest.version }
  }
  log.append({ event: 'release', version: newest.version, path: newest.path, length: newest.length, sha256: newest.sha256 })

  const staging = await dir.stagingDir()
  try {
    const { file, via } = await fetchRelease(o, newest, fetcher, base, staging, log)
    const after = await dir.install(newest.version, file, newest.fileName)
    log.append({ event: 'installed', version: newest.version, via, previous: after.previous })
    return { status: 'installed', version: newest.version, via, path: join(dir.current, newest.fileName), ...(after.previous !== undefined ? { previous: after.previous } : {}) }
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}

/** Get the release's bytes into `staging`, verified; each way tried is logged, with why it failed. */
async function fetchRelease (o: UpdateOptions, r: ReleaseTarget, fetcher: PinnedFetcher, base: string, staging: string, log: JsonLinesLog): Promise<{ file: string, via: 'swarm' | 'https' | 'file' }> {
  if (o.file !== undefined) {
    const file = join(staging, 'by-hand')
    const size = (await stat(o.file)).size
    if (size !== r.length) throw new TargetMismatchError(`${o.file} is ${size} bytes; the signed release ${r.version} is ${r.length}`)
    await copyFile(o.file, file)
    await verifyTarget(file, r)
    log.append({ event: 'verified', via: 'file', version: r.version })
    return { file, via: 'file' }
  }
  const failures: string[] = []
  if (o.swarm !== false && r.magnet !== undefined) {
    const swarmDir = join(staging, 'swarm')
    try {
      const peers = [...await publisherSeeds(fetcher, base, log), ...(o.peers ?? [])]
      log.append({ event: 'swarm', version: r.version, peers: peers.map(p => `${p.host}:${p.port}`), infohash: r.magnet.wireInfoHash.toString('hex') })
      const file = await fetchFromSwarm({
        magnet: r.magnet, dir: swarmDir, peers, length: r.length, idleMs: o.swarmIdleMs, session: o.session,
        onPeerError: (peer, error) => log.append({ event: 'peer-error', peer, name: error.name, message: error.message })
      })
      await verifyTarget(file, r)
      log.append({ event: 'verified', via: 'swarm', version: r.version })
      return { file, via: 'swarm' }
    } catch (err) {
      const e = err as Error
      failures.push(`swarm: ${e.name}: ${e.message}`)
      log.append({ event: 'swarm-failed', name: e.name, code: (e as { code?: string }).code, message: e.message })
      await rm(swarmDir, { recursive: true, force: true })
    }
  }
  const url = `${base}/targets/${r.path.split('/').map(encodeURIComponent).join('/')}`
  log.append({ event: 'fallback', url })
  const file = join(staging, 'https')
  try {
    await fetcher.downloadFile(url, r.length, async tmp => {
      await verifyTarget(tmp, r)
      await copyFile(tmp, file)
    })
  } catch (err) {
    const e = classify(err)
    log.append({ event: 'fallback-failed', name: e.name, code: (e as { code?: string }).code, message: e.message })
    failures.push(`https: ${e.name}: ${e.message}`)
    // One cause is the one to act on when the swarm was not tried; both otherwise.
    if (failures.length === 1) throw e
    throw new UpdateDownloadError(`release ${r.version} could not be fetched: ${failures.join('; ')}`, { cause: e })
  }
  log.append({ event: 'verified', via: 'https', version: r.version })
  return { file, via: 'https' }
}

/** The seeds the server lists (unsigned: the publisher proof in each handshake is what counts). */
async function publisherSeeds (fetcher: PinnedFetcher, base: string, log: JsonLinesLog): Promise<Array<{ host: string, port: number }>> {
  if (!base.startsWith('https:')) return []
  try {
    return parsePeerList(await fetcher.downloadBytes(`${base}/${SEEDS_PATH}`, MAX_SEEDS_BYTES))
  } catch (err) {
    log.append({ event: 'seeds-failed', name: (err as Error).name, message: (err as Error).message })
    return []
  }
}

/** Length and SHA-256 against the signed target. */
async function verifyTarget (file: string, r: ReleaseTarget): Promise<void> {
  const size = (await stat(file)).size
  if (size !== r.length) throw new TargetMismatchError(`release ${r.version}: got ${size} bytes, the signed length is ${r.length}`)
  const got = await fileSha256(file)
  if (got !== r.sha256) throw new TargetMismatchError(`release ${r.version}: SHA-256 ${got}, the signed one is ${r.sha256}`)
}

async function trustedVersions (metadataDir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const role of ['root', 'timestamp', 'snapshot', 'targets']) {
    const md = JSON.parse(await readFile(join(metadataDir, `${role}.json`), 'utf8')) as { signed: { version: number } }
    out[role] = md.signed.version
  }
  return out
}

/** Switch DIR/current back to the previous release (kept), and log it. */
export async function rollback (o: { dir: string, onLog?: UpdateOptions['onLog'] }): Promise<{ from: string, to: string }> {
  const dir = new InstallDir(o.dir)
  const log = new JsonLinesLog(dir.log, o.onLog)
  let unlock: (() => Promise<void>) | undefined
  try {
    unlock = await lockInstallDir(o.dir) // the log made the directory
    const r = await dir.rollback()
    log.append({ event: 'rollback', from: r.from, to: r.to })
    return r
  } catch (err) {
    log.append({ event: 'error', name: (err as Error).name, code: (err as { code?: string }).code, message: (err as Error).message })
    throw err
  } finally {
    await unlock?.()
  }
}

