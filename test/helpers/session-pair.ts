/** Helpers to run real sessions on loopback with real files. */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { encodeBencode } from '../../src/codec/bencode.js'
import { Session, type SessionOptions, type TorrentHandle } from '../../src/session/session.js'
import type { Swarm } from '../../src/swarm/swarm.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'

export async function tempDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bttls-test-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A file of random bytes at dir/name; returns its sha256. */
export async function randomFile (dir: string, name: string, size: number): Promise<string> {
  await mkdir(dir, { recursive: true })
  const data = randomBytes(size)
  await writeFile(join(dir, name), data)
  return sha256(data)
}

export function sha256 (data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

export async function fileSha256 (path: string): Promise<string> {
  return sha256(await readFile(path))
}

export async function session (t: Test, options: SessionOptions = {}): Promise<Session> {
  const s = await Session.start({ swarm: { chokeIntervalMs: 200 }, ...options })
  t.teardown(() => s.close())
  return s
}

/**
 * A session on 127.0.0.1 leeching a v1 torrent of `pieces` random piece hashes (no data: nothing it is
 * sent can verify), with no PEX or trackers; `closes` maps each closed peer's address to its error.
 * What hostile-client tests attack.
 */
export async function hashesOnlyLeecher (t: Test, pieces: number, pieceLength: number): Promise<{ leecher: Session, handle: TorrentHandle, closes: Map<string, Error | undefined> }> {
  const info = { length: pieces * pieceLength, name: Buffer.from('big.bin'), 'piece length': pieceLength, pieces: randomBytes(20 * pieces) }
  const leecher = await session(t, { host: '127.0.0.1', policy: 'prefer-tls', pex: false, trackers: false })
  const handle = await leecher.addTorrent(parseTorrent(encodeBencode({ info })), await tempDir(t))
  const closes = new Map<string, Error | undefined>()
  handle.swarm.on('peer-closed', (peer, error) => closes.set(peer.address, error))
  return { leecher, handle, closes }
}

export function completed (swarm: Swarm, timeoutMs = 30_000): Promise<void> {
  if (swarm.complete) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not complete within ${timeoutMs} ms: ${JSON.stringify(swarm.stats())}`)), timeoutMs)
    swarm.once('complete', () => { clearTimeout(timer); resolve() })
  })
}
