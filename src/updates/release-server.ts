/**
 * The publisher's update server: HTTPS for the TUF metadata, the fallback files and the seed list,
 * and a bttls session seeding every release as the Strict publisher (so clients that require the
 * publisher accept it). It holds only online keys (timestamp, snapshot, seed): it re-signs the
 * timestamp before it expires, and follows the signed targets while it runs: it seeds the torrents
 * they name (a new release, or every release remade for a new seed key) with the seed key they name,
 * and stops seeding torrents they no longer name.
 * Every request and every publication is logged (the `log` callback, and REPO/release.log).
 */
import { createServer, type Server } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createReadStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { Session, type SessionOptions, type TorrentHandle } from '../session/session.js'
import { parseTorrent } from '../torrent/parse-torrent.js'
import { JsonLinesLog, type LogEntry } from './json-lines-log.js'
import { listReleases, refreshTimestamp, repositoryPaths } from './release-repository.js'
import { seedKeyFor } from './seed-key.js'
import { isReleaseVersion } from './release-target.js'
import { encodePeerList, SEEDS_PATH } from './seeds.js'
import { spkiPin } from './spki-pin.js'

/** How often the server looks for new releases and for a timestamp due to be re-signed. */
export const DEFAULT_RESCAN_MS = 5_000
/** Time bound of an HTTPS request (headers and body) from a client. */
const REQUEST_TIMEOUT_MS = 30_000
const SAFE_COMPONENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/

export interface ReleaseServerOptions {
  readonly repo: string
  /** HTTPS listening address and port (default 127.0.0.1, any free port). */
  readonly host?: string
  readonly port?: number
  /** The bttls peer port (default any free port). */
  readonly peerPort?: number
  /** Where clients reach the seeds, when not at host:peerPort (port forwarding, NAT, a proxy). */
  readonly advertiseHost?: string
  readonly advertisePort?: number
  /** The certificate HTTPS presents (default REPO/https/cert.pem and key.pem). */
  readonly certificate?: { readonly cert: string, readonly key: string }
  readonly rescanMs?: number
  readonly session?: SessionOptions
  readonly onLog?: (entry: LogEntry & { time: string }) => void
}

export class ReleaseServer {
  /** What the session seeds, by hex infohash. */
  private seeded = new Map<string, TorrentHandle>()
  private timer: NodeJS.Timeout | undefined
  private scanning: Promise<void> = Promise.resolve()

  private constructor (
    private readonly o: ReleaseServerOptions,
    private readonly https: Server,
    private swarmSession: Session,
    private readonly log: JsonLinesLog,
    /** SPKI pin (base64) of the HTTPS certificate. */
    readonly pin: string
  ) {}

  static async start (o: ReleaseServerOptions): Promise<ReleaseServer> {
    const paths = repositoryPaths(o.repo)
    const certificate = o.certificate ?? { cert: await readFile(join(paths.https, 'cert.pem'), 'utf8'), key: await readFile(join(paths.https, 'key.pem'), 'utf8') }
    const log = new JsonLinesLog(paths.log, o.onLog)
    const session = await Session.start({ host: o.host ?? '127.0.0.1', port: o.peerPort ?? 0, pex: false, trackers: false, ...o.session })
    let server: ReleaseServer | undefined
    const https = createServer({ cert: certificate.cert, key: certificate.key, minVersion: 'TLSv1.2', requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS },
      (req, res) => { void server!.handle(req, res) })
    try {
      await new Promise<void>((resolve, reject) => {
        https.once('error', reject)
        https.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => { https.off('error', reject); resolve() })
      })
    } catch (err) {
      await session.close()
      throw err
    }
    server = new ReleaseServer(o, https, session, log, spkiPin(certificate.cert))
    await server.rescan()
    server.timer = setInterval(() => { void server!.rescan() }, o.rescanMs ?? DEFAULT_RESCAN_MS)
    server.timer.unref()
    log.append({ event: 'serving', https: server.url, peers: `${server.advertisedHost}:${o.advertisePort ?? session.port}`, pin: server.pin })
    return server
  }

  /** The bttls session seeding the releases (replaced when a seed key rotation retires torrents). */
  get session (): Session {
    return this.swarmSession
  }

  get port (): number {
    return (this.https.address() as AddressInfo).port
  }

  get url (): string {
    const host = this.o.host ?? '127.0.0.1'
    return `https://${host.includes(':') ? `[${host}]` : host}:${this.port}`
  }

  private get advertisedHost (): string {
    return this.o.advertiseHost ?? (this.o.host === undefined || this.o.host === '0.0.0.0' || this.o.host === '::' ? '127.0.0.1' : this.o.host)
  }

  /** Seed releases not seeded yet, and re-sign the timestamp if it is due; one scan at a time. */
  rescan (): Promise<void> {
    this.scanning = this.scanning.then(() => this.scan()).catch(err => {
      this.log.append({ event: 'error', name: (err as Error).name, message: (err as Error).message })
    })
    return this.scanning
  }

  private async scan (): Promise<void> {
    if (await refreshTimestamp(this.o.repo, { log: this.log })) this.log.append({ event: 'timestamp-refreshed' })
    const signed = (await listReleases(this.o.repo)).filter(r => r.infohash !== undefined)
    const retired = [...this.seeded.keys()].filter(ih => !signed.some(r => r.infohash === ih))
    if (retired.length > 0) {
      // A session cannot drop a torrent: start a fresh one on the same port, seeding only what is signed now.
      const port = this.swarmSession.port
      await this.swarmSession.close()
      this.swarmSession = await Session.start({ host: this.o.host ?? '127.0.0.1', pex: false, trackers: false, ...this.o.session, port })
      this.seeded = new Map()
      this.log.append({ event: 'unseeded', infohashes: retired })
    }
    const keys = repositoryPaths(this.o.repo).keys
    for (const r of signed) {
      if (this.seeded.has(r.infohash!)) continue
      const metainfo = parseTorrent(await readFile(r.torrentFile))
      // A torrent being remade (seed key rotation) until the targets naming it are published: next scan.
      if (metainfo.wireInfoHash.toString('hex') !== r.infohash) { this.log.append({ event: 'not-seeding', version: r.version, reason: `${r.torrentFile} is not the signed torrent ${r.infohash!}` }); continue }
      const publisherPrivateKey = await seedKeyFor(keys, r.publisherKey!)
      if (publisherPrivateKey === undefined) { this.log.append({ event: 'not-seeding', version: r.version, reason: `no seed key in ${keys} for the signed ${r.publisherKey!.toString('hex')}` }); continue }
      const handle = await this.swarmSession.addTorrent(metainfo, r.dir, { publisherPrivateKey })
      this.seeded.set(r.infohash!, handle)
      this.log.append({ event: 'seeding', version: r.version, infohash: r.infohash, complete: handle.swarm.complete })
    }
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now()
    let status = 200
    let bytes = 0
    try {
      const file = req.method === 'GET' ? this.resolve(new URL(req.url ?? '/', 'https://x').pathname) : undefined
      if (file === SEEDS_PATH) {
        const body = encodePeerList([{ host: this.advertisedHost, port: this.o.advertisePort ?? this.session.port }])
        bytes = body.length
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length, 'cache-control': 'no-store' })
        res.end(body)
        return
      }
      const info = file === undefined ? undefined : await stat(file).catch(() => undefined)
      if (file === undefined || info === undefined || !info.isFile()) {
        status = req.method === 'GET' ? 404 : 405
        res.writeHead(status, { 'content-type': 'text/plain' })
        res.end(status === 404 ? 'not found\n' : 'method not allowed\n')
        return
      }
      bytes = info.size
      res.writeHead(200, { 'content-type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream', 'content-length': info.size, 'cache-control': 'no-store' })
      createReadStream(file).on('error', () => res.destroy()).pipe(res)
    } finally {
      this.log.append({ event: 'request', method: req.method, path: req.url, status, bytes, remote: req.socket.remoteAddress, ms: Date.now() - started })
    }
  }

  /** A request path to a file we serve: metadata/<file>, targets/<version>/<file>, seeds.json. */
  private resolve (pathname: string): string | undefined {
    let parts: string[]
    try { parts = pathname.split('/').filter(p => p !== '').map(decodeURIComponent) } catch { return undefined }
    if (!parts.every(p => SAFE_COMPONENT.test(p))) return undefined
    const paths = repositoryPaths(this.o.repo)
    if (parts.length === 1 && parts[0] === SEEDS_PATH) return SEEDS_PATH
    if (parts.length === 2 && parts[0] === 'metadata' && parts[1]!.endsWith('.json')) return join(paths.metadata, parts[1]!)
    if (parts.length === 3 && parts[0] === 'targets' && isReleaseVersion(parts[1]!)) return join(paths.targets, parts[1]!, parts[2]!)
    return undefined
  }

  async close (): Promise<void> {
    clearInterval(this.timer)
    await this.scanning
    this.https.closeAllConnections()
    await new Promise<void>(resolve => this.https.close(() => resolve()))
    await this.session.close()
  }
}
