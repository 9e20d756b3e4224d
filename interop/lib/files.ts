/** The payload every scenario moves, and the check every scenario ends with. */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'

/** Writes `size` random bytes (fresh per run, so no client can pass on a cached copy). */
export async function writeRandomFile (path: string, size: number): Promise<void> {
  const f = await open(path, 'w')
  try {
    for (let off = 0; off < size; off += 1 << 20) await f.write(randomBytes(Math.min(1 << 20, size - off)))
  } finally { await f.close() }
}

export async function sha256File (path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** sha256 of the downloaded copy against the source's; a missing file is a mismatch, not a crash. */
export async function sameBytes (path: string, expectedSha256: string): Promise<{ ok: boolean, detail: string }> {
  const s = await stat(path).catch(() => undefined)
  if (!s) return { ok: false, detail: `${path} does not exist` }
  const got = await sha256File(path)
  return got === expectedSha256 ? { ok: true, detail: got } : { ok: false, detail: `sha256 ${got.slice(0, 16)}… ≠ source ${expectedSha256.slice(0, 16)}… (${s.size} bytes)` }
}
