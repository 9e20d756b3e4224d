/**
 * Swarm at scale (issue #14, target 3): one seeder and N leechers, each its own Node process on its own
 * loopback address (127.0.0.2, 127.0.0.3, ...), share one torrent. Nobody is told of anybody: every
 * peer finds the others through the torrent's tracker (our tracker, src/tracker, in this process) and
 * PEX. The swarm runs entirely over one transport per mode (SessionOptions.forceTransport): Basic TLS
 * with the default suite, plaintext, and MSE with RC4 in OpenSSL.
 *
 *   node dist/bench/swarm-scale.js [--quick] [--leechers N] [--size MiB] [--modes tls,plain,mse]
 *                                  [--timeout S] [--out FILE] [--cpu-prof DIR]
 *
 * Per mode: a fresh tracker, the seeder (resume scan), the leechers started and `ready`; then `go` to
 * every process at once starts the clock, which stops when the last leecher has verified and written
 * its last piece. CPU is user + system of every peer process (all threads) over that span, from each
 * process's own process.cpuUsage(); peak RSS is each process's own peak (VmHWM, bench/peak-rss.ts; its whole life).
 * A mode fails (and its processes are killed) if any peer dies, or not every leecher completes within
 * the timeout; the error says how far each one got. `--cpu-prof DIR` writes the seeder's and the
 * first leecher's CPU profiles (node --cpu-prof) into DIR, as <mode>-seed.cpuprofile and
 * <mode>-get.cpuprofile, for profile-summary.ts.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { caFingerprint, createSwarmCa } from '../src/pki/certificate-profile.js'
import { createTorrent } from '../src/torrent/create-torrent.js'
import { TrackerDb } from '../src/tracker/server/db.js'
import { TrackerServer } from '../src/tracker/server/server.js'
import type { TransportKind } from '../src/wire/peer-link.js'
import { emit, isMain, JsonChild } from './json-child.js'
import { machine } from './machine.js'
import { writeRandomPayload } from './payload.js'
import { median } from './stats.js'
import type { SwarmPeerArgs, SwarmPeerStats } from './swarm-peer.js'

const PEER = fileURLToPath(new URL('./swarm-peer.js', import.meta.url))
const MIB = 2 ** 20
const GIB = 2 ** 30

export interface SwarmMode {
  readonly name: 'tls' | 'plain' | 'mse'
  readonly label: string
  readonly transport: TransportKind
  /** Node flags for every peer of the swarm. */
  readonly nodeFlags?: readonly string[]
}

export const SWARM_MODES: readonly SwarmMode[] = [
  { name: 'tls', label: 'Basic TLS (default suite)', transport: 'tls' },
  { name: 'plain', label: 'plaintext', transport: 'plain' },
  // bittorrent-protocol runs RC4 in OpenSSL only with the legacy provider; in JavaScript it is 2× slower (bench/throughput).
  { name: 'mse', label: 'MSE (RC4 in OpenSSL)', transport: 'mse', nodeFlags: ['--openssl-legacy-provider'] }
]

export interface SwarmScaleOptions {
  readonly leechers: number
  readonly sizeMiB: number
  readonly modes: readonly SwarmMode[]
  /** Per mode, from `go`: every leecher must be complete by then. */
  readonly timeoutSeconds: number
  /** The compiled swarm-peer.js (tests run the bench from source and the peers from a build). */
  readonly peerScript?: string
  /** Write the seeder's and the first leecher's CPU profiles into this directory. */
  readonly cpuProfDir?: string
}

export const FULL_SWARM_SCALE: SwarmScaleOptions = { leechers: 31, sizeMiB: 256, modes: SWARM_MODES, timeoutSeconds: 900 }
export const QUICK_SWARM_SCALE: SwarmScaleOptions = { leechers: 8, sizeMiB: 16, modes: SWARM_MODES, timeoutSeconds: 60 }

export interface SwarmModeResult {
  readonly mode: SwarmMode['name']
  readonly label: string
  /** TLS suites the links negotiated (TLS mode). */
  readonly ciphers: readonly string[]
  readonly loadAverageAtStart: number
  /** From `go` until the last leecher completed. */
  readonly secondsToAllComplete: number
  /** Each leecher's completion, seconds from `go`, ascending. */
  readonly completionSeconds: readonly number[]
  readonly cpu: {
    /** Every peer process, seeder included, over the span. */
    readonly totalSeconds: number
    readonly userSeconds: number
    readonly systemSeconds: number
    readonly seederSeconds: number
    readonly leecherMedianSeconds: number
    /** Per GiB delivered to the leechers (leechers × size). */
    readonly perGiBDelivered: number
    /** The processes' whole lives (start-up, resume scan, transfer, until stats were taken). */
    readonly lifetimeTotalSeconds: number
  }
  readonly peakRss: { readonly sumBytes: number, readonly maxBytes: number, readonly seederBytes: number, readonly leecherMedianBytes: number }
  /** What the seeder uploaded, as a share of everything delivered: the rest went leecher to leecher. */
  readonly seederShare: number
  readonly wastedBytes: number
  /** Links that reached a swarm, counted at both ends (each link twice), by transport. */
  readonly links: Readonly<Record<string, number>>
  /** Links closed by the time of the stats, counted at both ends, by error name and direction ('none': a clean close). */
  readonly closes: Readonly<Record<string, number>>
  readonly pexMessages: number
  readonly trackerPeersListed: number
  readonly trackerFailures: number
}

export interface SwarmScaleResult {
  readonly options: { readonly leechers: number, readonly sizeMiB: number, readonly pieceLength: number, readonly timeoutSeconds: number }
  readonly modes: readonly SwarmModeResult[]
}

/** The seeder's address; leecher i gets the next ones. 127.0.0.1 is the tracker's. */
function peerHost (index: number): string {
  const n = index + 2
  if (n > 254) throw new RangeError('at most 252 leechers fit in 127.0.0.0/24')
  return `127.0.0.${n}`
}

interface Peer { readonly child: JsonChild, readonly host: string }

/** Stats from every peer (bounded), for the result or for the error message of a failed mode. */
async function collectStats (peers: readonly Peer[], timeoutMs: number): Promise<Array<(SwarmPeerStats & { piecesDone: number }) | Error>> {
  return await Promise.all(peers.map(async p => {
    try {
      p.child.send('stats')
      return await p.child.next('stats', timeoutMs) as unknown as SwarmPeerStats & { piecesDone: number }
    } catch (err) {
      return err as Error
    }
  }))
}

async function runMode (mode: SwarmMode, payloadDir: string, work: string, options: SwarmScaleOptions, pieceLength: number, log: (line: string) => void): Promise<SwarmModeResult> {
  // A fresh tracker per mode, so no mode lists the peers of the one before.
  const ca = await createSwarmCa('bench tracker CA', 2)
  const caFile = join(work, `tracker-ca-${mode.name}.pem`)
  await writeFile(caFile, ca.certPem)
  const db = TrackerDb.open(join(work, `tracker-${mode.name}.db`))
  const tracker = await TrackerServer.start({ db, ca, host: '127.0.0.1' })
  const peers: Peer[] = []
  const leecherDirs: string[] = []
  try {
    // Our tracker is the secure tracker of Full Strict torrents: it authenticates by passkey and serves
    // torrents registered in its db. Its peer table does not depend on the level, so the bench registers
    // this Basic torrent in the db directly (registerTorrent takes Full Strict torrents only).
    const passkey = db.addUser('bench')
    const { bytes, metainfo } = await createTorrent(join(payloadDir, 'payload.bin'), { version: 'v1', pieceLength, trackers: [`${tracker.announceUrl}/${passkey}`] })
    db.addTorrent({ name: metainfo.name, infoHashV1: metainfo.infoHashV1!, caFingerprint: caFingerprint(ca.certPem) })
    const torrentFile = join(work, `swarm-${mode.name}.torrent`)
    await writeFile(torrentFile, bytes)

    // The peers trust the tracker's HTTPS certificate as any Node program trusts a private CA.
    const env = { NODE_EXTRA_CA_CERTS: caFile }
    const spawnPeer = (role: SwarmPeerArgs['role'], index: number, dir: string): Peer => {
      const args: SwarmPeerArgs = { role, torrent: torrentFile, dir, host: peerHost(index), transport: mode.transport }
      const profile = options.cpuProfDir !== undefined && index <= 1 ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir, '--cpu-prof-name', `${mode.name}-${role}.cpuprofile`] : []
      const peer = { child: new JsonChild(options.peerScript ?? PEER, [JSON.stringify(args)], [...mode.nodeFlags ?? [], ...profile], env), host: args.host }
      peers.push(peer)
      return peer
    }
    const seeder = spawnPeer('seed', 0, payloadDir)
    await seeder.child.next('ready', 120_000 + options.sizeMiB * 100)
    for (let i = 1; i <= options.leechers; i++) {
      const dir = join(work, `get-${mode.name}-${i}`)
      await mkdir(dir)
      leecherDirs.push(dir)
      spawnPeer('get', i, dir)
    }
    const leechers = peers.slice(1)
    await Promise.all(leechers.map(p => p.child.next('ready', 120_000)))

    const loadAverageAtStart = loadavg()[0]!
    const t0 = performance.now()
    for (const p of peers) p.child.send('go')
    const deadline = t0 + options.timeoutSeconds * 1000
    const completionSeconds: number[] = []
    try {
      await Promise.all(leechers.map(async p => {
        await p.child.next('complete', deadline - performance.now())
        completionSeconds.push((performance.now() - t0) / 1000)
      }))
    } catch (err) {
      const progress = (await collectStats(peers, 5000)).map((s, i) => `${peers[i]!.host} ${s instanceof Error ? 'no stats' : `${s.piecesDone}/${metainfo.pieceCount}`}`)
      throw new Error(`${mode.name}: ${completionSeconds.length} of ${leechers.length} leechers complete after ${((performance.now() - t0) / 1000).toFixed(1)} s: ${(err as Error).message}; pieces: ${progress.join(', ')}`, { cause: err })
    }
    const secondsToAllComplete = (performance.now() - t0) / 1000
    const stats = await collectStats(peers, 15_000)
    const failed = stats.find((s): s is Error => s instanceof Error)
    if (failed !== undefined) throw failed
    const all = stats as Array<SwarmPeerStats & { piecesDone: number }>
    const links: Record<string, number> = {}
    for (const s of all) for (const [k, v] of Object.entries(s.links)) links[k] = (links[k] ?? 0) + v
    const closes: Record<string, number> = {}
    for (const s of all) for (const [k, v] of Object.entries(s.closes)) closes[k] = (closes[k] ?? 0) + v
    const stray = Object.keys(links).filter(k => k !== mode.transport)
    if (stray.length > 0) throw new Error(`${mode.name}: links over ${stray.join(', ')} in a swarm forced to ${mode.transport}`)
    const sum = (f: (s: SwarmPeerStats) => number): number => all.reduce((acc, s) => acc + f(s), 0)
    const delivered = options.leechers * metainfo.totalLength
    const result: SwarmModeResult = {
      mode: mode.name,
      label: mode.label,
      ciphers: [...new Set(all.flatMap(s => s.ciphers))].sort(),
      loadAverageAtStart,
      secondsToAllComplete,
      completionSeconds: completionSeconds.sort((a, b) => a - b),
      cpu: {
        totalSeconds: sum(s => s.cpuSeconds),
        userSeconds: sum(s => s.userSeconds),
        systemSeconds: sum(s => s.systemSeconds),
        seederSeconds: all[0]!.cpuSeconds,
        leecherMedianSeconds: median(all.slice(1).map(s => s.cpuSeconds)),
        perGiBDelivered: sum(s => s.cpuSeconds) / (delivered / GIB),
        lifetimeTotalSeconds: sum(s => s.lifetimeCpuSeconds)
      },
      peakRss: {
        sumBytes: sum(s => s.peakRssBytes),
        maxBytes: Math.max(...all.map(s => s.peakRssBytes)),
        seederBytes: all[0]!.peakRssBytes,
        leecherMedianBytes: median(all.slice(1).map(s => s.peakRssBytes))
      },
      seederShare: all[0]!.uploaded / delivered,
      wastedBytes: sum(s => s.wasted),
      links,
      closes,
      pexMessages: sum(s => s.pexMessages),
      trackerPeersListed: sum(s => s.trackerPeers),
      trackerFailures: sum(s => s.trackerFailures)
    }
    log(`  swarm-scale ${mode.name.padEnd(5)} all ${options.leechers} complete in ${secondsToAllComplete.toFixed(1)} s (first ${result.completionSeconds[0]!.toFixed(1)} s); ` +
      `CPU ${result.cpu.totalSeconds.toFixed(1)} s (${result.cpu.perGiBDelivered.toFixed(2)} per GiB delivered); peak RSS sum ${(result.peakRss.sumBytes / MIB).toFixed(0)} MiB, max ${(result.peakRss.maxBytes / MIB).toFixed(0)} MiB; ` +
      `seeder share ${(result.seederShare * 100).toFixed(0)} %; link ends ${Object.values(links).reduce((a, b) => a + b, 0)}; load ${loadAverageAtStart.toFixed(2)}`)
    return result
  } finally {
    await Promise.all(peers.map(p => p.child.stop(5000)))
    await tracker.close()
    db.close()
    await Promise.all(leecherDirs.map(d => rm(d, { recursive: true, force: true })))
  }
}

export async function runSwarmScale (options: SwarmScaleOptions, log: (line: string) => void = () => {}): Promise<SwarmScaleResult> {
  if (!(Number.isInteger(options.leechers) && options.leechers >= 1)) throw new RangeError('leechers must be a positive integer')
  if (!(Number.isInteger(options.sizeMiB) && options.sizeMiB >= 1)) throw new RangeError('the size must be a positive integer (MiB)')
  peerHost(options.leechers) // fail before any work when the addresses run out
  const work = await mkdtemp(join(tmpdir(), 'bttls-swarm-'))
  try {
    const payloadDir = join(work, 'seed')
    await mkdir(payloadDir)
    await writeRandomPayload(join(payloadDir, 'payload.bin'), options.sizeMiB)
    // 256 KiB pieces: 1,024 for 256 MiB, enough for 31 leechers to hold different ones early.
    const pieceLength = Math.min(256 * 1024, Math.max(16 * 1024, options.sizeMiB * MIB / 64))
    log(`  swarm-scale: 1 seeder + ${options.leechers} leechers, ${options.sizeMiB} MiB in ${pieceLength / 1024} KiB pieces, modes ${options.modes.map(m => m.name).join(', ')}`)
    const modes: SwarmModeResult[] = []
    for (const mode of options.modes) modes.push(await runMode(mode, payloadDir, work, options, pieceLength, log))
    return { options: { leechers: options.leechers, sizeMiB: options.sizeMiB, pieceLength, timeoutSeconds: options.timeoutSeconds }, modes }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2)
  const value = (name: string): string | undefined => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined }
  const base = argv.includes('--quick') ? QUICK_SWARM_SCALE : FULL_SWARM_SCALE
  const names = value('--modes')?.split(',')
  const options: SwarmScaleOptions = {
    ...base,
    ...(value('--leechers') !== undefined ? { leechers: Number(value('--leechers')) } : {}),
    ...(value('--size') !== undefined ? { sizeMiB: Number(value('--size')) } : {}),
    ...(value('--timeout') !== undefined ? { timeoutSeconds: Number(value('--timeout')) } : {}),
    ...(value('--cpu-prof') !== undefined ? { cpuProfDir: value('--cpu-prof') } : {}),
    ...(names !== undefined ? { modes: names.map(n => { const m = SWARM_MODES.find(x => x.name === n); if (!m) throw new Error(`unknown mode ${n}`); return m }) } : {})
  }
  const out = value('--out')
  const started = { date: new Date().toISOString(), command: `node dist/bench/swarm-scale.js ${argv.join(' ')}`.trim(), machine: machine() }
  runSwarmScale(options, line => console.error(line)).then(async result => {
    if (out !== undefined) await writeFile(out, JSON.stringify({ ...started, ...result }, null, 2) + '\n')
    else emit('swarm-scale', { ...started, ...result })
  }, err => { console.error((err as Error).message); process.exit(1) })
}
