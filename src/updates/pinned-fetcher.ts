/**
 * How the updater fetches metadata and fallback files: HTTPS with the certificate verified (CA chain
 * and host name, as node:tls does) and, when pins are given, one key of the chain matching a pin
 * (RFC 7469 semantics), so a certificate from a compromised or coerced CA is refused; or a local
 * directory (an update by hand: the repository copied onto removable media).
 * Every read is bounded: at most `maxLength` bytes (TUF gives one for each file) and `timeoutMs`
 * without progress. tuf-js needs its own DownloadHTTPError for a 404: it ends the walk of the root chain.
 */
import { request } from 'node:https'
import { X509Certificate, createHash } from 'node:crypto'
// Giving `ca` replaces Node's CA store: it is added back (rootCertificates), so a public CA still verifies.
import { checkServerIdentity, rootCertificates, type DetailedPeerCertificate, type PeerCertificate } from 'node:tls'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pipeline } from 'node:stream/promises'
import { Transform, type Readable } from 'node:stream'
import type { Fetcher } from 'tuf-js'
import { DownloadHTTPError } from 'tuf-js/dist/error.js'
import { DownloadTooLongError, PinMismatchError, RepositoryUnreachableError } from './errors.js'

/** Default bound on a fetch without progress (connect, TLS, headers, each chunk). */
export const DEFAULT_FETCH_TIMEOUT_MS = 15_000

export interface PinnedFetcherOptions {
  /** SPKI SHA-256 pins (raw 32 bytes); empty: the CA chain and the host name alone decide. */
  readonly pins?: readonly Buffer[]
  /** Certificates (PEM) trusted besides Node's CA store (e.g. the publisher's own CA). */
  readonly ca?: readonly string[]
  readonly timeoutMs?: number
}

/** The chain's certificates, leaf first, as node:tls hands them to checkServerIdentity. */
function chainOf (cert: PeerCertificate): PeerCertificate[] {
  const chain: PeerCertificate[] = []
  let c: PeerCertificate | undefined = cert
  while (c !== undefined && !chain.some(x => x.fingerprint256 === c!.fingerprint256)) {
    chain.push(c)
    c = (c as DetailedPeerCertificate).issuerCertificate
  }
  return chain
}

export class PinnedFetcher implements Fetcher {
  private readonly timeoutMs: number

  constructor (private readonly options: PinnedFetcherOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS
  }

  async downloadBytes (url: string, maxLength: number): Promise<Buffer> {
    return await this.downloadFile(url, maxLength, async file => {
      const chunks: Buffer[] = []
      for await (const c of createReadStream(file)) chunks.push(c as Buffer)
      return Buffer.concat(chunks)
    })
  }

  /** Download to a private temporary file, hand it to `handler`, delete it whatever happens. */
  async downloadFile<T> (url: string, maxLength: number, handler: (file: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(tmpdir(), 'bttls-fetch-'))
    const file = join(dir, 'download')
    try {
      await pipeline(await this.open(url, maxLength), bounded(url, maxLength), createWriteStream(file, { mode: 0o600 }))
      return await handler(file)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }

  private async open (url: string, maxLength: number): Promise<Readable> {
    const u = new URL(url)
    if (u.protocol === 'file:') return await this.openFile(u, maxLength)
    if (u.protocol !== 'https:') throw new RepositoryUnreachableError(`${url}: only https: and local repositories are accepted`)
    return await new Promise<Readable>((resolve, reject) => {
      const pins = this.options.pins ?? []
      const req = request(u, {
        method: 'GET',
        ...(this.options.ca !== undefined && this.options.ca.length > 0 ? { ca: [...rootCertificates, ...this.options.ca] } : {}),
        minVersion: 'TLSv1.2',
        agent: false,
        checkServerIdentity: (host, cert) => {
          const wrongName = checkServerIdentity(host, cert)
          if (wrongName !== undefined) return wrongName
          if (pins.length === 0) return undefined
          const keys = chainOf(cert).map(c => createHash('sha256').update(new X509Certificate(c.raw).publicKey.export({ type: 'spki', format: 'der' })).digest())
          if (keys.some(k => pins.some(p => p.equals(k)))) return undefined
          return new PinMismatchError(`${host}: no key of the server's certificate chain matches a pinned SPKI SHA-256 (chain: ${keys.map(k => k.toString('base64')).join(', ')})`)
        }
      }, res => {
        const status = res.statusCode ?? 0
        if (status !== 200) {
          res.resume()
          reject(new DownloadHTTPError(`${url}: HTTP ${status}`, status))
          return
        }
        const declared = Number(res.headers['content-length'])
        if (Number.isFinite(declared) && declared > maxLength) {
          res.destroy()
          reject(new DownloadTooLongError(`${url}: the server announces ${declared} bytes, more than the ${maxLength} expected`))
          return
        }
        res.setTimeout(this.timeoutMs, () => res.destroy(new RepositoryUnreachableError(`${url}: no data for ${this.timeoutMs} ms`)))
        resolve(res)
      })
      req.setTimeout(this.timeoutMs, () => req.destroy(new RepositoryUnreachableError(`${url}: no answer within ${this.timeoutMs} ms`)))
      req.on('error', err => {
        if (err instanceof PinMismatchError || err instanceof RepositoryUnreachableError) reject(err)
        else reject(new RepositoryUnreachableError(`${url}: ${err.message}`, { cause: err }))
      })
      req.end()
    })
  }

  private async openFile (u: URL, maxLength: number): Promise<Readable> {
    const path = fileURLToPath(u)
    const info = await stat(path).catch(() => undefined)
    if (info === undefined || !info.isFile()) throw new DownloadHTTPError(`${path}: not found`, 404)
    if (info.size > maxLength) throw new DownloadTooLongError(`${path}: ${info.size} bytes, more than the ${maxLength} expected`)
    return createReadStream(path)
  }
}

/** Pass at most `maxLength` bytes; one more is endless data, and ends the download. */
function bounded (url: string, maxLength: number): Transform {
  let seen = 0
  return new Transform({
    transform (chunk: Buffer, _enc, done) {
      seen += chunk.length
      if (seen > maxLength) done(new DownloadTooLongError(`${url}: more than the ${maxLength} bytes expected`))
      else done(null, chunk)
    }
  })
}

/** A repository location as the user gives it: an https URL, or a local directory (turned into a file: URL). */
export function repositoryUrl (location: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) return location.replace(/\/+$/, '')
  return new URL(`file://${resolve(location).split(sep).map(encodeURIComponent).join('/')}`).href.replace(/\/+$/, '')
}
