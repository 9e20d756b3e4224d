/** Reads what a user names on the command line: a .torrent file or a magnet link. */
import { readFile, stat } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import { parseMagnet } from '../torrent/magnet.js'
import { DEFAULT_MAX_TORRENT_BYTES, parseTorrent } from '../torrent/parse-torrent.js'
import { BttlsError } from '../errors.js'
import type { MagnetLink } from '../torrent/metainfo.js'
import type { ParsedTorrent } from '../torrent/parsed-torrent.js'
import { UsageError } from './errors.js'

/** Commands import UsageError from here as well as from ./errors.js. */
export { UsageError }

export type TorrentInput = { kind: 'torrent', metainfo: ParsedTorrent } | { kind: 'magnet', magnet: MagnetLink }

export async function readTorrentInput (arg: string): Promise<TorrentInput> {
  if (arg.startsWith('magnet:')) return { kind: 'magnet', magnet: parseMagnet(arg) }
  if (/^https?:\/\//i.test(arg)) return { kind: 'torrent', metainfo: parseTorrent(await fetchTorrent(arg)) }
  return { kind: 'torrent', metainfo: parseTorrent(await readFile(arg)) }
}

/** A .torrent by URL: read at most the parser's size limit, within TORRENT_FETCH_TIMEOUT_MS. */
export const TORRENT_FETCH_TIMEOUT_MS = 30_000

async function fetchTorrent (url: string): Promise<Buffer> {
  const signal = AbortSignal.timeout(TORRENT_FETCH_TIMEOUT_MS)
  let response: Response
  try {
    response = await fetch(url, { signal, redirect: 'follow' })
  } catch (err) {
    const cause = (err as { cause?: { code?: string, message?: string } }).cause
    throw new TorrentFetchError(`${url}: ${(err as Error).name === 'TimeoutError' ? `no answer within ${TORRENT_FETCH_TIMEOUT_MS / 1000} s` : cause?.code ?? cause?.message ?? (err as Error).message}`)
  }
  if (!response.ok || response.body === null) throw new TorrentFetchError(`${url}: HTTP ${response.status} ${response.statusText}`)
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of response.body) {
      size += chunk.length
      if (size > DEFAULT_MAX_TORRENT_BYTES) throw new TorrentFetchError(`${url}: larger than ${DEFAULT_MAX_TORRENT_BYTES} bytes, not a .torrent`)
      chunks.push(Buffer.from(chunk))
    }
  } catch (err) {
    await response.body.cancel().catch(() => {})
    if (err instanceof TorrentFetchError) throw err
    throw new TorrentFetchError(`${url}: ${(err as Error).name === 'TimeoutError' ? `not received within ${TORRENT_FETCH_TIMEOUT_MS / 1000} s` : (err as Error).message}`)
  }
  return Buffer.concat(chunks)
}

/** A .torrent named by URL could not be fetched. */
export class TorrentFetchError extends BttlsError {
  override name = 'TorrentFetchError'
  readonly code = 'ERR_TORRENT_FETCH'
}

/**
 * `--data` may name the torrent's own file or directory, or the directory that holds it.
 * Returns the directory the store works in.
 */
export async function dataDirectory (dataPath: string, torrentName: string | undefined): Promise<string> {
  const full = resolve(dataPath)
  if (torrentName !== undefined && basename(full) === torrentName) {
    const info = await stat(full).catch(() => undefined)
    if (info !== undefined) return dirname(full)
  }
  return full
}

export function parsePeer (value: string, option = '--peer'): { host: string, port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:]+):(\d+)$/.exec(value)
  const port = m ? Number(m[2]) : NaN
  if (!m || !(port > 0 && port < 65536)) throw new UsageError(`${option} wants host:port (IPv6: [addr]:port), got "${value}"`)
  return { host: m[1]!, port }
}
