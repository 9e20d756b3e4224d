/**
 * A stock Node HTTPS server, as its own process: node:https (HTTP/1.1) or node:http2's secure server
 * (h2 only, the default), with nothing but the key and certificate set, so what the harness measures
 * and probes is Node's default behaviour. Serves the files of one directory at /<name>, and its
 * index.html at /. Prints {"event":"listening","port":N} on stdout.
 *
 *   node dist/bench/wire-image/https-server.js '{"protocol":"h1","host":"127.0.0.1","port":29400,"certFile":…,"keyFile":…,"dir":…}'
 */
import { createReadStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import http2 from 'node:http2'
import https from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { basename, join } from 'node:path'
import { emit } from '../json-child.js'

export interface HttpsServerArgs {
  readonly protocol: 'h1' | 'h2'
  readonly host: string
  readonly port: number
  readonly certFile: string
  readonly keyFile: string
  readonly dir: string
}

type Request = IncomingMessage | http2.Http2ServerRequest
type Response = ServerResponse | http2.Http2ServerResponse

function handler (dir: string) {
  return (req: Request, res: Response): void => {
    const url = req.url ?? '/'
    const name = url === '/' ? 'index.html' : basename(url) // basename: nothing outside `dir`
    const file = join(dir, name)
    stat(file).then(s => {
      res.writeHead(200, { 'content-type': name.endsWith('.html') ? 'text/html' : 'application/octet-stream', 'content-length': s.size })
      createReadStream(file).pipe(res as NodeJS.WritableStream)
    }, () => {
      res.writeHead(404, { 'content-type': 'text/plain' })
      res.end('not found\n')
    })
  }
}

async function main (): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '') as HttpsServerArgs
  const options = { key: await readFile(args.keyFile), cert: await readFile(args.certFile) }
  const server = args.protocol === 'h1'
    ? https.createServer(options, handler(args.dir))
    : http2.createSecureServer(options, handler(args.dir))
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(args.port, args.host, resolve) })
  emit('listening', { port: args.port, protocol: args.protocol })
  const stop = (): void => { server.close(); process.exit(0) }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch(err => {
  emit('error', { message: (err as Error).stack ?? String(err) })
  process.exit(1)
})
