/** Reads what a user names on the command line: a .torrent file or a magnet link. */
import { readFile, stat } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import { parseMagnet } from '../torrent/magnet.js'
import { parseTorrent } from '../torrent/parse-torrent.js'
import type { MagnetLink, Metainfo } from '../torrent/metainfo.js'
import { UsageError } from './errors.js'

/** Commands import UsageError from here as well as from ./errors.js. */
export { UsageError }

export type TorrentInput = { kind: 'torrent', metainfo: Metainfo } | { kind: 'magnet', magnet: MagnetLink }

export async function readTorrentInput (arg: string): Promise<TorrentInput> {
  if (arg.startsWith('magnet:')) return { kind: 'magnet', magnet: parseMagnet(arg) }
  return { kind: 'torrent', metainfo: parseTorrent(await readFile(arg)) }
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

export function parsePeer (value: string): { host: string, port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:]+):(\d+)$/.exec(value)
  const port = m ? Number(m[2]) : NaN
  if (!m || !(port > 0 && port < 65536)) throw new UsageError(`--peer wants host:port, got "${value}"`)
  return { host: m[1]!, port }
}
