/**
 * nginx (Debian nginx-light) as a reference web server: a config written into a temporary
 * directory, run in the foreground (`daemon off`) so the process group can stop it, with its pid,
 * error log and temp paths in that directory. Everything else is as Debian ships it (nginx's
 * defaults plus the TLS lines of Debian's nginx.conf): its timeouts, TLS settings and error pages
 * are what the probes compare bttls with.
 */
import { writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Peer, ProcessGroup } from '../../interop/lib/processes.js'
import { waitListening } from '../../interop/lib/tcp.js'
import type { WebCertificate } from './web-certificate.js'

export const NGINX = '/usr/sbin/nginx'

export interface NginxOptions {
  readonly dir: string
  readonly docRoot: string
  readonly host: string
  /** HTTP/1.1 only (ALPN http/1.1). */
  readonly h1Port: number
  /** `listen … ssl http2` (ALPN h2, http/1.1). */
  readonly h2Port: number
  readonly certificate: WebCertificate
}

export function nginxConfig (o: NginxOptions): string {
  const tmp = (name: string): string => join(o.dir, 'tmp', name)
  return `# Written by bench/wire-image/nginx.ts for one harness run.
user root;
worker_processes 1;
pid ${join(o.dir, 'nginx.pid')};
error_log ${join(o.dir, 'error.log')} warn;
events { worker_connections 256; }
http {
  access_log off;
  default_type application/octet-stream;
  sendfile on;
  client_body_temp_path ${tmp('body')};
  proxy_temp_path ${tmp('proxy')};
  fastcgi_temp_path ${tmp('fastcgi')};
  uwsgi_temp_path ${tmp('uwsgi')};
  scgi_temp_path ${tmp('scgi')};
  # As Debian's /etc/nginx/nginx.conf has them (nginx 1.22's built-in default leaves TLS 1.3 out).
  ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
  ssl_prefer_server_ciphers on;
  ssl_certificate ${o.certificate.certFile};
  ssl_certificate_key ${o.certificate.keyFile};
  server {
    listen ${o.host}:${o.h1Port} ssl;
    server_name example.com;
    root ${o.docRoot};
  }
  server {
    listen ${o.host}:${o.h2Port} ssl http2;
    server_name example.com;
    root ${o.docRoot};
  }
}
`
}

export async function startNginx (procs: ProcessGroup, o: NginxOptions, logPrefix: string): Promise<Peer> {
  await mkdir(join(o.dir, 'tmp'), { recursive: true })
  const conf = join(o.dir, 'nginx.conf')
  await writeFile(conf, nginxConfig(o))
  const peer = procs.spawn(NGINX, ['-c', conf, '-p', o.dir, '-e', join(o.dir, 'error.log'), '-g', 'daemon off;'], { name: 'nginx', logPrefix })
  await waitListening(o.h1Port, 10_000, () => peer.running)
  await waitListening(o.h2Port, 10_000, () => peer.running)
  return peer
}
