/** The payload of the transfer benches: random bytes, so nothing on the path can compress or dedupe them. */
import { randomBytes } from 'node:crypto'
import { open } from 'node:fs/promises'

const MIB = 2 ** 20

/** Writes `sizeMiB` MiB of random data to `path`, 64 MiB at a time. */
export async function writeRandomPayload (path: string, sizeMiB: number): Promise<void> {
  const fh = await open(path, 'w')
  try {
    const chunk = 64 * MIB
    for (let left = sizeMiB * MIB; left > 0; left -= chunk) await fh.write(randomBytes(Math.min(chunk, left)))
  } finally {
    await fh.close()
  }
}
