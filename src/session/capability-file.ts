/**
 * The capability memory across restarts (docs/design.md, "Capability memory across restarts"): a
 * text file the session reads at start and writes at close, so a restart is not a new first contact
 * for peers already reached over bttls.
 *
 *   bttls capability memory 1
 *   <address> <listen port> <source> <expires, unix seconds>
 *   ...
 *
 * Only first-hand knowledge is saved (a TLS link, or the peer's own BEP 10 key): claims by third
 * parties (PEX, trackers) live for the session only, so a false claim cannot outlive a restart.
 * Bounds: at most MAX_FILE_BYTES read, MAX_ENTRIES kept (the latest expiries), expiries capped at one
 * lifetime from now; lines that do not parse are skipped and counted. The file is written to a
 * temporary name with mode 0600 and renamed over the old one, so a crash leaves the old or the new file.
 * If stolen, it lists the endpoints this client reached over bttls in the last lifetime (30 days):
 * addresses and ports, not torrents.
 */
import { open, rename, writeFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { BttlsError } from '../errors.js'
import type { CapabilityCache, CapabilitySource } from './capability-cache.js'

export const CAPABILITY_FILE_HEADER = 'bttls capability memory 1'
export const MAX_FILE_BYTES = 1 << 20
export const MAX_ENTRIES = 10_000
/** What a saved entry may say it learned from: first-hand knowledge only. */
const SAVED_SOURCES: readonly CapabilitySource[] = ['tls-link', 'extended-handshake']

/** The capability file cannot be used: unreadable, too large, or not a capability file. */
export class CapabilityFileError extends BttlsError {
  override name = 'CapabilityFileError'
  readonly code = 'ERR_CAPABILITY_FILE'
}

/** Loads `path` into `cache`; a missing file is an empty memory. Returns how many lines were skipped. */
export async function readCapabilityFile (path: string, cache: CapabilityCache): Promise<{ restored: number, skipped: number }> {
  let text: string
  try {
    const fh = await open(path, 'r')
    try {
      const buf = Buffer.alloc(MAX_FILE_BYTES + 1)
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0)
      if (bytesRead > MAX_FILE_BYTES) throw new CapabilityFileError(`${path}: larger than ${MAX_FILE_BYTES} bytes`)
      text = buf.subarray(0, bytesRead).toString('utf8')
    } finally { await fh.close() }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { restored: 0, skipped: 0 }
    if (err instanceof CapabilityFileError) throw err
    throw new CapabilityFileError(`${path}: ${(err as Error).message}`, { cause: err })
  }
  const lines = text.split('\n')
  if (lines[0] !== CAPABILITY_FILE_HEADER) throw new CapabilityFileError(`${path}: not a capability memory file (first line "${(lines[0] ?? '').slice(0, 40)}")`)
  let restored = 0
  let skipped = 0
  for (const line of lines.slice(1)) {
    if (line === '') continue
    const entry = parseLine(line)
    if (entry === undefined || restored >= MAX_ENTRIES) { skipped++; continue }
    cache.restore(entry.host, entry.port, entry.source, entry.expires * 1000)
    restored++
  }
  return { restored, skipped }
}

/** Writes the first-hand entries of `cache` to `path` (atomically, mode 0600). */
export async function writeCapabilityFile (path: string, cache: CapabilityCache): Promise<number> {
  const entries = [...cache.snapshot()]
    .filter(e => SAVED_SOURCES.includes(e.source) && isIP(e.host) !== 0)
    .sort((a, b) => b.expires - a.expires)
    .slice(0, MAX_ENTRIES)
  const body = [CAPABILITY_FILE_HEADER, ...entries.map(e => `${e.host} ${e.port} ${e.source} ${Math.floor(e.expires / 1000)}`)].join('\n') + '\n'
  const tmp = `${path}.${process.pid}.tmp`
  try {
    await writeFile(tmp, body, { mode: 0o600 })
    await rename(tmp, path)
  } catch (err) {
    throw new CapabilityFileError(`${path}: ${(err as Error).message}`, { cause: err })
  }
  return entries.length
}

function parseLine (line: string): { host: string, port: number, source: CapabilitySource, expires: number } | undefined {
  const parts = line.split(' ')
  if (parts.length !== 4) return undefined
  const [host, portText, source, expiresText] = parts as [string, string, string, string]
  const port = Number(portText)
  const expires = Number(expiresText)
  if (isIP(host) === 0 || !/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) return undefined
  if (!(SAVED_SOURCES as readonly string[]).includes(source) || !/^\d{1,12}$/.test(expiresText)) return undefined
  return { host, port, source: source as CapabilitySource, expires }
}
