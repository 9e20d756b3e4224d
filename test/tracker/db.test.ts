/** The tracker's SQLite db: created on first start, reopened with its state, tokens stored only as hashes. */
import t from 'tap'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import Database from 'better-sqlite3'
import { TrackerDb, tokenHash } from '../../src/tracker/server/db.js'
import { DuplicateUserError, InvalidUserNameError, TrackerDatabaseError, UnknownUserError } from '../../src/tracker/errors.js'
import { tempDir } from '../helpers/session-pair.js'

t.test('created on first open (mode 0600), reopened with users, torrents and the log intact', async t => {
  const dir = await tempDir(t)
  const file = join(dir, 'sub-none.db')
  const db = TrackerDb.open(file)
  t.equal((await stat(file)).mode & 0o777, 0o600, 'only the owner reads the db')
  const token = db.addUser('alice')
  t.match(token, /^[0-9a-f]{64}$/, '256-bit token, hex')
  db.addUser('bob')
  const torrent = db.addTorrent({ name: 'x', infoHashV1: Buffer.alloc(20, 1), caFingerprint: Buffer.alloc(32, 9) })
  t.same(db.addTorrent({ name: 'x', infoHashV1: Buffer.alloc(20, 1), caFingerprint: Buffer.alloc(32, 9) }), torrent, 'registering twice is a no-op')
  db.logIssuance({ userId: db.user('bob')!.id, torrentId: torrent.id, infoHash: '01'.repeat(20), serial: 'abc', notAfter: 2_000_000_000, issuedAt: 1_700_000_000, peerAddress: '127.0.0.1:1' })
  db.revokeUser('bob', 1_700_000_100)
  db.close()

  const again = TrackerDb.open(file)
  t.teardown(() => again.close())
  t.same(again.listUsers().map(u => [u.name, u.revokedAt]), [['alice', undefined], ['bob', 1_700_000_100]])
  t.equal(again.userByToken(token)?.name, 'alice', 'the token still authenticates')
  t.equal(again.userByToken(randomBytes(32).toString('hex')), undefined)
  t.same(again.revokedSerials('01'.repeat(20), 1_800_000_000), ['abc'])
  t.same(again.listTorrents().map(x => x.infoHashV1), ['01'.repeat(20)])
  t.equal(again.issuances().length, 1)
})

t.test('the db files never hold a token, only its SHA-256', async t => {
  const dir = await tempDir(t)
  const db = TrackerDb.open(join(dir, 'tracker.db'))
  const tokens = Array.from({ length: 5 }, (_, i) => db.addUser(`user${i}`))
  db.close() // checkpoints the WAL into the main file
  const files = await readdir(dir)
  t.ok(files.includes('tracker.db'))
  for (const name of files) {
    const bytes = await readFile(join(dir, name))
    for (const token of tokens) {
      t.notOk(bytes.includes(Buffer.from(token, 'latin1')), `${name} does not contain a token in hex`)
      t.notOk(bytes.includes(Buffer.from(token, 'hex')), `${name} does not contain a token's raw bytes`)
    }
  }
  const main = await readFile(join(dir, 'tracker.db'))
  t.ok(main.includes(tokenHash(tokens[0]!)), 'the hash is what is stored')
})

t.test('admin errors: duplicate names, unknown users, bad names; revocation is idempotent', async t => {
  const dir = await tempDir(t)
  const db = TrackerDb.open(join(dir, 'tracker.db'))
  t.teardown(() => db.close())
  db.addUser('alice')
  t.throws(() => db.addUser('alice'), { name: 'DuplicateUserError', code: 'ERR_DUPLICATE_USER' })
  t.throws(() => db.addUser('alice'), DuplicateUserError)
  t.throws(() => db.revokeUser('nobody'), { name: 'UnknownUserError', code: 'ERR_UNKNOWN_USER' })
  t.throws(() => db.revokeUser('nobody'), UnknownUserError)
  for (const bad of ['has space', '', 'x'.repeat(65), 'caf\u00e9']) {
    t.throws(() => db.addUser(bad), { name: 'InvalidUserNameError', code: 'ERR_INVALID_USER_NAME' }, JSON.stringify(bad))
    t.throws(() => db.addUser(bad), InvalidUserNameError)
  }
  const first = db.revokeUser('alice', 100)
  t.equal(db.revokeUser('alice', 200).revokedAt, first.revokedAt, 'the first revocation time stays')
})

t.test('a db whose schema is newer than this version refuses to open, with a typed error', async t => {
  const dir = await tempDir(t)
  const file = join(dir, 'future.db')
  const raw = new Database(file)
  raw.pragma('user_version = 99')
  raw.close()
  t.throws(() => TrackerDb.open(file), { name: 'TrackerDatabaseError', code: 'ERR_TRACKER_DATABASE', message: /schema version 99 is newer/ })
  t.throws(() => TrackerDb.open(file), TrackerDatabaseError)
})
