/**
 * The reference HTTPS servers, all serving the same directory: node:https (HTTP/1.1) and node:http2
 * (h2) with an RSA certificate and again with an ECDSA one, and nginx (RSA) on two ports (HTTP/1.1,
 * and h2 + HTTP/1.1). Each is its own process in the run's process group. nginx is left out, with the
 * reason, when it is not installed.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ProcessGroup } from '../../interop/lib/processes.js'
import { startNginx } from './nginx.js'
import type { HttpsServerArgs } from './https-server.js'
import type { WebServer } from './plan.js'
import type { CertificateKind, WebCertificate } from './web-certificate.js'

const HTTPS_SERVER = fileURLToPath(new URL('./https-server.js', import.meta.url))

export const INDEX_HTML = '<!doctype html>\n<html><head><title>Welcome</title></head><body><h1>It works</h1></body></html>\n'

export interface WebServers {
  readonly host: string
  /** Port of each server that runs. */
  readonly ports: Partial<Record<WebServer, number>>
  /** Why a server does not run. */
  readonly missing: Partial<Record<WebServer, string>>
}

export interface WebServerOptions {
  readonly procs: ProcessGroup
  readonly dir: string
  readonly docRoot: string
  readonly host: string
  /** Six consecutive ports: node-h1, node-h2, nginx-h1, nginx-h2, node-h1-ec, node-h2-ec. */
  readonly firstPort: number
  readonly certificates: Record<CertificateKind, WebCertificate>
  readonly nginx: boolean
  readonly log: (name: string) => string
}

export async function startWebServers (o: WebServerOptions): Promise<WebServers> {
  await writeFile(join(o.docRoot, 'index.html'), INDEX_HTML)
  const ports: Partial<Record<WebServer, number>> = {}
  const missing: Partial<Record<WebServer, string>> = {}
  const nodeServers = [
    ['node-h1', 'h1', o.firstPort, 'rsa'], ['node-h2', 'h2', o.firstPort + 1, 'rsa'],
    ['node-h1-ec', 'h1', o.firstPort + 4, 'ecdsa'], ['node-h2-ec', 'h2', o.firstPort + 5, 'ecdsa']
  ] as const
  for (const [server, protocol, port, kind] of nodeServers) {
    const { certFile, keyFile } = o.certificates[kind]
    const args: HttpsServerArgs = { protocol, host: o.host, port, certFile, keyFile, dir: o.docRoot }
    const peer = o.procs.spawn(process.execPath, [HTTPS_SERVER, JSON.stringify(args)], { name: server, json: true, logPrefix: o.log(server) })
    await peer.event('listening', 10_000)
    ports[server] = port
  }
  if (o.nginx) {
    await startNginx(o.procs, { dir: join(o.dir, 'nginx'), docRoot: o.docRoot, host: o.host, h1Port: o.firstPort + 2, h2Port: o.firstPort + 3, certificate: o.certificates.rsa }, o.log('nginx'))
    ports['nginx-h1'] = o.firstPort + 2
    ports['nginx-h2'] = o.firstPort + 3
  } else {
    missing['nginx-h1'] = missing['nginx-h2'] = 'nginx not installed (Debian package nginx-light)'
  }
  return { host: o.host, ports, missing }
}
