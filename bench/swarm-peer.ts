/**
 * One member of bench/swarm-scale's swarm, as its own process: a Session on its own loopback address
 * that finds the others only through the torrent's tracker and PEX. JSON lines: commands on stdin,
 * events on stdout (json-child.ts).
 *
 *   seed  add the torrent over the full data (resume scan), print `ready`;
 *   get   print `ready` with nothing added yet; on `go`, add the torrent (an empty store: it announces
 *         and downloads from whoever it finds), print `complete` when every piece is verified and written,
 *         and keep serving the others.
 *   both  `go` zeroes the CPU clock; `stats` prints CPU since `go` and in all, peak RSS, bytes and links.
 *         stdin closing ends the process.
 */
import { readFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { Session } from '../src/session/session.js'
import type { TorrentHandle } from '../src/session/session.js'
import { parseTorrent } from '../src/torrent/parse-torrent.js'
import type { TransportKind } from '../src/wire/peer-link.js'
import { emit, isMain } from './json-child.js'
import { ownPeakRssBytes } from './peak-rss.js'

export interface SwarmPeerArgs {
  readonly role: 'seed' | 'get'
  readonly torrent: string
  /** seed: the directory holding the data; get: the (empty) download directory. */
  readonly dir: string
  /** This peer's loopback address: it listens, dials and announces from it. */
  readonly host: string
  /** Every link of the swarm runs over this (SessionOptions.forceTransport). */
  readonly transport: TransportKind
}

/** What a member reports on `stats`. */
export interface SwarmPeerStats {
  readonly role: 'seed' | 'get'
  readonly host: string
  /** user + system of the whole process (main thread, libuv pool, GC threads) since `go`, and since start. */
  readonly cpuSeconds: number
  readonly userSeconds: number
  readonly systemSeconds: number
  readonly lifetimeCpuSeconds: number
  /** Peak resident set over the process's own life (VmHWM; peak-rss.ts says why not getrusage's). */
  readonly peakRssBytes: number
  readonly uploaded: number
  readonly downloaded: number
  readonly wasted: number
  /** Links that reached the swarm, by transport, and the TLS suites they negotiated. */
  readonly links: Readonly<Record<string, number>>
  /** Links closed so far, by the error they closed with ('none' for a clean close) and by direction. */
  readonly closes: Readonly<Record<string, number>>
  readonly ciphers: readonly string[]
  /** ut_pex messages received, and peers the tracker listed over all announces. */
  readonly pexMessages: number
  readonly trackerPeers: number
  readonly trackerFailures: number
}

function cpuSeconds (usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1e6
}

async function main (): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '') as SwarmPeerArgs
  const metainfo = parseTorrent(await readFile(args.torrent))
  const session = await Session.start({ host: args.host, port: 0, policy: 'prefer-tls', forceTransport: args.transport })
  const links: Record<string, number> = {}
  const closes: Record<string, number> = {}
  const ciphers = new Set<string>()
  let pexMessages = 0
  let trackerPeers = 0
  let trackerFailures = 0
  session.on('link', link => {
    links[link.transport] = (links[link.transport] ?? 0) + 1
    if (link.tls?.cipher !== undefined) ciphers.add(link.tls.cipher)
    link.wire.on('extended', (ext: string) => { if (ext === 'ut_pex') pexMessages++ })
    void link.closed.then(err => {
      const key = `${err?.name ?? 'none'} ${link.direction}`
      closes[key] = (closes[key] ?? 0) + 1
    })
  })
  session.on('discovery', e => {
    if (e.source !== 'tracker') return
    if (e.kind === 'announced') trackerPeers += e.peers
    else if (e.kind === 'failed') trackerFailures++
  })

  let handle: TorrentHandle | undefined
  let cpuStart = process.cpuUsage()
  let started = 0
  const add = async (): Promise<TorrentHandle> => {
    const h = await session.addTorrent(metainfo, args.dir)
    h.swarm.once('complete', () => {
      if (args.role === 'get') emit('complete', { seconds: (performance.now() - started) / 1000, cpuSeconds: cpuSeconds(process.cpuUsage(cpuStart)) })
    })
    return h
  }
  if (args.role === 'seed') {
    handle = await add()
    if (!handle.swarm.complete) throw new Error(`the seeder holds ${handle.swarm.stats().piecesDone} of ${metainfo.pieceCount} pieces`)
  }

  let exiting = false
  const exit = (code: number): void => {
    if (exiting) return
    exiting = true
    // Bounded: a stuck close must not keep the bench waiting (the parent kills us after its grace anyway).
    setTimeout(() => process.exit(code), 2000).unref()
    void session.close().finally(() => process.exit(code))
  }
  createInterface({ input: process.stdin }).on('line', line => {
    const command = line.trim()
    if (command === 'go') {
      cpuStart = process.cpuUsage()
      started = performance.now()
      if (handle === undefined) add().then(h => { handle = h }, err => { emit('error', { message: (err as Error).message }); exit(1) })
    } else if (command === 'stats') {
      const s = handle?.swarm.stats()
      const since = process.cpuUsage(cpuStart)
      const stats: SwarmPeerStats = {
        role: args.role,
        host: args.host,
        cpuSeconds: cpuSeconds(since),
        userSeconds: since.user / 1e6,
        systemSeconds: since.system / 1e6,
        lifetimeCpuSeconds: cpuSeconds(process.cpuUsage()),
        peakRssBytes: ownPeakRssBytes(),
        uploaded: s?.uploaded ?? 0,
        downloaded: s?.downloaded ?? 0,
        wasted: s?.wasted ?? 0,
        links,
        closes,
        ciphers: [...ciphers],
        pexMessages,
        trackerPeers,
        trackerFailures
      }
      emit('stats', { ...stats, piecesDone: s?.piecesDone ?? 0 })
    }
  }).on('close', () => exit(0))
  emit('ready', { port: session.port })
}

if (isMain(import.meta.url)) {
  main().catch(err => {
    emit('error', { message: (err as Error).stack ?? String(err) })
    process.exit(1)
  })
}
