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

export function nodeHttpsDownload (port: number, path: string, o: NodeTlsOptions): Promise<Download> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1',
      port,
      path,
      agent: false, // one connection per download, as curl does
      rejectUnauthorized: false,
      timeout: CLIENT_TIMEOUT_MS,
      ...(o.name === 'ip' ? {} : { servername: 'example.com', headers: { host: 'example.com' } }),
      ...(o.alpn !== undefined ? { ALPNProtocols: o.alpn } : {})
    }, res => {
      let bytes = 0
      res.on('data', (d: Buffer) => { bytes += d.length })
      res.on('end', () => resolve({ bytes, status: res.statusCode ?? 0 }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('node https: timed out')))
    req.on('error', reject)
    req.end()
  })
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
