/**
 * What one harness run measures: the file sizes every kind of flow moves (the same files for bttls,
 * HTTPS, plain and MSE, so a classifier cannot use the size), and the variants of each kind.
 */

export interface RunOptions {
  /** Flows per kind (bttls, HTTPS, plain, MSE): one per file size. */
  readonly flows: number
  /** How long a probe waits for the target to close before it reports "open at cap". */
  readonly probeCapMs: number
  /** Cross-validation repeats of the trees. */
  readonly repeats: number
  /** Seed of the size draw: the same sizes on every run. */
  readonly seed: number
}

export const FULL: RunOptions = { flows: 24, probeCapMs: 15_000, repeats: 10, seed: 20261201 }
export const QUICK: RunOptions = { flows: 6, probeCapMs: 3_000, repeats: 3, seed: 20261201 }

export const MIN_SIZE = 10 * 1024
export const MAX_SIZE = 4 * 1024 * 1024

/** mulberry32: a small seeded generator, so the size draw is the same on every machine. */
export function seededRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32
  }
}

/** n sizes drawn log-uniformly from [min, max]: as many small files as large ones, per decade. */
export function logUniformSizes (n: number, seed: number, min = MIN_SIZE, max = MAX_SIZE): number[] {
  const random = seededRandom(seed)
  return Array.from({ length: n }, () => Math.round(Math.exp(Math.log(min) + random() * (Math.log(max) - Math.log(min)))))
}

export type Level = 'basic' | 'strict' | 'full-strict'

export interface BttlsVariant { readonly level: Level, readonly pieceLength?: number }

/** Flow i's level and piece length: every level, and default/32/64/256 KiB pieces, spread over the sizes. */
export function bttlsVariant (i: number): BttlsVariant {
  const level: Level = (['basic', 'strict', 'basic', 'full-strict'] as const)[i % 4]!
  const pieceLength = [undefined, 32 * 1024, 64 * 1024, 256 * 1024][Math.floor(i / 4) % 4]
  return { level, pieceLength }
}

export type WebServer = 'node-h1' | 'node-h2' | 'nginx-h1' | 'nginx-h2' | 'node-h1-ec' | 'node-h2-ec'
/**
 * `node-https-alpn`: node:https offering ALPN h2, http/1.1 as bttls's initiator does (what an HTTP/2-
 * capable Node library such as got's http2 mode sends); `page-h1`/`page-h2`: a browser's visit to a
 * download page: the page, then the file on the same connection, with a browser's request headers.
 */
export type WebClient = 'curl' | 'node-https' | 'node-http2' | 'node-https-alpn' | 'page-h1' | 'page-h2'

/**
 * `lab`: the eight pairs of the lab that opened issue #11 (tools downloading one file, RSA servers).
 * `wider`: what the web has besides, added so the target is not a property of eight programs: ECDSA
 * servers, a Node client with bttls's own ALPN list, and page visits with browser-sized requests.
 */
export type ReferenceSet = 'lab' | 'wider'

export interface HttpsVariant {
  readonly server: WebServer
  readonly client: WebClient
  /** Ask for https://example.com (SNI) or https://127.0.0.1 (no SNI, as bttls). */
  readonly name: 'example.com' | 'ip'
  readonly set: ReferenceSet
}

/** The lab's pairs plus Node clients to an IP (a Node client's hello to an IP is what bttls should match), then the wider set. */
export const HTTPS_VARIANTS: readonly HttpsVariant[] = [
  { server: 'node-h1', client: 'curl', name: 'example.com', set: 'lab' },
  { server: 'node-h1', client: 'node-https', name: 'example.com', set: 'lab' },
  { server: 'node-h1', client: 'node-https', name: 'ip', set: 'lab' },
  { server: 'node-h2', client: 'curl', name: 'example.com', set: 'lab' },
  { server: 'node-h2', client: 'node-http2', name: 'ip', set: 'lab' },
  { server: 'nginx-h1', client: 'curl', name: 'ip', set: 'lab' },
  { server: 'nginx-h2', client: 'curl', name: 'example.com', set: 'lab' },
  { server: 'nginx-h1', client: 'node-https', name: 'example.com', set: 'lab' },
  { server: 'node-h1-ec', client: 'node-https-alpn', name: 'ip', set: 'wider' },
  { server: 'node-h2-ec', client: 'curl', name: 'example.com', set: 'wider' },
  { server: 'node-h1-ec', client: 'page-h1', name: 'example.com', set: 'wider' },
  { server: 'node-h2-ec', client: 'page-h2', name: 'example.com', set: 'wider' },
  { server: 'nginx-h1', client: 'page-h1', name: 'example.com', set: 'wider' },
  { server: 'node-h1', client: 'page-h1', name: 'ip', set: 'wider' }
]

export function httpsVariantLabel (v: HttpsVariant): string {
  return `${v.server} ← ${v.client} (${v.name === 'ip' ? '127.0.0.1' : v.name})`
}

export function sizeLabel (bytes: number): string {
  return bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(0)} KiB`
}
