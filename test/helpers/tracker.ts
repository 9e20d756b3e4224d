/** Helpers for the secure tracker tests: a swarm CA, a Full Strict torrent, a db and a running tracker. */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { Test } from 'tap'
import { createSwarmCa, type PemPair } from '../../src/pki/certificate-profile.js'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import type { ParsedTorrent } from '../../src/torrent/parsed-torrent.js'
import { TrackerDb } from '../../src/tracker/server/db.js'
import { TrackerServer, type TrackerServerOptions } from '../../src/tracker/server/server.js'
import { announce, type AnnounceRequest, type AnnounceResponse } from '../../src/tracker/client/client.js'
import { randomFile, tempDir } from './session-pair.js'

export interface TrackerFixture {
  dir: string
  ca: PemPair
  metainfo: ParsedTorrent
  torrentBytes: Buffer
  /** Directory holding the torrent's data (the seed's). */
  dataDir: string
  dbFile: string
  db: TrackerDb
  server: TrackerServer
}

export async function fullStrictTorrent (dir: string, ca: PemPair, size = 200_000, version: 'v1' | 'v2' | 'hybrid' = 'hybrid'): Promise<{ metainfo: ParsedTorrent, bytes: Buffer, dataDir: string }> {
  const dataDir = join(dir, 'seed')
  const name = `fs-${randomBytes(4).toString('hex')}.bin`
  await randomFile(dataDir, name, size)
  const { bytes } = await createTorrent(join(dataDir, name), { version, pieceLength: 32 * 1024, sslCert: ca.certPem })
  return { metainfo: parseTorrent(bytes), bytes, dataDir }
}

export async function trackerFixture (t: Test, options: Partial<TrackerServerOptions> = {}): Promise<TrackerFixture> {
  const dir = await tempDir(t)
  const ca = await createSwarmCa('bttls test swarm CA')
  const { metainfo, bytes, dataDir } = await fullStrictTorrent(dir, ca)
  const dbFile = join(dir, 'tracker.db')
  const db = TrackerDb.open(dbFile)
  const server = await TrackerServer.start({ db, ca, torrents: [metainfo], ...options })
  t.teardown(async () => { await server.close(); db.close() })
  return { dir, ca, metainfo, torrentBytes: bytes, dataDir, dbFile, db, server }
}

export function peerId (): Buffer {
  return Buffer.concat([Buffer.from('-BT0001-'), randomBytes(12)])
}

/** One announce for the fixture's torrent, trusting the fixture's CA. */
export function announceTo (f: TrackerFixture, req: Partial<AnnounceRequest> & { passkey?: string }, url = f.server.announceUrl): Promise<AnnounceResponse> {
  return announce(url, { infoHash: f.metainfo.wireInfoHash, peerId: peerId(), port: 6881, ...req }, { ca: f.ca.certPem })
}
