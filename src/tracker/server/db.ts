/**
 * The secure tracker's state in SQLite: users and their token hashes, the torrents it serves, and the
 * log of every certificate it issued. Created on first open; the admin CLI and a running tracker may
 * share the file (WAL mode, a busy timeout), so a revocation made while the tracker runs takes
 * effect at its next announce.
 *
 * Tokens: 256 random bits, shown once to the admin and never stored; the db keeps SHA-256(token).
 * A stolen db file therefore lets nobody announce. (A fast hash suffices: the token is random, not a
 * password, so there is nothing to brute-force.)
 *
 * Times are unix seconds. Infohashes are lowercase hex; a torrent is found by either 20-byte wire
 * form (its v1 infohash or its truncated v2 infohash, BEP 52).
 */
import { CERT_CLOCK_SKEW_S } from '../../protocol/constants.js'
import Database from 'better-sqlite3'
import { createHash, randomBytes } from 'node:crypto'
import { chmodSync, existsSync } from 'node:fs'
import { DuplicateUserError, InvalidUserNameError, TrackerDatabaseError, UnknownUserError } from '../errors.js'

const SCHEMA_VERSION = 1

const SCHEMA = `
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  token_hash BLOB NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS torrents (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  info_hash_v1 TEXT UNIQUE,
  info_hash_v2 TEXT UNIQUE,
  ca_fingerprint TEXT NOT NULL,
  added_at INTEGER NOT NULL,
  CHECK (info_hash_v1 IS NOT NULL OR info_hash_v2 IS NOT NULL)
);
CREATE TABLE IF NOT EXISTS issuances (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  torrent_id INTEGER NOT NULL REFERENCES torrents(id),
  info_hash TEXT NOT NULL,
  serial TEXT NOT NULL,
  not_after INTEGER NOT NULL,
  issued_at INTEGER NOT NULL,
  peer_address TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS issuances_by_torrent ON issuances (torrent_id, not_after);
-- The revocation surface: every certificate issued to a revoked user. Peers are told the unexpired ones.
CREATE VIEW IF NOT EXISTS revoked_certificates AS
  SELECT i.torrent_id, i.serial, i.not_after, u.name AS user, u.revoked_at
  FROM issuances i JOIN users u ON u.id = i.user_id
  WHERE u.revoked_at IS NOT NULL;
`

export interface User {
  readonly id: number
  readonly name: string
  readonly createdAt: number
  readonly revokedAt?: number
}

export interface RegisteredTorrent {
  readonly id: number
  readonly name: string
  readonly infoHashV1?: string
  /** The full 32-byte SHA-256 infohash, hex. */
  readonly infoHashV2?: string
  /** SHA-256 of the swarm CA certificate's DER, hex: which CA the torrent carries. */
  readonly caFingerprint: string
}

export interface Issuance {
  readonly id: number
  readonly user: string
  readonly torrentId: number
  readonly infoHash: string
  readonly serial: string
  readonly notAfter: number
  readonly issuedAt: number
  readonly peerAddress: string
}

interface UserRow { id: number, name: string, created_at: number, revoked_at: number | null }
interface TorrentRow { id: number, name: string, info_hash_v1: string | null, info_hash_v2: string | null, ca_fingerprint: string }
interface IssuanceRow { id: number, user: string, torrent_id: number, info_hash: string, serial: string, not_after: number, issued_at: number, peer_address: string }

export function unixNow (): number {
  return Math.floor(Date.now() / 1000)
}

/** SHA-256 of a token's text: what the users table holds instead of the token. */
export function tokenHash (token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest()
}

export class TrackerDb {
  private constructor (private readonly db: Database.Database, readonly file: string) {}

  /** Opens the db, creating the file and the schema on first start (the file gets mode 0600). */
  static open (file: string): TrackerDb {
    const fresh = file !== ':memory:' && !existsSync(file)
    const db = new Database(file, { timeout: 5000 })
    try {
      if (fresh) chmodSync(file, 0o600)
      db.pragma('journal_mode = WAL')
      db.pragma('foreign_keys = ON')
      const version = db.pragma('user_version', { simple: true }) as number
      if (version > SCHEMA_VERSION) throw new TrackerDatabaseError(`${file}: schema version ${version} is newer than this bttls understands (${SCHEMA_VERSION})`)
      db.exec(SCHEMA)
      db.pragma(`user_version = ${SCHEMA_VERSION}`)
    } catch (err) {
      db.close()
      throw err
    }
    return new TrackerDb(db, file)
  }

  close (): void {
    if (this.db.open) this.db.close()
  }

  // --- users ---

  /** Adds a user and returns its token: 256 random bits, hex. Only its hash is stored; show it once. */
  addUser (name: string, now = unixNow()): string {
    if (!/^[\x21-\x7e]{1,64}$/.test(name)) throw new InvalidUserNameError('a user name is 1..64 printable ASCII characters without spaces')
    const token = randomBytes(32).toString('hex')
    try {
      this.db.prepare('INSERT INTO users (name, token_hash, created_at) VALUES (?, ?, ?)').run(name, tokenHash(token), now)
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new DuplicateUserError(`a user named "${name}" exists already`, { cause: err })
      throw err
    }
    return token
  }

  /** Revokes a user: no more announces or certificates, and its unexpired serials are published. Idempotent. */
  revokeUser (name: string, now = unixNow()): User {
    const user = this.user(name)
    if (user === undefined) throw new UnknownUserError(`no user named "${name}"`)
    if (user.revokedAt !== undefined) return user
    this.db.prepare('UPDATE users SET revoked_at = ? WHERE id = ?').run(now, user.id)
    return { ...user, revokedAt: now }
  }

  user (name: string): User | undefined {
    const row = this.db.prepare<UserRow>('SELECT id, name, created_at, revoked_at FROM users WHERE name = ?').get(name)
    return row && toUser(row)
  }

  /** The user a token belongs to (revoked or not), found by the token's hash. */
  userByToken (token: string): User | undefined {
    const row = this.db.prepare<UserRow>('SELECT id, name, created_at, revoked_at FROM users WHERE token_hash = ?').get(tokenHash(token))
    return row && toUser(row)
  }

  listUsers (): User[] {
    return this.db.prepare<UserRow>('SELECT id, name, created_at, revoked_at FROM users ORDER BY id').all().map(toUser)
  }

  /** Ids of revoked users: the tracker drops their peers from every peer list. */
  revokedUserIds (): Set<number> {
    return new Set(this.db.prepare<{ id: number }>('SELECT id FROM users WHERE revoked_at IS NOT NULL').all().map(r => r.id))
  }

  // --- torrents ---

  /** Registers a torrent (or returns the existing registration of the same infohashes). */
  addTorrent (t: { name: string, infoHashV1?: Uint8Array, infoHashV2?: Uint8Array, caFingerprint: Uint8Array }, now = unixNow()): RegisteredTorrent {
    const v1 = t.infoHashV1 ? Buffer.from(t.infoHashV1).toString('hex') : null
    const v2 = t.infoHashV2 ? Buffer.from(t.infoHashV2).toString('hex') : null
    if (v1 === null && v2 === null) throw new RangeError('a torrent has at least one infohash')
    const existing = this.db.prepare<TorrentRow>('SELECT * FROM torrents WHERE info_hash_v1 IS ? AND info_hash_v2 IS ?').get(v1, v2)
    if (existing) return toTorrent(existing)
    const r = this.db.prepare('INSERT INTO torrents (name, info_hash_v1, info_hash_v2, ca_fingerprint, added_at) VALUES (?, ?, ?, ?, ?)')
      .run(t.name, v1, v2, Buffer.from(t.caFingerprint).toString('hex'), now)
    return this.torrentById(Number(r.lastInsertRowid))!
  }

  /** The torrent an announce names, by its 20-byte wire infohash (v1, or v2 truncated), hex. */
  torrentByInfoHash (infoHashHex: string): RegisteredTorrent | undefined {
    const h = infoHashHex.toLowerCase()
    const row = this.db.prepare<TorrentRow>('SELECT * FROM torrents WHERE info_hash_v1 = ? OR substr(info_hash_v2, 1, 40) = ? OR info_hash_v2 = ?').get(h, h, h)
    return row && toTorrent(row)
  }

  torrentById (id: number): RegisteredTorrent | undefined {
    const row = this.db.prepare<TorrentRow>('SELECT * FROM torrents WHERE id = ?').get(id)
    return row && toTorrent(row)
  }

  listTorrents (): RegisteredTorrent[] {
    return this.db.prepare<TorrentRow>('SELECT * FROM torrents ORDER BY id').all().map(toTorrent)
  }

  // --- issuance log ---

  logIssuance (e: { userId: number, torrentId: number, infoHash: string, serial: string, notAfter: number, issuedAt: number, peerAddress: string }): number {
    const r = this.db.prepare('INSERT INTO issuances (user_id, torrent_id, info_hash, serial, not_after, issued_at, peer_address) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(e.userId, e.torrentId, e.infoHash, e.serial, e.notAfter, e.issuedAt, e.peerAddress)
    return Number(r.lastInsertRowid)
  }

  /** The issuance log, oldest first; optionally of one user. */
  issuances (user?: string): Issuance[] {
    const sql = 'SELECT i.id, u.name AS user, i.torrent_id, i.info_hash, i.serial, i.not_after, i.issued_at, i.peer_address FROM issuances i JOIN users u ON u.id = i.user_id'
    const rows = user === undefined
      ? this.db.prepare<IssuanceRow>(`${sql} ORDER BY i.id`).all()
      : this.db.prepare<IssuanceRow>(`${sql} WHERE u.name = ? ORDER BY i.id`).all(user)
    return rows.map(r => ({
      id: r.id, user: r.user, torrentId: r.torrent_id, infoHash: r.info_hash, serial: r.serial, notAfter: r.not_after, issuedAt: r.issued_at, peerAddress: r.peer_address
    }))
  }

  /** How many certificates issued to this user for this torrent are still valid at `now`. */
  unexpiredIssuances (userId: number, torrentId: number, now = unixNow()): number {
    return this.db.prepare<{ n: number }>('SELECT COUNT(*) AS n FROM issuances WHERE user_id = ? AND torrent_id = ? AND not_after > ?')
      .get(userId, torrentId, now)!.n
  }

  /**
   * Every serial issued for this torrent to a revoked user that a verifier could still accept (hex,
   * sorted): verifiers allow CERT_CLOCK_SKEW_S past notAfter, so a serial stays listed that much longer.
   * `infoHash` is any form of the torrent's infohash (hex); an unknown torrent has none.
   */
  revokedSerials (infoHash: string, now = unixNow()): string[] {
    const torrent = this.torrentByInfoHash(infoHash)
    if (torrent === undefined) return []
    return this.db.prepare<{ serial: string }>('SELECT DISTINCT serial FROM revoked_certificates WHERE torrent_id = ? AND not_after > ? ORDER BY serial')
      .all(torrent.id, now - CERT_CLOCK_SKEW_S).map(r => r.serial)
  }
}

function toUser (r: UserRow): User {
  return { id: r.id, name: r.name, createdAt: r.created_at, ...(r.revoked_at !== null ? { revokedAt: r.revoked_at } : {}) }
}

function toTorrent (r: TorrentRow): RegisteredTorrent {
  return {
    id: r.id,
    name: r.name,
    ...(r.info_hash_v1 !== null ? { infoHashV1: r.info_hash_v1 } : {}),
    ...(r.info_hash_v2 !== null ? { infoHashV2: r.info_hash_v2 } : {}),
    caFingerprint: r.ca_fingerprint
  }
}
