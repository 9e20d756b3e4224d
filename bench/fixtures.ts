/**
 * Small torrents at every level for the handshake, latency and scale benches, written once into a
 * temporary directory that both sides of a bench (parent and child process) read:
 *
 *   basic        a plain v1 torrent (every transport: TLS, MSE, plaintext)
 *   strict       Strict, secret mode; the .torrent carries the secret
 *   full-strict  Full Strict: a swarm CA in info["ssl-cert"], a peer certificate for each side
 *
 * Each torrent is one 16 KiB piece, so "the first verified block" and "the first verified piece" are
 * the same event and the latency bench measures the protocol, not the transfer.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createPeerKeyAndCsr, createSwarmCa, issuePeerCertificate } from '../src/pki/certificate-profile.js'
import { staticCertificateSource } from '../src/levels/full-strict/certificate-source.js'
import { secretCommitment } from '../src/levels/strict-keys.js'
import type { TorrentCredentials } from '../src/levels/credentials.js'
import { createTorrent } from '../src/torrent/create-torrent.js'
import { parseTorrent } from '../src/torrent/parse-torrent.js'
import type { Metainfo } from '../src/torrent/metainfo.js'

export type LevelKey = 'basic' | 'strict' | 'full-strict'
export const LEVELS: readonly LevelKey[] = ['basic', 'strict', 'full-strict']

export const PIECE_BYTES = 16 * 1024

export interface Fixture {
  /** Where the complete data of every torrent lives (a seeder's directory). */
  readonly seedDir: string
  readonly torrents: Record<LevelKey, string>
  /** Full Strict peer certificates: one per side, both issued by the torrent's swarm CA. */
  readonly certificates: { readonly server: { certPem: string, keyPem: string }, readonly client: { certPem: string, keyPem: string } }
}

export async function createFixture (dir: string): Promise<string> {
  const seedDir = join(dir, 'seed')
  await mkdir(seedDir, { recursive: true })
  const ca = await createSwarmCa('bench swarm CA', 2)
  const secret = randomBytes(32)
  const torrents = {} as Record<LevelKey, string>
  let fullStrict: Metainfo | undefined
  for (const level of LEVELS) {
    const file = join(seedDir, `${level}.bin`)
    await writeFile(file, randomBytes(PIECE_BYTES))
    const { bytes } = await createTorrent(file, {
      version: 'v1',
      pieceLength: PIECE_BYTES,
      ...(level === 'strict' ? { strict: { info: { mode: 'secret', commitment: secretCommitment(secret) }, secret } } : {}),
      ...(level === 'full-strict' ? { sslCert: ca.certPem } : {})
    })
    torrents[level] = join(dir, `${level}.torrent`)
    await writeFile(torrents[level], bytes)
    if (level === 'full-strict') fullStrict = parseTorrent(bytes)
  }
  const issue = async (name: string): Promise<{ certPem: string, keyPem: string }> => {
    const { keyPem, csrDer } = await createPeerKeyAndCsr(name)
    const { certPem } = await issuePeerCertificate({ ca, csrDer, torrent: fullStrict!, lifetimeSeconds: 86_400 })
    return { certPem, keyPem }
  }
  const fixture: Fixture = { seedDir, torrents, certificates: { server: await issue('bench server'), client: await issue('bench client') } }
  const path = join(dir, 'fixture.json')
  await writeFile(path, JSON.stringify(fixture))
  return path
}

export async function loadFixture (path: string): Promise<Fixture> {
  return JSON.parse(await readFile(path, 'utf8')) as Fixture
}

export async function loadTorrent (fixture: Fixture, level: LevelKey): Promise<Metainfo> {
  return parseTorrent(await readFile(fixture.torrents[level]))
}

/** What a side needs to join the torrent at its level (the Strict secret travels in the .torrent). */
export function credentialsFor (fixture: Fixture, level: LevelKey, side: 'server' | 'client'): TorrentCredentials {
  return level === 'full-strict' ? { certificates: staticCertificateSource(fixture.certificates[side]) } : {}
}
