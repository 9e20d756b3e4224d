/**
 * The reference HTTPS clients, each used as it ships: curl, node:https's request, node:http2's
 * connect, and openssl s_client (for its hello only). "example.com" means the client is told the
 * name and reaches 127.0.0.1 through it (curl --resolve, Node's servername), so it sends an SNI;
 * "ip" means https://127.0.0.1:PORT, no SNI, as bttls dials a peer.
 */
import { execFile } from 'node:child_process'
import http2 from 'node:http2'
import https from 'node:https'
import { promisify } from 'node:util'
import type { HttpsVariant } from './plan.js'

const exec = promisify(execFile)

export interface Download { readonly bytes: number, readonly status: number }

export const CLIENT_TIMEOUT_MS = 60_000

export async function curlDownload (port: number, path: string, name: HttpsVariant['name']): Promise<Download> {
  const url = name === 'ip' ? `https://127.0.0.1:${port}${path}` : `https://example.com:${port}${path}`
  const resolve = name === 'ip' ? [] : ['--resolve', `example.com:${port}:127.0.0.1`]
  const { stdout } = await exec('curl', ['-sS', '-k', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', '--max-time', String(CLIENT_TIMEOUT_MS / 1000), ...resolve, url], { timeout: CLIENT_TIMEOUT_MS + 5000 })
  const [status, bytes] = stdout.trim().split(' ').map(Number) as [number, number]
  return { status, bytes }
}

export interface NodeTlsOptions {
  readonly name: HttpsVariant['name']
  /** ALPN to offer (node:https offers none unless told). */
  readonly alpn?: string[]
}

/** One GET with node:https, counting the body's bytes. */
function httpsGet (options: https.RequestOptions & { ALPNProtocols?: string[] }, what: string): Promise<Download> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', rejectUnauthorized: false, timeout: CLIENT_TIMEOUT_MS, ...options }, res => {
      let bytes = 0
      res.on('data', (d: Buffer) => { bytes += d.length })
      res.on('end', () => resolve({ bytes, status: res.statusCode ?? 0 }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`${what}: timed out`)))
    req.on('error', reject)
    req.end()
  })
}

export function nodeHttpsDownload (port: number, path: string, o: NodeTlsOptions): Promise<Download> {
  return httpsGet({
    port,
    path,
    agent: false, // one connection per download, as curl does
    ...(o.name === 'ip' ? {} : { servername: 'example.com', headers: { host: 'example.com' } }),
    ...(o.alpn !== undefined ? { ALPNProtocols: o.alpn } : {})
  }, 'node https')
}

export function nodeHttp2Download (port: number, path: string, o: NodeTlsOptions): Promise<Download> {
  return new Promise((resolve, reject) => {
    const authority = o.name === 'ip' ? `https://127.0.0.1:${port}` : `https://example.com:${port}`
    const session = http2.connect(authority, { rejectUnauthorized: false, ...(o.name === 'ip' ? {} : { host: '127.0.0.1', servername: 'example.com' }) })
    const timer = setTimeout(() => { session.destroy(new Error('node http2: timed out')) }, CLIENT_TIMEOUT_MS)
    const fail = (err: Error): void => { clearTimeout(timer); session.destroy(); reject(err) }
    session.on('error', fail)
    const stream = session.request({ ':path': path })
    let status = 0
    let bytes = 0
    stream.on('response', headers => { status = Number(headers[':status'] ?? 0) })
    stream.on('data', (d: Buffer) => { bytes += d.length })
    stream.on('end', () => { clearTimeout(timer); session.close(); resolve({ bytes, status }) })
    stream.on('error', fail)
    stream.end()
  })
}

/** openssl s_client's handshake, then EOF on stdin: its ClientHello is what the harness wants. */
export async function opensslHello (port: number, name: HttpsVariant['name']): Promise<void> {
  const sni = name === 'ip' ? [] : ['-servername', 'example.com']
  await exec('sh', ['-c', `openssl s_client -connect 127.0.0.1:${port} ${sni.join(' ')} </dev/null >/dev/null 2>&1`], { timeout: 20_000 }).catch(() => {})
}

/**
 * A browser's request headers (Chromium 131 on Linux, as its network log shows them), so a page visit's
 * requests are the size a browser's are (500 to 700 bytes over HTTP/1.1), not a tool's 80 to 110.
 */
const BROWSER_HEADERS: Readonly<Record<string, string>> = {
  'sec-ch-ua': '"Chromium";v="131", "Not_A Brand";v="24"',
  'sec-ch-ua-mobile': '?0',
  'sec-ch-ua-platform': '"Linux"',
  'upgrade-insecure-requests': '1',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7',
  'sec-fetch-site': 'none',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-user': '?1',
  'sec-fetch-dest': 'document',
  'accept-encoding': 'gzip, deflate, br, zstd',
  'accept-language': 'en-US,en;q=0.9'
}

/** The headers of the page's download link, followed from the page (same origin, with a referer). */
function downloadHeaders (origin: string, page: string): Record<string, string> {
  return { ...BROWSER_HEADERS, 'sec-fetch-site': 'same-origin', referer: `${origin}${page}` }
}

/** A visit to a download page over HTTP/1.1: the page, then the file on the same keep-alive connection. */
export async function pageVisitH1 (port: number, page: string, file: string, name: HttpsVariant['name']): Promise<Download> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 })
  const origin = name === 'ip' ? `https://127.0.0.1:${port}` : `https://example.com:${port}`
  const get = (path: string, headers: Record<string, string>): Promise<Download> => httpsGet({
    port,
    path,
    agent,
    ALPNProtocols: ['h2', 'http/1.1'], // a browser's list
    ...(name === 'ip' ? {} : { servername: 'example.com' }),
    headers: { host: name === 'ip' ? `127.0.0.1:${port}` : 'example.com', ...headers }
  }, 'page visit')
  try {
    const shown = await get(page, BROWSER_HEADERS)
    if (shown.status !== 200) return shown
    return await get(file, downloadHeaders(origin, page))
  } finally {
    agent.destroy()
  }
}

/** The same visit over HTTP/2: two streams, one after the other, on one session. */
export function pageVisitH2 (port: number, page: string, file: string, name: HttpsVariant['name']): Promise<Download> {
  return new Promise((resolve, reject) => {
    const origin = name === 'ip' ? `https://127.0.0.1:${port}` : `https://example.com:${port}`
    const session = http2.connect(origin, { rejectUnauthorized: false, ...(name === 'ip' ? {} : { host: '127.0.0.1', servername: 'example.com' }) })
    const timer = setTimeout(() => { session.destroy(new Error('page visit h2: timed out')) }, CLIENT_TIMEOUT_MS)
    const fail = (err: Error): void => { clearTimeout(timer); session.destroy(); reject(err) }
    session.on('error', fail)
    const get = (path: string, headers: Record<string, string>, then: (d: Download) => void): void => {
      const stream = session.request({ ':path': path, ...headers })
      let status = 0
      let bytes = 0
      stream.on('response', h => { status = Number(h[':status'] ?? 0) })
      stream.on('data', (d: Buffer) => { bytes += d.length })
      stream.on('end', () => then({ bytes, status }))
      stream.on('error', fail)
      stream.end()
    }
    get(page, BROWSER_HEADERS, shown => {
      const done = (d: Download): void => { clearTimeout(timer); session.close(); resolve(d) }
      if (shown.status !== 200) done(shown)
      else get(file, downloadHeaders(origin, page), done)
    })
  })
}
