/**
 * An HTTPS server standing where the update server should be: a compromised mirror, a replaying
 * attacker, a man in the middle. It serves a copy of a repository's files, with answers the test
 * chooses for some paths.
 */
import { createServer } from 'node:https'
import { createReadStream } from 'node:fs'
import { cp, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

export type Answer = Buffer | 'endless' | 'stall' | 'not-found'

export interface MirrorOptions {
  readonly cert: string
  readonly key: string
  /** A repository directory (metadata/, releases/) served for paths without an override. */
  readonly dir: string
  readonly override?: (path: string) => Answer | undefined
}

export async function mirror (t: Test, o: MirrorOptions): Promise<{ url: string, requests: string[] }> {
  const requests: string[] = []
  const server = createServer({ cert: o.cert, key: o.key }, (req, res) => {
    const path = new URL(req.url ?? '/', 'https://x').pathname
    requests.push(path)
    const answer = o.override?.(path)
    if (answer === 'stall') return // never answers
    if (answer === 'endless') {
      res.writeHead(200) // chunked, no length: the client must count
      const chunk = Buffer.alloc(64 * 1024, 0x41)
      const pump = (): void => { while (!res.destroyed && res.write(chunk)); if (!res.destroyed) res.once('drain', pump) }
      pump()
      return
    }
    if (answer === 'not-found') { res.writeHead(404).end(); return }
    if (answer !== undefined) { res.writeHead(200, { 'content-length': answer.length }).end(answer); return }
    const m = /^\/(metadata|targets)\/(.+)$/.exec(path)
    const file = m === null ? undefined : join(o.dir, m[1] === 'metadata' ? 'metadata' : 'releases', decodeURIComponent(m[2]!))
    void (file === undefined ? Promise.resolve(undefined) : stat(file).catch(() => undefined)).then(info => {
      if (file === undefined || info === undefined || !info.isFile()) { res.writeHead(404).end(); return }
      res.writeHead(200, { 'content-length': info.size })
      createReadStream(file).pipe(res)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, requests }
}

/** Copy a repository's metadata and releases as they are now (an attacker's recording, to replay later). */
export async function record (repo: string, to: string): Promise<string> {
  await cp(join(repo, 'metadata'), join(to, 'metadata'), { recursive: true })
  await cp(join(repo, 'releases'), join(to, 'releases'), { recursive: true })
  return to
}
