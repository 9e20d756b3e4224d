/**
 * The seed key: the Ed25519 key the update server's seeds prove inside TLS, which is the Strict
 * publisher key of every release torrent (BEP: "publisher mode"). It is online (the server signs each
 * connection with it) and it signs no TUF metadata, so it is not a role of the root: the targets role
 * names it, in each release's `custom.bttls.publisherKey` (release-target.ts). A client therefore
 * learns it only from targets metadata it verified (offline key, version, expiry, snapshot), and a
 * new seed key reaches clients only the way any target change does: new targets signed with the
 * offline targets key (`bttls release rotate --role seed`), which also remakes every listed torrent
 * for it, since the key is part of each torrent's info dict and infohash.
 *
 * Stored in REPO/keys as `seed-<keyid prefix>.pem` (keyid: as for TUF keys); retired ones under
 * keys/retired/. Which one is current is what the signed targets say, not which files exist.
 */
import type { KeyObject } from 'node:crypto'
import type { Metadata, Targets } from '@tufjs/models'
import { ReleaseRepositoryError } from './errors.js'
import { compareVersions, releaseTarget } from './release-target.js'
import { generateRoleKey, loadRoleKeys, retireRoleKey, saveRoleKey, tufPublicKey, type RoleKey } from './role-keys.js'

export const SEED_KEY = 'seed'

/** A fresh seed key, saved in `keysDir`. */
export async function newSeedKey (keysDir: string): Promise<RoleKey> {
  const k = generateRoleKey()
  await saveRoleKey(keysDir, SEED_KEY, k)
  return k
}

/** The private seed key for a publisher key the targets name, or undefined if `keysDir` lacks it. */
export async function seedKeyFor (keysDir: string, publisherKey: Buffer): Promise<KeyObject | undefined> {
  return (await loadRoleKeys(keysDir, SEED_KEY, [tufPublicKey(publisherKey).keyID]))[0]?.privateKey
}

/**
 * The seed key new releases are made with: the one the newest signed release names; in a
 * repository without releases, the only seed key in `keysDir`.
 */
export async function currentSeedKey (keysDir: string, targets: Metadata<Targets>): Promise<RoleKey> {
  const newest = Object.values(targets.signed.targets).map(releaseTarget).filter(r => r.publisherKey !== undefined)
    .sort((a, b) => compareVersions(b.version, a.version))[0]
  const keys = newest === undefined
    ? await loadRoleKeys(keysDir, SEED_KEY)
    : await loadRoleKeys(keysDir, SEED_KEY, [tufPublicKey(newest.publisherKey!).keyID])
  if (keys.length !== 1) {
    throw new ReleaseRepositoryError(newest === undefined
      ? `${keysDir} holds ${keys.length} seed keys (seed-*.pem); a repository without releases needs exactly one`
      : `${keysDir} lacks the seed key the signed targets name for release ${newest.version} (${newest.publisherKey!.toString('hex')})`)
  }
  return keys[0]!
}

/** Retire every seed key but `keep` (to keys/retired/); returns the key ids retired. */
export async function retireSeedKeys (keysDir: string, keep: RoleKey): Promise<string[]> {
  const old = (await loadRoleKeys(keysDir, SEED_KEY)).filter(k => k.key.keyID !== keep.key.keyID)
  for (const k of old) await retireRoleKey(keysDir, SEED_KEY, k.key)
  return old.map(k => k.key.keyID)
}
