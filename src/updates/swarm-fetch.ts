/**
 * Fetch a release through its bttls swarm. The release torrent is at the Strict publisher level and
 * the updater requires the publisher: only peers that prove, inside TLS, that they hold the publisher
 * key the signed magnet names are talked to, so a stranger who learned the torrent cannot serve it.
 * Whatever arrives is checked piece by piece by the swarm (the infohash is signed), then as a whole
 * by the caller against the signed length and SHA-256.
 * Bounded: the swarm is given up when it delivers no data for `idleMs` (stalling, refusing or absent
 * peers), and the caller falls back to HTTPS.
 */
import { join } from 'node:path'
import { Session, type SessionOptions } from '../session/session.js'
import type { MagnetLink } from '../torrent/metainfo.js'
import { SwarmDownloadError, TargetMismatchError } from './errors.js'

/** Default bound: the swarm must deliver some data at least this often, or the fallback is used. */
export const DEFAULT_SWARM_IDLE_MS = 20_000

export interface SwarmFetchOptions {
  readonly magnet: MagnetLink
  /** Where the file is written (a fresh staging directory). */
  readonly dir: string
  /** The publisher's seeds (and any peers the user names). */
  readonly peers: ReadonlyArray<{ host: string, port: number }>
  /** The signed length: metadata describing anything else is refused before a byte is fetched. */
  readonly length: number
  readonly idleMs?: number
  readonly session?: SessionOptions
  /** A peer failed or was refused (for the update log). */
  readonly onPeerError?: (peer: string, error: Error) => void
}

/** Resolves with the path of the downloaded file once every piece verified. */
export async function fetchFromSwarm (o: SwarmFetchOptions): Promise<string> {
  const idleMs = o.idleMs ?? DEFAULT_SWARM_IDLE_MS
  if (o.peers.length === 0) throw new SwarmDownloadError('no seed of the release to connect to')
  const session = await Session.start({ host: '127.0.0.1', port: 0, pex: false, trackers: false, ...o.session })
  const errors = new Map<string, string>()
  const note = (peer: string, error: Error): void => { errors.set(peer, `${error.name}: ${error.message}`); o.onPeerError?.(peer, error) }
  session.on('dial-failed', ({ host, port, error }) => {
    const last = error.attempts.at(-1)?.error ?? error
    note(`${host}:${port}`, last)
  })
  session.on('refused', r => note(`${r.remoteAddress}:${r.remotePort}`, r.error))
  session.on('link', link => { void link.closed.then(err => { if (err !== undefined) note(`${link.remoteAddress}:${link.remotePort}`, err) }) })
  try {
    const handle = session.addMagnet(o.magnet, o.dir, { requirePublisher: true })
    const { swarm } = handle
    const dialAll = (): void => { for (const p of o.peers) void session.connect(handle, p.host, p.port) }
    dialAll()
    await new Promise<void>((resolve, reject) => {
      let last = -1
      let since = Date.now()
      const fail = (err: Error): void => { clearInterval(watchdog); reject(err) }
      swarm.whenComplete().then(() => { clearInterval(watchdog); resolve() }, fail)
      const watchdog = setInterval(() => {
        const m = swarm.metainfo
        if (m !== undefined) {
          const files = m.files.filter(f => !f.pad)
          const total = files.reduce((a, f) => a + f.length, 0)
          if (files.length !== 1 || total !== o.length) {
            fail(new TargetMismatchError(`the release torrent holds ${files.length} file(s), ${total} bytes; the signed target is one file of ${o.length}`))
            return
          }
        }
        const s = swarm.stats()
        const progress = s.downloaded + (m !== undefined ? 1 : 0)
        if (progress !== last) { last = progress; since = Date.now() }
        if (Date.now() - since >= idleMs) {
          const why = [...errors].map(([p, e]) => `${p} ${e}`)
          if (s.hashFailures > 0) why.unshift(`${s.hashFailures} piece(s) failed their hash check`)
          fail(new SwarmDownloadError(`no data from the swarm for ${idleMs} ms${why.length > 0 ? ` (${why.join('; ')})` : ''}`))
          return
        }
        // Seeds that were not up yet, or dropped us: dial them again (connect() shares live links).
        if (s.peers === 0) dialAll()
      }, Math.max(20, Math.min(500, idleMs / 4)))
      watchdog.unref()
    })
    const name = swarm.metainfo!.files.find(f => !f.pad)!.path.join('/')
    return join(o.dir, name)
  } finally {
    await session.close()
  }
}
