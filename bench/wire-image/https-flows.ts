/**
 * HTTPS downloads of the same files as the bttls flows, each by one of the reference client/server
 * pairs (plan.ts HTTPS_VARIANTS), and hello-only connections of each stock client, for the
 * fingerprint table: what bttls's ClientHello is compared with.
 */
import type { PlannedFlow, TrafficContext } from './flows.js'
import type { PayloadFile } from './flows.js'
import { curlDownload, nodeHttp2Download, nodeHttpsDownload, opensslHello, pageVisitH1, pageVisitH2, type Download } from './https-clients.js'
import { HTTPS_VARIANTS, httpsVariantLabel, type HttpsVariant, type ReferenceSet, type WebServer } from './plan.js'

function download (v: HttpsVariant, port: number, file: PayloadFile): Promise<Download> {
  const path = `/${file.name}`
  switch (v.client) {
    case 'curl': return curlDownload(port, path, v.name)
    case 'node-https': return nodeHttpsDownload(port, path, { name: v.name })
    case 'node-https-alpn': return nodeHttpsDownload(port, path, { name: v.name, alpn: ['h2', 'http/1.1'] })
    case 'node-http2': return nodeHttp2Download(port, path, { name: v.name })
    case 'page-h1': return pageVisitH1(port, `/${file.page.name}`, path, v.name)
    case 'page-h2': return pageVisitH2(port, `/${file.page.name}`, path, v.name)
  }
}

/** Per file, one download by a pair of the lab's set and one by a pair of the wider set (round robin within each). */
export function planHttpsFlows (ctx: TrafficContext): PlannedFlow[] {
  const flows: PlannedFlow[] = []
  const usable = (set: ReferenceSet): HttpsVariant[] =>
    HTTPS_VARIANTS.filter(v => v.set === set && ctx.web.ports[v.server] !== undefined && (v.client !== 'curl' || ctx.have.curl))
  const sets = [usable('lab'), usable('wider')].filter(s => s.length > 0)
  for (const [i, file] of ctx.files.entries()) {
    for (const variants of sets) {
      const v = variants[i % variants.length]!
      const port = ctx.web.ports[v.server]!
      flows.push({
        label: { kind: 'https', variant: httpsVariantLabel(v), size: file.size, reference: v.set },
        server: { address: ctx.web.host, port },
        transfer: async () => {
          const got = await download(v, port, file)
          if (got.status !== 200 || got.bytes !== file.size) throw new Error(`${httpsVariantLabel(v)}: status ${got.status}, ${got.bytes} of ${file.size} bytes`)
        }
      })
    }
  }
  return flows
}

interface HelloRun { readonly variant: string, readonly server: WebServer, readonly run: (port: number) => Promise<unknown> }

/** Each stock client's hello, with and without a name and ALPN: the candidates bttls's hello may equal. */
const HELLO_RUNS: readonly HelloRun[] = [
  { variant: 'node https.request → 127.0.0.1 (no ALPN)', server: 'node-h1', run: port => nodeHttpsDownload(port, '/', { name: 'ip' }) },
  { variant: 'node https.request → 127.0.0.1, ALPN h2,http/1.1', server: 'node-h1', run: port => nodeHttpsDownload(port, '/', { name: 'ip', alpn: ['h2', 'http/1.1'] }) },
  { variant: 'node https.request → example.com (no ALPN)', server: 'node-h1', run: port => nodeHttpsDownload(port, '/', { name: 'example.com' }) },
  { variant: 'node https.request → example.com, ALPN h2,http/1.1', server: 'node-h1', run: port => nodeHttpsDownload(port, '/', { name: 'example.com', alpn: ['h2', 'http/1.1'] }) },
  { variant: 'node http2.connect → 127.0.0.1', server: 'node-h2', run: port => nodeHttp2Download(port, '/', { name: 'ip' }) },
  { variant: 'node http2.connect → example.com', server: 'node-h2', run: port => nodeHttp2Download(port, '/', { name: 'example.com' }) },
  { variant: 'curl → 127.0.0.1', server: 'node-h1', run: port => curlDownload(port, '/', 'ip') },
  { variant: 'curl → example.com', server: 'node-h1', run: port => curlDownload(port, '/', 'example.com') },
  { variant: 'openssl s_client → 127.0.0.1', server: 'node-h1', run: port => opensslHello(port, 'ip') },
  { variant: 'openssl s_client → example.com', server: 'node-h1', run: port => opensslHello(port, 'example.com') }
]

export function planHelloFlows (ctx: TrafficContext): PlannedFlow[] {
  const have = (h: HelloRun): boolean => (!h.variant.startsWith('curl') || ctx.have.curl) && (!h.variant.startsWith('openssl') || ctx.have.openssl)
  return HELLO_RUNS.filter(h => ctx.web.ports[h.server] !== undefined && have(h)).map(h => {
    const port = ctx.web.ports[h.server]!
    return {
      label: { kind: 'hello', variant: h.variant },
      server: { address: ctx.web.host, port },
      transfer: async () => { await h.run(port) },
      mayFail: true
    }
  })
}
