/**
 * Scale: memory per idle Basic TLS peer connection, and handshake latency, with 5,000 concurrent
 * peers in one responder process (a Session in bench/serve.ts, run with --expose-gc and the open-
 * files limit raised to its hard limit). The initiators are one Session in this process.
 *
 *   1. warm up (TLS contexts, JIT) with a few connections, close them, GC, read memory: the baseline;
 *   2. open `peers` TLS links, `concurrency` handshakes in flight, each kept open once the responder's
 *      BitTorrent handshake arrived; record each handshake's latency;
 *   3. let them go idle, GC, read memory again: (after - baseline) / links is the cost per peer;
 *   4. with all of them held open, time `probes` more handshakes one at a time: the latency a new peer
 *      sees at that load.
 *
 *   node dist/bench/scale.js [--quick] [--peers N] [--heap]
 *
 * --heap also writes the responder's heap snapshots at both readings (their paths are in the JSON; the
 * RSS figure is then meaningless, as writing a snapshot grows the process):
 * `node dist/bench/heap-diff.js BEFORE AFTER LINKS` says what each link holds on the heap.
 */
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { basicLevel } from '../src/levels/basic.js'
import { dial } from '../src/wire/dialer.js'
import type { PeerLink } from '../src/wire/peer-link.js'
import { createFixture, loadFixture, loadTorrent } from './fixtures.js'
import { emit, isMain, JsonChild } from './json-child.js'
import { median, percentile } from './stats.js'

const SERVE = fileURLToPath(new URL('./serve.js', import.meta.url))

export interface ScaleOptions {
  readonly peers: number
  readonly concurrency: number
  readonly probes: number
  /** Give up opening more links after this long (the report says how many were reached). */
  readonly seconds: number
  /** Also write the responder's heap snapshots at both memory readings (for bench/heap-diff.ts). */
  readonly heapSnapshots?: boolean
}

export const FULL_SCALE: ScaleOptions = { peers: 5000, concurrency: 16, probes: 50, seconds: 180 }
export const QUICK_SCALE: ScaleOptions = { peers: 200, concurrency: 16, probes: 10, seconds: 10 }

interface Memory { rss: number, heapTotal: number, heapUsed: number, external: number, arrayBuffers: number, links: number }

export interface Percentiles { p50: number, p95: number, p99: number, max: number }

export interface ScaleResult {
  readonly options: ScaleOptions
  readonly peers: number
  readonly openFilesLimit: { readonly responder: number, readonly initiator: number }
  readonly connectSeconds: number
  readonly before: Memory
  readonly after: Memory
  /** Per link: after minus before, divided by the links the responder held. */
  readonly perPeerBytes: { rss: number, heapUsed: number, heapTotal: number, external: number, arrayBuffers: number, total: number }
  /** Handshake latency while the links were being opened, `concurrency` at a time. */
  readonly connectLatencyMs: Percentiles
  /** The same, for the last quarter (at least 3/4 of the peers already connected). */
  readonly lastQuarterLatencyMs: Percentiles
  /** Single handshakes with every link held open. */
  readonly probeLatencyMs: Percentiles
  /** With `heapSnapshots`: the responder's snapshots at the two readings. */
  readonly heapSnapshots?: { readonly before: string, readonly after: string }
}

function percentiles (xs: readonly number[]): Percentiles {
  return { p50: median(xs), p95: percentile(xs, 95), p99: percentile(xs, 99), max: Math.max(...xs) }
}

function openFilesLimit (): number {
  const row = readFileSync('/proc/self/limits', 'utf8').split('\n').find(l => l.startsWith('Max open files'))
  return Number(row?.split(/\s{2,}/)[1])
}

export async function runScale (options: ScaleOptions, log: (line: string) => void = () => {}): Promise<ScaleResult> {
  const work = await mkdtemp(join(tmpdir(), 'bttls-scale-'))
  const fixturePath = await createFixture(work)
  // Through bash so `ulimit -n` can raise the responder's soft limit to the hard one (Node cannot).
  const responder = new JsonChild('/bin/bash', ['-c', `ulimit -n "$(ulimit -Hn)"; exec "${process.execPath}" --expose-gc "${SERVE}" "${fixturePath}" basic`])
  const links: PeerLink[] = []
  try {
    const fixture = await loadFixture(fixturePath)
    const { port } = await responder.next('ready', 30_000) as unknown as { port: number }
    responder.send('limits')
    const responderLimit = (await responder.next('limits', 5000)).openFilesSoft as number
    const initiatorLimit = openFilesLimit()
    // Each link is one fd on either side; leave room for the files, pipes and listeners.
    const peers = Math.min(options.peers, responderLimit - 100, initiatorLimit - 100)
    if (peers < options.peers) log(`  scale: open-files limit ${Math.min(responderLimit, initiatorLimit)} allows ${peers} peers, not ${options.peers}`)

    // The initiators are bare links, each with its own peer id: a Session shares one link per endpoint,
    // and the responder keeps one link per peer id (DuplicateLinkError), so one Session would hold one.
    const torrent = await loadTorrent(fixture, 'basic')
    const level = basicLevel(torrent.infoHashV1 !== undefined ? [torrent.infoHashV1] : [torrent.wireInfoHash])
    // Each from its own loopback address, as peers are: the responder holds at most 32 connections per
    // address (src/handshake/held-connections.ts).
    let opened = 0
    const open = async (): Promise<{ link: PeerLink, ms: number }> => {
      const n = opened++
      const localAddress = `127.1.${Math.floor(n / 250)}.${(n % 250) + 1}`
      const t0 = performance.now()
      const link = await dial({ host: '127.0.0.1', port, localAddress, level, wireInfoHash: torrent.wireInfoHash, policy: 'prefer-tls', transport: 'tls' })
      link.wire.handshake(torrent.wireInfoHash, randomBytes(20), { dht: false, fast: true, extended: true })
      await link.remoteHandshake
      return { link, ms: performance.now() - t0 }
    }
    const snapshots: string[] = []
    const memory = async (): Promise<Memory> => {
      await new Promise(resolve => setTimeout(resolve, 500)) // let the last messages settle
      responder.send('memory')
      const reading = await responder.next('memory', 30_000) as unknown as Memory
      if (options.heapSnapshots === true) {
        responder.send('heap')
        snapshots.push((await responder.next('heap', 300_000)).path as string)
      }
      return reading
    }

    const warm = await Promise.all(Array.from({ length: 20 }, open))
    for (const { link } of warm) link.close()
    const before = await memory()

    const latencies: number[] = []
    const t0 = performance.now()
    const deadline = t0 + options.seconds * 1000
    let started = 0
    const lane = async (): Promise<void> => {
      while (started < peers && performance.now() < deadline) {
        started++
        const { link, ms } = await open()
        links.push(link)
        latencies.push(ms)
      }
    }
    await Promise.all(Array.from({ length: options.concurrency }, lane))
    const connectSeconds = (performance.now() - t0) / 1000
    log(`  scale: ${links.length} TLS peers in ${connectSeconds.toFixed(1)} s, handshake p50 ${median(latencies).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`)
    const after = await memory()

    const probes: number[] = []
    for (let i = 0; i < options.probes; i++) {
      const { link, ms } = await open()
      probes.push(ms)
      link.close()
    }
    const held = after.links - before.links
    const per = (k: keyof Memory): number => (after[k] - before[k]) / held
    const perPeerBytes = { rss: per('rss'), heapUsed: per('heapUsed'), heapTotal: per('heapTotal'), external: per('external'), arrayBuffers: per('arrayBuffers'), total: 0 }
    // RSS already holds the JS heap and OpenSSL's buffers; it is the honest total, but noisy (page
    // granularity, the allocator keeping freed pages), so the total is the larger of RSS and heap + external.
    perPeerBytes.total = Math.max(perPeerBytes.rss, perPeerBytes.heapUsed + perPeerBytes.external)
    // RSS holds the heap V8 has reserved (heapTotal: what is used, plus the young generation grown by
    // the connection storm), external memory, and the native side (OpenSSL, TLSWrap, libuv).
    log(`  scale: per peer ${(perPeerBytes.total / 1024).toFixed(1)} KiB (RSS ${(perPeerBytes.rss / 1024).toFixed(1)}, heap ${(perPeerBytes.heapUsed / 1024).toFixed(1)} ` +
      `of ${(perPeerBytes.heapTotal / 1024).toFixed(1)} reserved, ` +
      `external ${(perPeerBytes.external / 1024).toFixed(1)} KiB), ${held} links held; probe p50 ${median(probes).toFixed(1)} ms`)
    const quarter = latencies.slice(Math.floor(latencies.length * 3 / 4))
    return {
      options,
      peers: held,
      openFilesLimit: { responder: responderLimit, initiator: initiatorLimit },
      connectSeconds,
      before,
      after,
      perPeerBytes,
      connectLatencyMs: percentiles(latencies),
      lastQuarterLatencyMs: percentiles(quarter),
      probeLatencyMs: percentiles(probes),
      ...(snapshots.length === 2 ? { heapSnapshots: { before: snapshots[0]!, after: snapshots[1]! } } : {})
    }
  } finally {
    for (const link of links) link.close()
    await responder.stop(10_000)
    await rm(work, { recursive: true, force: true })
  }
}

if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2)
  const i = argv.indexOf('--peers')
  const base = argv.includes('--quick') ? QUICK_SCALE : FULL_SCALE
  runScale({ ...base, peers: i >= 0 ? Number(argv[i + 1]) : base.peers, heapSnapshots: argv.includes('--heap') }, line => console.error(line))
    .then(result => emit('scale', { ...result }), err => { console.error((err as Error).stack); process.exit(1) })
}
