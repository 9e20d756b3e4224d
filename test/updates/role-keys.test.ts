/**
 * TUF role keys: key ids as the TUF specification computes them (checked against @tufjs/canonical-json,
 * the canonical JSON tuf-js signs with), signatures that @tufjs/models verifies, and key files on disk:
 * mode 0600 in a 0700 directory, never overwritten, found by role and key id, retired aside.
 */
import t from 'tap'
import { createHash, generateKeyPairSync } from 'node:crypto'
import { readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { canonicalize } from '@tufjs/canonical-json'
import { Metadata, Timestamp } from '@tufjs/models'
import { OFFLINE_ROLES, ROLE_NAMES, generateRoleKey, isRoleName, loadRoleKeys, requireRoleKeys, retireRoleKey, saveRoleKey, signWith, tufKey } from '../../src/updates/role-keys.js'
import { ReleaseRepositoryError } from '../../src/updates/errors.js'
import { tempDir } from '../helpers/session-pair.js'
import { assertTyped } from '../helpers/typed-error.js'

t.test('role names', async t => {
  t.same([...ROLE_NAMES], ['root', 'targets', 'snapshot', 'timestamp'])
  t.same([...OFFLINE_ROLES], ['root', 'targets'])
  t.ok(ROLE_NAMES.every(isRoleName))
  for (const s of ['', 'Root', 'mirror', 'root ', 'toString', 'constructor']) t.notOk(isRoleName(s), JSON.stringify(s))
})

t.test('the key id is the SHA-256 of the canonical JSON of the public key', async t => {
  const { key, privateKey } = generateRoleKey()
  t.equal(key.keyType, 'ed25519')
  t.equal(key.scheme, 'ed25519')
  t.match(key.keyVal.public, /^[0-9a-f]{64}$/)
  const raw = privateKey.export({ format: 'jwk' }).x!
  t.equal(key.keyVal.public, Buffer.from(raw, 'base64url').toString('hex'), 'the raw 32-byte public key')
  const canonical = canonicalize({ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: key.keyVal.public } })
  t.equal(key.keyID, createHash('sha256').update(canonical).digest('hex'))
  t.equal(tufKey(privateKey).keyID, key.keyID, 'the same key gives the same id')
  t.not(generateRoleKey().key.keyID, key.keyID)
})

t.test('signWith: one signature per key, each verified by @tufjs/models, appended to those there', async t => {
  const timestamp = (version: number): Timestamp => new Timestamp({ version, specVersion: '1.0.31', expires: '2030-01-01T00:00:00Z' })
  const md = new Metadata(timestamp(1))
  const a = generateRoleKey()
  const b = generateRoleKey()
  signWith(md, [a])
  signWith(md, [b])
  t.same(Object.keys(md.signatures).sort(), [a.key.keyID, b.key.keyID].sort())
  t.doesNotThrow(() => a.key.verifySignature(md))
  t.doesNotThrow(() => b.key.verifySignature(md))
  t.throws(() => a.key.verifySignature(new Metadata(timestamp(2), md.signatures)), 'a signature over other bytes does not verify')
})

t.test('key files: 0600 in a 0700 directory, named by role and key id prefix, never overwritten', async t => {
  const dir = join(await tempDir(t), 'keys')
  const k = generateRoleKey()
  await saveRoleKey(dir, 'targets', k)
  const files = await readdir(dir)
  t.same(files, [`targets-${k.key.keyID.slice(0, 16)}.pem`])
  t.equal((await stat(join(dir, files[0]!))).mode & 0o777, 0o600)
  t.equal((await stat(dir)).mode & 0o777, 0o700)
  await t.rejects(saveRoleKey(dir, 'targets', k), { code: 'EEXIST' }, 'an existing key file is not replaced')
})

t.test('loadRoleKeys finds the role\'s keys by id, ignoring other roles, other keys and other files', async t => {
  const dir = await tempDir(t)
  const [t1, t2, s1] = [generateRoleKey(), generateRoleKey(), generateRoleKey()]
  await saveRoleKey(dir, 'targets', t1)
  await saveRoleKey(dir, 'targets', t2)
  await saveRoleKey(dir, 'snapshot', s1)
  await writeFile(join(dir, 'targets-notes.txt'), 'not a key')
  const found = await loadRoleKeys(dir, 'targets', [t1.key.keyID, s1.key.keyID])
  t.same(found.map(k => k.key.keyID), [t1.key.keyID], 'only targets keys, only listed ids')
  t.same(await loadRoleKeys(dir, 'root', [t1.key.keyID]), [], 'a key saved under another role does not count')
  t.same(await loadRoleKeys(join(dir, 'missing'), 'targets', [t1.key.keyID]), [], 'a missing directory holds no keys')
  // A key file of the right name that holds another key (renamed by hand) is matched by its content.
  const { privateKey } = generateKeyPairSync('ed25519')
  await writeFile(join(dir, `targets-${t2.key.keyID.slice(0, 16)}x.pem`), privateKey.export({ format: 'pem', type: 'pkcs8' }))
  t.equal((await loadRoleKeys(dir, 'targets', [t2.key.keyID])).length, 1)
})

t.test('requireRoleKeys: ReleaseRepositoryError below the threshold, naming the role and the directory', async t => {
  const dir = await tempDir(t)
  const k = generateRoleKey()
  await saveRoleKey(dir, 'root', k)
  t.equal((await requireRoleKeys(dir, 'root', [k.key.keyID], 1)).length, 1)
  try {
    await requireRoleKeys(dir, 'root', [k.key.keyID, generateRoleKey().key.keyID], 2)
    t.fail('signed with too few keys')
  } catch (err) {
    assertTyped(t, err, ReleaseRepositoryError, 'ERR_RELEASE_REPOSITORY', new RegExp(`^root needs 2 of its keys to sign; ${dir} holds 1$`))
  }
})

t.test('retireRoleKey moves the file under retired/, and the key is no longer found', async t => {
  const dir = await tempDir(t)
  const k = generateRoleKey()
  await saveRoleKey(dir, 'timestamp', k)
  await retireRoleKey(dir, 'timestamp', k.key)
  t.same(await readdir(join(dir, 'retired')), [`timestamp-${k.key.keyID.slice(0, 16)}.pem`])
  t.same(await loadRoleKeys(dir, 'timestamp', [k.key.keyID]), [])
  await t.resolves(retireRoleKey(dir, 'timestamp', k.key), 'retiring a key twice is not an error')
})
