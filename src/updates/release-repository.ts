/**
 * A publisher's TUF repository (TUF specification 1.0, https://theupdateframework.github.io/specification/latest/),
 * written with @tufjs/models. Layout of REPO:
 *
 *   metadata/   what clients fetch: N.root.json (every root version, the chain), root.json,
 *               timestamp.json, N.snapshot.json, N.targets.json (consistent snapshots: a client that
 *               reads while we publish still gets files of one time)
 *   targets/    V/<file> (the fallback download, and the data the swarm seeds), V/<file>.torrent;
 *               a copy of metadata/ and targets/ (e.g. on removable media) is a repository too
 *   keys/       online keys: timestamp, snapshot, and the seed key (the release torrents' Strict
 *               publisher key, named per release by the signed targets: seed-key.ts)
 *   https/      the update server's certificate and key, and the CA that issued it (ca.pem)
 *   config.json expiry periods;  release.log  what was published, one JSON line per step
 *
 * The root and targets keys, and the HTTPS CA's key, live in OFFLINE (a directory meant for removable,
 * offline storage): `add` and `rotate` need it; `serve` never does.
 */
import { copyFile, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { createHash, type KeyObject } from 'node:crypto'
import { basename, join, relative, resolve, isAbsolute } from 'node:path'
import { MetaFile, Metadata, Root, Snapshot, TargetFile, Targets, Timestamp } from '@tufjs/models'
import { createTorrent } from '../torrent/create-torrent.js'
import { parseTorrent } from '../torrent/parse-torrent.js'
import { magnetUri } from '../torrent/magnet.js'
import { rawPublisherKey } from '../levels/strict.js'
import { createSwarmCa } from '../pki/certificate-profile.js'
import { issueServerCertificate, DEFAULT_SERVER_NAMES } from '../pki/server-certificate.js'
import { unsafeComponentReason } from '../torrent/path-component.js'
import { ReleaseRepositoryError } from './errors.js'
import { generateRoleKey, requireRoleKeys, retireRoleKey, ROLE_NAMES, saveRoleKey, signWith, type RoleKey, type RoleName, OFFLINE_ROLES } from './role-keys.js'
import { currentSeedKey, newSeedKey, retireSeedKeys } from './seed-key.js'
import { compareVersions, isReleaseVersion, releaseTarget, targetPath } from './release-target.js'
import { spkiPin } from './spki-pin.js'
import { JsonLinesLog } from './json-lines-log.js'
import { fileSha256 } from './file-sha256.js'

/** Metadata of any of the four top-level roles. */
export type AnyMetadata = Metadata<Root | Targets | Snapshot | Timestamp>
/** The JSON object tuf's fromJSON methods take. */
type MetadataJson = Parameters<typeof Root.fromJSON>[0]
/** Metadata.fromJSON with its per-kind overloads erased: the kind is checked by the caller's cast. */
const metadataFromJson = Metadata.fromJSON as (type: string, data: MetadataJson) => AnyMetadata

export const SPEC_VERSION = '1.0.31'
const DAY = 86_400
/** How long each role's metadata is valid: the offline roles long, the online ones short (a freeze lasts at most that). */
export const DEFAULT_EXPIRES_S: Readonly<Record<RoleName, number>> = { root: 365 * DAY, targets: 90 * DAY, snapshot: 7 * DAY, timestamp: DAY }
const HTTPS_CERT_LIFETIME_S = 365 * DAY

export interface RepositoryConfig {
  readonly expires: Record<RoleName, number>
}

export function repositoryPaths (repo: string): { metadata: string, targets: string, keys: string, https: string, log: string, config: string } {
  return { metadata: join(repo, 'metadata'), targets: join(repo, 'targets'), keys: join(repo, 'keys'), https: join(repo, 'https'), log: join(repo, 'release.log'), config: join(repo, 'config.json') }
}

export function expiryString (now: Date, seconds: number): string {
  return new Date(now.getTime() + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** The serialized form clients fetch (and the bytes the snapshot and timestamp hash). */
export function metadataBytes (md: AnyMetadata): Buffer {
  return Buffer.from(JSON.stringify(md.toJSON(), null, 1))
}

export function metaFileFor (md: AnyMetadata): MetaFile {
  const bytes = metadataBytes(md)
  return new MetaFile({ version: md.signed.version, length: bytes.length, hashes: { sha256: createHash('sha256').update(bytes).digest('hex') } })
}

async function writeAtomic (file: string, bytes: Buffer | string, mode = 0o644): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, bytes, { mode })
  await rename(tmp, file)
}

/** The repository's current metadata, as clients see it. */
export interface RepositoryState {
  readonly root: Metadata<Root>
  readonly targets: Metadata<Targets>
  readonly snapshot: Metadata<Snapshot>
  readonly timestamp: Metadata<Timestamp>
}

async function readMetadata<T extends 'root' | 'targets' | 'snapshot' | 'timestamp'> (file: string, kind: T): Promise<AnyMetadata> {
  let json: unknown
  try { json = JSON.parse(await readFile(file, 'utf8')) } catch (err) {
    throw new ReleaseRepositoryError(`cannot read ${file}: ${(err as Error).message}`)
  }
  return metadataFromJson(kind, json as MetadataJson)
}

export async function loadRepository (repo: string): Promise<RepositoryState> {
  const { metadata } = repositoryPaths(repo)
  const root = await readMetadata(join(metadata, 'root.json'), 'root') as Metadata<Root>
  const timestamp = await readMetadata(join(metadata, 'timestamp.json'), 'timestamp') as Metadata<Timestamp>
  const snapshot = await readMetadata(join(metadata, `${timestamp.signed.snapshotMeta.version}.snapshot.json`), 'snapshot') as Metadata<Snapshot>
  const targetsMeta = snapshot.signed.meta['targets.json']
  if (targetsMeta === undefined) throw new ReleaseRepositoryError('the snapshot names no targets.json')
  const targets = await readMetadata(join(metadata, `${targetsMeta.version}.targets.json`), 'targets') as Metadata<Targets>
  return { root, targets, snapshot, timestamp }
}

export async function loadConfig (repo: string): Promise<RepositoryConfig> {
  const raw = JSON.parse(await readFile(repositoryPaths(repo).config, 'utf8')) as Partial<RepositoryConfig>
  return { expires: { ...DEFAULT_EXPIRES_S, ...raw.expires } }
}

function roleOf (root: Metadata<Root>, role: RoleName): Root['roles'][string] {
  const r = root.signed.roles[role]
  if (r === undefined) throw new ReleaseRepositoryError(`the root names no ${role} role`)
  return r
}

/** The keys that sign `role` now: offline roles from OFFLINE, online ones from REPO/keys. */
export async function signingKeys (repo: string, offlineKeys: string | undefined, root: Metadata<Root>, role: RoleName): Promise<RoleKey[]> {
  const r = roleOf(root, role)
  const offline = OFFLINE_ROLES.includes(role)
  if (offline && offlineKeys === undefined) throw new ReleaseRepositoryError(`signing ${role} needs the offline keys (--offline-keys DIR)`)
  return await requireRoleKeys(offline ? offlineKeys! : repositoryPaths(repo).keys, role, r.keyIDs, r.threshold)
}

function checkOfflineDir (repo: string, offlineKeys: string): void {
  const rel = relative(resolve(repo), resolve(offlineKeys))
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    throw new ReleaseRepositoryError(`the offline keys (${offlineKeys}) must not be inside the repository the server publishes`)
  }
}

const MAX_KEYS_PER_ROLE = 16

function checkRoleSize (role: RoleName, count: number, threshold: number): void {
  if (!(Number.isInteger(count) && count >= 1 && count <= MAX_KEYS_PER_ROLE)) throw new ReleaseRepositoryError(`${role}: 1 to ${MAX_KEYS_PER_ROLE} keys, not ${count}`)
  if (!(Number.isInteger(threshold) && threshold >= 1 && threshold <= count)) throw new ReleaseRepositoryError(`${role}: a threshold of 1 to ${count} keys, not ${threshold}`)
}

export interface InitOptions {
  readonly repo: string
  readonly offlineKeys: string
  /** How many keys each role gets (default 1). */
  readonly keys?: Partial<Record<RoleName, number>>
  /** How many of them must sign (default 1; at most the number of keys). */
  readonly thresholds?: Partial<Record<RoleName, number>>
  /** Seconds each role's metadata stays valid (default DEFAULT_EXPIRES_S). */
  readonly expires?: Partial<Record<RoleName, number>>
  /** DNS names and addresses of the update server's certificate (default localhost, 127.0.0.1). */
  readonly serverNames?: readonly string[]
  readonly now?: Date
}

export interface InitResult {
  /** The root clients must be given first (out of band, e.g. shipped with the application). */
  readonly rootFile: string
  /** SPKI pins: the HTTPS CA's (stable across server certificates) and the server certificate's. */
  readonly caPin: string
  readonly serverPin: string
  readonly caFile: string
}

export async function initRepository (o: InitOptions): Promise<InitResult> {
  checkOfflineDir(o.repo, o.offlineKeys)
  const paths = repositoryPaths(o.repo)
  if (await stat(paths.metadata).then(() => true, () => false)) throw new ReleaseRepositoryError(`${o.repo} already holds a repository`)
  const now = o.now ?? new Date()
  const expires = { ...DEFAULT_EXPIRES_S, ...o.expires }
  for (const d of [paths.metadata, paths.targets, paths.https]) await mkdir(d, { recursive: true })
  await mkdir(paths.keys, { recursive: true, mode: 0o700 })
  await mkdir(o.offlineKeys, { recursive: true, mode: 0o700 })

  const byRole = new Map<RoleName, RoleKey[]>()
  const keys: Record<string, unknown> = {}
  const roles: Record<string, { keyids: string[], threshold: number }> = {}
  for (const role of ROLE_NAMES) {
    const count = o.keys?.[role] ?? 1
    const threshold = o.thresholds?.[role] ?? 1
    checkRoleSize(role, count, threshold)
    const fresh = Array.from({ length: count }, () => generateRoleKey())
    byRole.set(role, fresh)
    roles[role] = { keyids: fresh.map(k => k.key.keyID), threshold }
    for (const k of fresh) {
      keys[k.key.keyID] = k.key.toJSON()
      await saveRoleKey(OFFLINE_ROLES.includes(role) ? o.offlineKeys : paths.keys, role, k)
    }
  }
  const root = new Metadata(Root.fromJSON({
    _type: 'root', spec_version: SPEC_VERSION, version: 1, expires: expiryString(now, expires.root), consistent_snapshot: true, keys, roles
  } as unknown as MetadataJson))
  signWith(root, byRole.get('root')!)
  await writeAtomic(join(paths.metadata, '1.root.json'), metadataBytes(root))
  await writeAtomic(join(paths.metadata, 'root.json'), metadataBytes(root))
  await writeFile(paths.config, JSON.stringify({ expires }, null, 2) + '\n')

  await newSeedKey(paths.keys)

  const ca = await createSwarmCa('bttls update server CA')
  await writeFile(join(o.offlineKeys, 'https-ca.key'), ca.keyPem, { mode: 0o600, flag: 'wx' })
  const caFile = join(paths.https, 'ca.pem')
  await writeFile(caFile, ca.certPem)
  const server = await issueServerCertificate({ ca, names: o.serverNames ?? DEFAULT_SERVER_NAMES, lifetimeSeconds: HTTPS_CERT_LIFETIME_S, now })
  await writeFile(join(paths.https, 'cert.pem'), server.certPem)
  await writeFile(join(paths.https, 'key.pem'), server.keyPem, { mode: 0o600 })

  const log = new JsonLinesLog(paths.log)
  log.append({ event: 'init', root: { version: 1, expires: root.signed.expires }, roles: Object.fromEntries(ROLE_NAMES.map(r => [r, { keyids: root.signed.roles[r]!.keyIDs, threshold: root.signed.roles[r]!.threshold }])) })
  const targets = new Metadata(new Targets({ version: 1, specVersion: SPEC_VERSION, expires: expiryString(now, expires.targets) }))
  await publish(o.repo, o.offlineKeys, root, targets, undefined, { now, log, reason: 'init' })
  return { rootFile: join(paths.metadata, '1.root.json'), caPin: spkiPin(ca.certPem), serverPin: spkiPin(server.certPem), caFile }
}

/**
 * Write new targets (if given, already version-bumped), then a new snapshot and timestamp naming them.
 * Files first, timestamp.json last: a client never finds a timestamp naming a snapshot not yet written.
 */
async function publish (repo: string, offlineKeys: string | undefined, root: Metadata<Root>, targets: Metadata<Targets> | undefined, previous: RepositoryState | undefined, o: { now: Date, log: JsonLinesLog, reason: string }): Promise<void> {
  const { metadata } = repositoryPaths(repo)
  const { expires } = await loadConfig(repo)
  const currentTargets = targets ?? previous!.targets
  if (targets !== undefined) {
    targets.signatures = {}
    signWith(targets, await signingKeys(repo, offlineKeys, root, 'targets'))
    await writeAtomic(join(metadata, `${targets.signed.version}.targets.json`), metadataBytes(targets))
  }
  const snapshot = new Metadata(new Snapshot({
    version: (previous?.snapshot.signed.version ?? 0) + 1, specVersion: SPEC_VERSION, expires: expiryString(o.now, expires.snapshot),
    meta: { 'targets.json': metaFileFor(currentTargets) }
  }))
  signWith(snapshot, await signingKeys(repo, offlineKeys, root, 'snapshot'))
  await writeAtomic(join(metadata, `${snapshot.signed.version}.snapshot.json`), metadataBytes(snapshot))
  const timestamp = new Metadata(new Timestamp({
    version: (previous?.timestamp.signed.version ?? 0) + 1, specVersion: SPEC_VERSION, expires: expiryString(o.now, expires.timestamp),
    snapshotMeta: metaFileFor(snapshot)
  }))
  signWith(timestamp, await signingKeys(repo, offlineKeys, root, 'timestamp'))
  await writeAtomic(join(metadata, 'timestamp.json'), metadataBytes(timestamp))
  o.log.append({
    event: 'publish', reason: o.reason,
    versions: { root: root.signed.version, targets: currentTargets.signed.version, snapshot: snapshot.signed.version, timestamp: timestamp.signed.version },
    expires: { targets: currentTargets.signed.expires, snapshot: snapshot.signed.expires, timestamp: timestamp.signed.expires }
  })
}

/** The seed key (private) new releases are made with: the one the signed targets name now. */
export async function loadPublisherKey (repo: string): Promise<KeyObject> {
  return (await currentSeedKey(repositoryPaths(repo).keys, (await loadRepository(repo)).targets)).privateKey
}

/** A release's Strict publisher torrent for `seedKey`, written next to the file; what targets record of it. */
async function releaseTorrent (stored: string, version: string, seedKey: RoleKey, now: Date, pieceLength?: number): Promise<{ torrentFile: string, magnet: string, custom: { bttls: { version: string, infohash: string, publisherKey: string, magnet: string } } }> {
  const publisherKey = rawPublisherKey(seedKey.privateKey)
  const { bytes, metainfo } = await createTorrent(stored, {
    version: 'v2', pieceLength, creationDate: Math.floor(now.getTime() / 1000),
    strict: { info: { mode: 'publisher', publisherKey } }
  })
  const torrentFile = `${stored}.torrent`
  await writeAtomic(torrentFile, bytes)
  const magnet = magnetUri(metainfo)
  return { torrentFile, magnet, custom: { bttls: { version, infohash: metainfo.wireInfoHash.toString('hex'), publisherKey: publisherKey.toString('hex'), magnet } } }
}

export interface AddReleaseOptions {
  readonly repo: string
  readonly offlineKeys: string
  readonly file: string
  readonly version: string
  readonly pieceLength?: number
  readonly now?: Date
}

export interface AddedRelease {
  readonly path: string
  readonly length: number
  readonly sha256: string
  readonly magnet: string
  readonly torrentFile: string
  readonly targetsVersion: number
}

export async function addRelease (o: AddReleaseOptions): Promise<AddedRelease> {
  checkOfflineDir(o.repo, o.offlineKeys)
  if (!isReleaseVersion(o.version)) throw new ReleaseRepositoryError(`version ${JSON.stringify(o.version)} is not dot-separated numbers (e.g. 1.2.0)`)
  const fileName = basename(o.file)
  const unsafe = unsafeComponentReason(fileName)
  if (unsafe !== undefined) throw new ReleaseRepositoryError(`the file name ${unsafe}`)
  const info = await stat(o.file).catch(() => undefined)
  if (!info?.isFile() || info.size === 0) throw new ReleaseRepositoryError(`${o.file} is not a non-empty file`)
  const state = await loadRepository(o.repo)
  // Clients refuse to go back, so a publisher cannot publish an older or the same version either.
  for (const t of Object.values(state.targets.signed.targets)) {
    const v = releaseTarget(t).version
    if (compareVersions(o.version, v) <= 0) throw new ReleaseRepositoryError(`version ${o.version} is not newer than the published ${v}`)
  }
  const now = o.now ?? new Date()
  const { targets: targetsDir, log: logFile } = repositoryPaths(o.repo)
  const dir = join(targetsDir, o.version)
  await mkdir(dir, { recursive: true })
  const stored = join(dir, fileName)
  await copyFile(o.file, stored)
  const sha256 = await fileSha256(stored)
  const seedKey = await currentSeedKey(repositoryPaths(o.repo).keys, state.targets)
  const { torrentFile, magnet, custom } = await releaseTorrent(stored, o.version, seedKey, now, o.pieceLength)
  const path = targetPath(o.version, fileName)
  const { expires } = await loadConfig(o.repo)
  const targets = new Metadata(new Targets({
    version: state.targets.signed.version + 1, specVersion: SPEC_VERSION, expires: expiryString(now, expires.targets),
    targets: { ...state.targets.signed.targets }
  }))
  targets.signed.addTarget(new TargetFile({
    path, length: info.size, hashes: { sha256 },
    unrecognizedFields: { custom }
  }))
  const log = new JsonLinesLog(logFile)
  log.append({ event: 'release', version: o.version, path, length: info.size, sha256, magnet, seedKey: seedKey.key.keyID })
  await publish(o.repo, o.offlineKeys, state.root, targets, state, { now, log, reason: `release ${o.version}` })
  return { path, length: info.size, sha256, magnet, torrentFile, targetsVersion: targets.signed.version }
}

export interface RotateOptions {
  readonly repo: string
  readonly offlineKeys: string
  readonly role: RoleName
  /** How many new keys (default: as many as the role has). */
  readonly keys?: number
  /** The new threshold (default: the role's current one). */
  readonly threshold?: number
  readonly now?: Date
}

/**
 * Replace every key of a role. The new root (version + 1) is signed by a threshold of the old root
 * keys and, when the root itself rotates, of the new ones too: a client walks the chain N.root.json,
 * N+1.root.json... checking each against the one before, so trust moves only the way the keys allow.
 * Then whatever the rotated role signs is signed again with its new keys, and the old keys are retired.
 */
export async function rotateKeys (o: RotateOptions): Promise<{ rootVersion: number, keyIDs: string[] }> {
  checkOfflineDir(o.repo, o.offlineKeys)
  const state = await loadRepository(o.repo)
  const now = o.now ?? new Date()
  const { expires } = await loadConfig(o.repo)
  const old = roleOf(state.root, o.role)
  const count = o.keys ?? old.keyIDs.length
  const threshold = o.threshold ?? old.threshold
  checkRoleSize(o.role, count, threshold)
  const oldRootKeys = await signingKeys(o.repo, o.offlineKeys, state.root, 'root')
  const oldKeys = old.keyIDs.map(id => state.root.signed.keys[id]!)

  const offline = OFFLINE_ROLES.includes(o.role)
  const fresh = Array.from({ length: count }, () => generateRoleKey())
  // The new root: the old one with the role's keys replaced, and the keys no role names any longer dropped.
  const json = state.root.signed.toJSON() as { keys: Record<string, unknown>, roles: Record<string, { keyids: string[], threshold: number }> }
  const roles = { ...json.roles, [o.role]: { keyids: fresh.map(k => k.key.keyID), threshold } }
  const used = new Set(Object.values(roles).flatMap(r => r.keyids))
  const keys: Record<string, unknown> = Object.fromEntries(Object.entries(json.keys).filter(([id]) => used.has(id)))
  for (const k of fresh) keys[k.key.keyID] = k.key.toJSON()
  const next = Root.fromJSON({ ...json, version: state.root.signed.version + 1, expires: expiryString(now, expires.root), keys, roles } as unknown as MetadataJson)
  const root = new Metadata(next)
  for (const k of fresh) await saveRoleKey(offline ? o.offlineKeys : repositoryPaths(o.repo).keys, o.role, k)
  signWith(root, oldRootKeys)
  if (o.role === 'root') signWith(root, fresh)
  const { metadata, log: logFile } = repositoryPaths(o.repo)
  await writeAtomic(join(metadata, `${root.signed.version}.root.json`), metadataBytes(root))
  await writeAtomic(join(metadata, 'root.json'), metadataBytes(root))
  for (const k of oldKeys) await retireRoleKey(offline ? o.offlineKeys : repositoryPaths(o.repo).keys, o.role, k)
  const log = new JsonLinesLog(logFile)
  log.append({ event: 'rotate', role: o.role, root: root.signed.version, retired: oldKeys.map(k => k.keyID), keyids: fresh.map(k => k.key.keyID), threshold })
  // Targets signed by retired keys would no longer verify: sign them again (a new version) with the new ones.
  const targets = o.role === 'targets'
    ? new Metadata(new Targets({ version: state.targets.signed.version + 1, specVersion: SPEC_VERSION, expires: expiryString(now, expires.targets), targets: { ...state.targets.signed.targets } }))
    : undefined
  await publish(o.repo, o.offlineKeys, root, targets, state, { now, log, reason: `rotate ${o.role}` })
  return { rootVersion: root.signed.version, keyIDs: fresh.map(k => k.key.keyID) }
}

/**
 * Replace the seed key (`bttls release rotate --role seed`). The key is part of every release
 * torrent's info dict, so each release the targets list gets a new torrent (same file and piece
 * length, new infohash); new targets naming them and the new key are signed with the offline targets
 * key, then snapshot and timestamp. Clients learn the new key from those targets only; the server
 * drops the old torrents and seeds the new ones at its next scan. Every other seed key is retired.
 */
export async function rotateSeedKey (o: { repo: string, offlineKeys: string, now?: Date }): Promise<{ targetsVersion: number, keyIDs: string[] }> {
  checkOfflineDir(o.repo, o.offlineKeys)
  const state = await loadRepository(o.repo)
  const now = o.now ?? new Date()
  const { expires } = await loadConfig(o.repo)
  const { keys: keysDir, targets: targetsDir, log: logFile } = repositoryPaths(o.repo)
  // Fail before anything is written if the targets key is not at hand.
  await signingKeys(o.repo, o.offlineKeys, state.root, 'targets')
  const fresh = await newSeedKey(keysDir)
  const log = new JsonLinesLog(logFile)
  const targets = new Metadata(new Targets({ version: state.targets.signed.version + 1, specVersion: SPEC_VERSION, expires: expiryString(now, expires.targets) }))
  for (const t of Object.values(state.targets.signed.targets)) {
    const r = releaseTarget(t)
    if (r.magnet === undefined) { targets.signed.addTarget(t); continue }
    const stored = join(targetsDir, r.version, r.fileName)
    const pieceLength = parseTorrent(await readFile(`${stored}.torrent`)).pieceLength
    const { magnet, custom } = await releaseTorrent(stored, r.version, fresh, now, pieceLength)
    targets.signed.addTarget(new TargetFile({ path: t.path, length: t.length, hashes: t.hashes, unrecognizedFields: { ...t.unrecognizedFields, custom } }))
    log.append({ event: 'release-torrent', version: r.version, magnet, seedKey: fresh.key.keyID })
  }
  await publish(o.repo, o.offlineKeys, state.root, targets, state, { now, log, reason: 'rotate seed' })
  const retired = await retireSeedKeys(keysDir, fresh)
  log.append({ event: 'rotate', role: 'seed', targets: targets.signed.version, retired, keyids: [fresh.key.keyID] })
  return { targetsVersion: targets.signed.version, keyIDs: [fresh.key.keyID] }
}

/**
 * What the server does with its online keys: a new timestamp (and snapshot) before the current one
 * expires, so clients can tell a live repository from a frozen one. Returns whether it signed.
 */
export async function refreshTimestamp (repo: string, o: { now?: Date, force?: boolean, log?: JsonLinesLog } = {}): Promise<boolean> {
  const state = await loadRepository(repo)
  const now = o.now ?? new Date()
  const { expires } = await loadConfig(repo)
  // Re-sign when less than half the period is left.
  const due = (md: AnyMetadata, period: number): boolean => new Date(md.signed.expires).getTime() - now.getTime() < period * 500
  if (o.force !== true && !due(state.timestamp, expires.timestamp) && !due(state.snapshot, expires.snapshot)) return false
  await publish(repo, undefined, state.root, undefined, state, { now, log: o.log ?? new JsonLinesLog(repositoryPaths(repo).log), reason: 'refresh' })
  return true
}

/** A release as the repository's current targets metadata lists it, and where its files are. */
export interface ListedRelease {
  readonly version: string
  readonly path: string
  readonly dir: string
  readonly torrentFile: string
  /** The signed infohash (hex) and seed key of its torrent (undefined: HTTPS only). */
  readonly infohash?: string
  readonly publisherKey?: Buffer
}

/** The releases a repository holds, newest first (as its current targets metadata lists them). */
export async function listReleases (repo: string): Promise<ListedRelease[]> {
  const { targets } = await loadRepository(repo)
  const { targets: targetsDir } = repositoryPaths(repo)
  return Object.values(targets.signed.targets).map(releaseTarget)
    .sort((a, b) => compareVersions(b.version, a.version))
    .map(r => ({
      version: r.version, path: r.path, dir: join(targetsDir, r.version), torrentFile: join(targetsDir, r.version, `${r.fileName}.torrent`),
      ...(r.magnet !== undefined ? { infohash: r.magnet.wireInfoHash.toString('hex'), publisherKey: r.publisherKey! } : {})
    }))
}
