/**
 * The built-in decoy: a small static web site on node:http, the same HTTP server a stock Node HTTPS
 * server runs, with its default time bounds, so a prober gets the bytes and timing of one. It serves
 * the files under `root` (GET and HEAD only, nothing outside `root`, no symbolic links out of it), or
 * one default page when no root is configured.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createReadStream } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import { extname, join, resolve, sep } from 'node:path'
import type { Duplex } from 'node:stream'
import { DecoyVisits, DEFAULT_DECOY_LIMITS, type Decoy, type DecoyLimits } from './decoy.js'

export interface SiteDecoyOptions {
  /** Directory whose files are the site; absent: one default page at "/". */
  readonly root?: string
  readonly limits?: DecoyLimits
  /** Node's http.Server bounds; tests shorten them. Defaults are Node's own. */
  readonly headersTimeoutMs?: number
  readonly requestTimeoutMs?: number
  readonly keepAliveTimeoutMs?: number
}

/** Requests served on one connection before it is closed (nginx's keepalive_requests default is 1000). */
export const MAX_REQUESTS_PER_CONNECTION = 100
/** Largest request head accepted: Node's default, answered with 431 beyond it. */
export const MAX_HEADER_BYTES = 16_384

export const DEFAULT_PAGE = '<!DOCTYPE html>\n<html>\n<head><title>Welcome</title></head>\n<body>\n<p>It works.</p>\n</body>\n</html>\n'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css',
  '.js': 'text/javascript',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon'
}

export function siteDecoy (options: SiteDecoyOptions = {}): Decoy {
  const visits = new DecoyVisits(options.limits ?? DEFAULT_DECOY_LIMITS)
  const root = options.root === undefined ? undefined : resolve(options.root)
  const server = createServer({
    maxHeaderSize: MAX_HEADER_BYTES,
    ...(options.headersTimeoutMs !== undefined ? { headersTimeout: options.headersTimeoutMs } : {}),
    ...(options.requestTimeoutMs !== undefined ? { requestTimeout: options.requestTimeoutMs } : {}),
    ...(options.keepAliveTimeoutMs !== undefined ? { keepAliveTimeout: options.keepAliveTimeoutMs } : {}),
    connectionsCheckingInterval: Math.min(30_000, options.headersTimeoutMs ?? 30_000)
  }, (req, res) => {
    // node:http only says "Connection: close" on the response that reaches maxRequestsPerSocket and
    // keeps the connection open, answering each later request with a 503; made the last one here.
    if ((res as ServerResponse & { maxRequestsOnConnectionReached?: boolean }).maxRequestsOnConnectionReached === true) res.shouldKeepAlive = false
    void serve(root, req, res)
  })
  server.maxRequestsPerSocket = MAX_REQUESTS_PER_CONNECTION
  server.on('clientError', answerClientError)
  // node:http checks headersTimeout and requestTimeout from a timer it starts on 'listening'. The
  // decoy never listens (connections come from our TLS responder), so that timer is started the same way.
  server.emit('listening')
  return {
    take (socket: Duplex, received: Buffer): void {
      if (!visits.admit(socket)) return
      if (received.length > 0) socket.unshift(received)
      server.emit('connection', socket)
    },
    async close (): Promise<void> {
      visits.closeAll()
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

/** node:http's own answers to a request it cannot parse, byte for byte (lib/_http_server.js). */
const CLIENT_ERROR_ANSWERS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 'HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n',
  ERR_HTTP_REQUEST_TIMEOUT: 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n'
}
const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'

/**
 * What node:http does on a parse error, except that the socket is destroyed once the answer has been
 * written, not at once: destroying a TLS socket in the same turn sometimes lost the answer (seen with
 * ~1.3 KB binary requests), while a stock server's visitors always get it.
 */
function answerClientError (err: Error & { code?: string }, socket: Duplex): void {
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (socket.writable && inFlight?.headersSent !== true) {
    socket.write(CLIENT_ERROR_ANSWERS[err.code ?? ''] ?? BAD_REQUEST, () => socket.destroy())
  } else {
    socket.destroy()
  }
}

async function serve (root: string | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'Method Not Allowed\n', { Allow: 'GET, HEAD' })
      return
    }
    const path = requestPath(req.url ?? '/')
    if (path === undefined) { send(res, 400, 'Bad Request\n'); return }
    if (root === undefined) {
      if (path === '/' || path === '/index.html') send(res, 200, DEFAULT_PAGE, { 'Content-Type': TYPES['.html']! })
      else send(res, 404, 'Not Found\n')
      return
    }
    const file = await siteFile(root, path)
    if (file === undefined) { send(res, 404, 'Not Found\n'); return }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file.path).toLowerCase()] ?? 'application/octet-stream', 'Content-Length': file.size, 'Last-Modified': file.mtime.toUTCString() })
    if (req.method === 'HEAD') { res.end(); return }
    const stream = createReadStream(file.path)
    stream.on('error', () => res.destroy())
    stream.pipe(res)
  } catch {
    if (!res.headersSent) send(res, 500, 'Internal Server Error\n')
    else res.destroy()
  }
}

function send (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers, 'Content-Length': Buffer.byteLength(body) })
  res.end(res.req.method === 'HEAD' ? undefined : body)
}

/** The decoded path of a request target, or undefined when it cannot name a file ('..', NUL, bad escapes). */
export function requestPath (url: string): string | undefined {
  const raw = url.split('?')[0]!.split('#')[0]!
  if (!raw.startsWith('/')) return undefined
  let path: string
  try { path = decodeURIComponent(raw) } catch { return undefined }
  if (path.includes('\0') || path.includes('\\') || path.split('/').some(part => part === '..')) return undefined
  return path
}

/** The regular file a path names under root, following no link out of root; undefined if none. */
async function siteFile (root: string, path: string): Promise<{ path: string, size: number, mtime: Date } | undefined> {
  try {
    const realRoot = await realpath(root)
    let candidate = join(realRoot, path)
    if ((await stat(candidate)).isDirectory()) candidate = join(candidate, 'index.html')
    const real = await realpath(candidate)
    if (real !== realRoot && !real.startsWith(realRoot + sep)) return undefined
    const info = await stat(real)
    return info.isFile() ? { path: real, size: info.size, mtime: info.mtime } : undefined
  } catch {
    return undefined
  }
}
