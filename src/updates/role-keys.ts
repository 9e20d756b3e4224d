/**
 * The signing keys of a TUF repository: Ed25519 (TUF keytype and scheme "ed25519", the public key as
 * 64 hex characters), stored one per file as PKCS#8 PEM, mode 0600, named `<role>-<keyid prefix>.pem`.
 * A key's id is the SHA-256 of the canonical JSON of its public part, as the TUF specification and
 * python-tuf compute it, so another TUF tool reading our root finds the same ids.
 */
import { createHash, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Key, Signature, type Metadata, type Root, type Snapshot, type Targets, type Timestamp } from '@tufjs/models'
import { rawPublisherKey } from '../levels/strict.js'
import { ReleaseRepositoryError } from './errors.js'

export const ROLE_NAMES = ['root', 'targets', 'snapshot', 'timestamp'] as const
export type RoleName = typeof ROLE_NAMES[number]
/** Roles whose keys stay offline: the root (trust itself) and targets (what a release is). */
export const OFFLINE_ROLES: readonly RoleName[] = ['root', 'targets']

/**
 * Who a key file belongs to: a TUF role, or `seed`, the release torrents' Strict publisher key, which
 * signs no TUF metadata: the targets metadata names it for each release (seed-key.ts).
 */
export type KeyHolder = RoleName | 'seed'

export function isRoleName (s: string): s is RoleName {
  return (ROLE_NAMES as readonly string[]).includes(s)
}

export interface RoleKey {
  readonly key: Key
  readonly privateKey: KeyObject
}

/** The TUF public key of an Ed25519 private key, with its id. */
export function tufKey (privateKey: KeyObject): Key {
  return tufPublicKey(rawPublisherKey(privateKey))
}

/** The TUF form of a raw 32-byte Ed25519 public key. */
export function tufPublicKey (raw: Buffer): Key {
  const publicHex = raw.toString('hex')
  // Canonical JSON of {keytype, keyval: {public}, scheme}: keys sorted, no spaces; every value here is
  // a plain ASCII string, so JSON.stringify of the sorted object is byte for byte the canonical form.
  const canonical = JSON.stringify({ keytype: 'ed25519', keyval: { public: publicHex }, scheme: 'ed25519' })
  const keyID = createHash('sha256').update(canonical).digest('hex')
  return new Key({ keyID, keyType: 'ed25519', scheme: 'ed25519', keyVal: { public: publicHex } })
}

export function generateRoleKey (): RoleKey {
  const { privateKey } = generateKeyPairSync('ed25519')
  return { key: tufKey(privateKey), privateKey }
}

/** Sign TUF metadata with each key (appending to the signatures it has). */
export function signWith (metadata: Metadata<Root | Targets | Snapshot | Timestamp>, keys: readonly RoleKey[]): void {
  for (const k of keys) {
    metadata.sign(bytes => new Signature({ keyID: k.key.keyID, sig: sign(null, bytes, k.privateKey).toString('hex') }), true)
  }
}

function keyFile (dir: string, role: KeyHolder, key: Key): string {
  return join(dir, `${role}-${key.keyID.slice(0, 16)}.pem`)
}

export async function saveRoleKey (dir: string, role: KeyHolder, k: RoleKey): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await writeFile(keyFile(dir, role, k.key), k.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' })
}

/** The private keys in `dir` for the role's key ids, or all of the role's (files of other keys or roles are ignored). */
export async function loadRoleKeys (dir: string, role: KeyHolder, keyIDs?: readonly string[]): Promise<RoleKey[]> {
  const names = await readdir(dir).catch(() => [] as string[])
  const found: RoleKey[] = []
  for (const name of names.filter(n => n.startsWith(`${role}-`) && n.endsWith('.pem'))) {
    const privateKey = createPrivateKey(await readFile(join(dir, name), 'utf8'))
    const key = tufKey(privateKey)
    if (keyIDs === undefined || keyIDs.includes(key.keyID)) found.push({ key, privateKey })
  }
  return found
}

/** Keys of `role` at least `threshold` strong, or a clear error naming where they were looked for. */
export async function requireRoleKeys (dir: string, role: RoleName, keyIDs: readonly string[], threshold: number): Promise<RoleKey[]> {
  const keys = await loadRoleKeys(dir, role, keyIDs)
  if (keys.length < threshold) {
    throw new ReleaseRepositoryError(`${role} needs ${threshold} of its keys to sign; ${dir} holds ${keys.length}`)
  }
  return keys
}

/** Move a revoked key's file out of the way (kept, for the audit trail, under `retired/`). */
export async function retireRoleKey (dir: string, role: KeyHolder, key: Key): Promise<void> {
  await mkdir(join(dir, 'retired'), { recursive: true, mode: 0o700 })
  await rename(keyFile(dir, role, key), join(dir, 'retired', `${role}-${key.keyID.slice(0, 16)}.pem`)).catch(() => {})
}
