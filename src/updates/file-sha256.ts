/** SHA-256 of a file, streamed (releases can be larger than memory should hold). */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'

export async function fileSha256 (file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}
