/**
 * bench/throughput: moves one random file (1 GiB by default) between two processes on loopback over
 * each transport, and reports MiB/s and CPU-seconds per GiB on both sides (see bench/README.md).
 *
 *   node dist/bench/throughput.js [--size MiB | --quick] [--runs N] [--modes a,b,...]
 *                                 [--piece-length KiB] [--cpu-prof DIR] [--node-flag FLAG]...
 *                                 [--out FILE] [--no-save]
 *
 * Each run is a fresh seeder and leecher (bench/worker.ts), each its own Node process. The clock
 * starts when the leecher dials and stops when its last piece is verified and written, so process
 * start-up and the seeder's resume scan are not counted. The figure per mode is the median run.
 */
import { secretCommitment } from '../src/levels/strict-keys.js'
import { createPeerKeyAndCsr, createSwarmCa, issuePeerCertificate } from '../src/pki/certificate-profile.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { CipherSuite } from '../src/protocol/constants.js'
import { createTorrent } from '../src/torrent/create-torrent.js'
import type { TransportKind } from '../src/wire/peer-link.js'
import type { WorkerArgs } from './worker.js'

interface Mode {
  readonly name: string
  readonly label: string
  readonly transport: TransportKind
  readonly cipherSuites?: readonly CipherSuite[]
  /** The level's own torrent (same payload): Strict (secret mode) or Full Strict (certificates). */
  readonly level?: 'strict' | 'full-strict'
  /** Extra node flags for both processes. */
  readonly nodeFlags?: readonly string[]
}

const MODES: readonly Mode[] = [
  { name: 'plain', label: 'plaintext', transport: 'plain' },
  { name: 'mse-js', label: 'MSE (RC4 in JS)', transport: 'mse' },
  // bittorrent-protocol uses OpenSSL's RC4 only when the legacy provider is loaded.
  { name: 'mse-native', label: 'MSE (RC4 in OpenSSL, --openssl-legacy-provider)', transport: 'mse', nodeFlags: ['--openssl-legacy-provider'] },
  // What bttls negotiates when nothing is forced: the initiator's stack's default hello (wire image).
  { name: 'tls-default', label: 'Basic TLS, the suite negotiated by default', transport: 'tls' },
  { name: 'tls-aes128gcm', label: 'Basic TLS, TLS_AES_128_GCM_SHA256', transport: 'tls', cipherSuites: ['TLS_AES_128_GCM_SHA256'] },
  { name: 'tls-chacha20', label: 'Basic TLS, TLS_CHACHA20_POLY1305_SHA256', transport: 'tls', cipherSuites: ['TLS_CHACHA20_POLY1305_SHA256'] },
  { name: 'tls-strict', label: 'Strict (secret mode), TLS_AES_128_GCM_SHA256', transport: 'tls', cipherSuites: ['TLS_AES_128_GCM_SHA256'], level: 'strict' },
  { name: 'tls-full-strict', label: 'Full Strict (certificates), TLS_AES_128_GCM_SHA256', transport: 'tls', cipherSuites: ['TLS_AES_128_GCM_SHA256'], level: 'full-strict' }
]

/** Fixed, unusual loopback ports, so a run never collides with a client someone left running on 6881. */
const SEEDER_PORT = 47_613
const LEECHER_PORT = 47_614
const GIB = 2 ** 30
const MIB = 2 ** 20

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url))

interface Options {
  sizeMiB: number
  runs: number
  modes: readonly Mode[]
  pieceLength: number
  cpuProfDir: string | undefined
  /** Extra node flags for every worker (e.g. --perf-basic-prof for perf). */
  nodeFlags: string[]
  out: string | undefined
}

interface Run {
  seconds: number
  mibPerSecond: number
  leecherCpuSeconds: number
  seederCpuSeconds: number
  /** Kernel share of the CPU times above (socket and file system calls, page cache). */
  leecherSystemSeconds: number
  seederSystemSeconds: number
  bytes: number
  cipher: string | null
  rc4Native: boolean
  /** 1-minute load average when the run started: above ~0.5 something else shared the CPUs. */
  loadAverage: number
}

function parseArgs (argv: readonly string[]): Options {
  const opts: Options = { sizeMiB: 1024, runs: 3, modes: MODES, pieceLength: MIB, cpuProfDir: undefined, nodeFlags: [], out: undefined }
  let save = true
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const value = (): string => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${arg} needs a value`)
      return v
    }
    if (arg === '--size') opts.sizeMiB = positive(value(), arg)
    else if (arg === '--quick') opts.sizeMiB = 128
    else if (arg === '--runs') opts.runs = positive(value(), arg)
    else if (arg === '--piece-length') opts.pieceLength = positive(value(), arg) * 1024
    else if (arg === '--cpu-prof') opts.cpuProfDir = value()
    else if (arg === '--node-flag') opts.nodeFlags.push(value())
    else if (arg === '--out') opts.out = value()
    else if (arg === '--no-save') save = false
    else if (arg === '--modes') {
      const names = value().split(',')
      opts.modes = names.map(n => {
        const m = MODES.find(mode => mode.name === n)
        if (m === undefined) throw new Error(`unknown mode ${n} (modes: ${MODES.map(mode => mode.name).join(', ')})`)
        return m
      })
    } else throw new Error(`unknown argument ${arg}`)
  }
  if (save && opts.out === undefined) {
    const stamp = new Date().toISOString().replace(/:/g, '-').replace(/\..*$/, '')
    opts.out = fileURLToPath(new URL(`../../bench/results/throughput-${stamp}.json`, import.meta.url))
  }
  return opts
}

function positive (v: string, name: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer`)
  return n
}

/** A worker process and its JSON-line events. */
class Worker {
  private readonly child: ChildProcess
  private readonly waiting = new Map<string, (e: Record<string, unknown>) => void>()
  private stderr = ''
  private exitCode: number | null = null
  private readonly exited: Promise<void>

  constructor (args: WorkerArgs, nodeFlags: readonly string[]) {
    this.child = spawn(process.execPath, [...nodeFlags, WORKER, JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'pipe'] })
    this.child.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString() })
    createInterface({ input: this.child.stdout! }).on('line', line => {
      let e: Record<string, unknown>
      try { e = JSON.parse(line) as Record<string, unknown> } catch { return }
      const event = String(e.event)
      if (event === 'error') this.failAll(new Error(`${args.role} worker: ${String(e.message)}`))
      this.waiting.get(event)?.(e)
      this.waiting.delete(event)
    })
    this.exited = new Promise(resolve => this.child.once('exit', code => {
      this.exitCode = code ?? 1
      this.failAll(new Error(`${args.role} worker exited (${this.exitCode}): ${this.stderr.trim()}`))
      resolve()
    }))
  }

  next (event: string, timeoutMs: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs)
      this.waiting.set(event, e => {
        clearTimeout(timer)
        if (e.event === 'failed') reject(e.error as Error)
        else resolve(e)
      })
    })
  }

  send (command: string): void {
    this.child.stdin!.write(command + '\n')
  }

  async stop (): Promise<void> {
    if (this.exitCode !== null) return
    this.send('exit')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000)
    await this.exited
    clearTimeout(timer)
  }

  private failAll (error: Error): void {
    for (const [, waiter] of this.waiting) waiter({ event: 'failed', error })
    this.waiting.clear()
  }
}

async function makePayload (path: string, sizeMiB: number): Promise<void> {
  const fh = await open(path, 'w')
  try {
    const chunk = 64 * MIB
    for (let left = sizeMiB * MIB; left > 0; left -= chunk) await fh.write(randomBytes(Math.min(chunk, left)))
  } finally {
    await fh.close()
  }
}

/** Per level: the torrent file to use and, for Full Strict, each side's certificate files. */
interface LevelTorrents {
  readonly basic: string
  readonly strict?: string
  readonly fullStrict?: { torrent: string, seed: { certPem: string, keyPem: string }, get: { certPem: string, keyPem: string } }
}

async function levelTorrents (payload: string, work: string, basic: string, opts: Options): Promise<LevelTorrents> {
  const want = new Set(opts.modes.map(m => m.level))
  let strict: string | undefined
  let fullStrict: LevelTorrents['fullStrict']
  if (want.has('strict')) {
    const secret = randomBytes(32)
    const { bytes } = await createTorrent(payload, { version: 'v1', pieceLength: opts.pieceLength, strict: { info: { mode: 'secret', commitment: secretCommitment(secret) }, secret } })
    strict = join(work, 'payload-strict.torrent')
    await writeFile(strict, bytes)
  }
  if (want.has('full-strict')) {
    const ca = await createSwarmCa('bench swarm CA')
    const { bytes, metainfo } = await createTorrent(payload, { version: 'v1', pieceLength: opts.pieceLength, sslCert: ca.certPem })
    const torrent = join(work, 'payload-full-strict.torrent')
    await writeFile(torrent, bytes)
    const credential = async (name: string): Promise<{ certPem: string, keyPem: string }> => {
      const { keyPem, csrDer } = await createPeerKeyAndCsr(name)
      const { certPem } = await issuePeerCertificate({ ca, csrDer, torrent: metainfo, lifetimeSeconds: 24 * 3600 })
      const certFile = join(work, `${name}.pem`)
      const keyFile = join(work, `${name}.key`)
      await writeFile(certFile, certPem)
      await writeFile(keyFile, keyPem)
      return { certPem: certFile, keyPem: keyFile }
    }
    fullStrict = { torrent, seed: await credential('seed'), get: await credential('get') }
  }
  return { basic, ...(strict ? { strict } : {}), ...(fullStrict ? { fullStrict } : {}) }
}

async function runOnce (mode: Mode, torrents: LevelTorrents, dataDir: string, work: string, opts: Options, tag: string): Promise<Run> {
  const torrent = mode.level === 'strict' ? torrents.strict! : mode.level === 'full-strict' ? torrents.fullStrict!.torrent : torrents.basic
  const certs = mode.level === 'full-strict' ? torrents.fullStrict : undefined
  const outDir = await mkdtemp(join(work, 'get-'))
  const flags = (role: string): string[] => [
    ...(mode.nodeFlags ?? []),
    ...opts.nodeFlags,
    ...(opts.cpuProfDir !== undefined ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir, '--cpu-prof-name', `${tag}-${role}.cpuprofile`] : [])
  ]
  const loadAverage = loadavg()[0]!
  const seeder = new Worker({ role: 'seed', torrent, dir: dataDir, port: SEEDER_PORT, ...(certs ? { certificate: certs.seed } : {}) }, flags('seed'))
  let leecher: Worker | undefined
  try {
    const seedReady = await seeder.next('ready', 300_000)
    if (seedReady.pieces === 0) throw new Error('the seeder verified no piece of the payload')
    leecher = new Worker({
      role: 'get', torrent, dir: outDir, port: LEECHER_PORT, seederPort: SEEDER_PORT, transport: mode.transport, cipherSuites: mode.cipherSuites,
      ...(certs ? { certificate: certs.get } : {})
    }, flags('get'))
    const ready = await leecher.next('ready', 60_000)
    const completing = leecher.next('complete', 600_000)
    leecher.send('go')
    const done = await completing
    const stats = seeder.next('stats', 10_000)
    seeder.send('stats')
    const seed = await stats
    const peer = done.peer as { transport: string, cipher: string | null }
    if (peer.transport !== mode.transport) throw new Error(`${mode.name}: the leecher connected over ${peer.transport}`)
    const seconds = done.seconds as number
    const bytes = done.bytes as number
    return {
      seconds,
      mibPerSecond: bytes / MIB / seconds,
      leecherCpuSeconds: done.cpuSeconds as number,
      seederCpuSeconds: seed.cpuSeconds as number,
      leecherSystemSeconds: done.systemSeconds as number,
      seederSystemSeconds: seed.systemSeconds as number,
      bytes,
      cipher: peer.cipher,
      rc4Native: ready.rc4 === true,
      loadAverage
    }
  } finally {
    await Promise.all([seeder.stop(), leecher?.stop()])
    await rm(outDir, { recursive: true, force: true })
  }
}

function median (xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

async function main (): Promise<void> {
  const opts = parseArgs(process.argv.slice(2))
  const work = await mkdtemp(join(tmpdir(), 'bttls-bench-'))
  if (opts.cpuProfDir !== undefined) await mkdir(opts.cpuProfDir, { recursive: true })
  try {
    const dataDir = join(work, 'seed')
    await mkdir(dataDir)
    const payload = join(dataDir, 'payload.bin')
    process.stderr.write(`writing ${opts.sizeMiB} MiB of random data to ${payload}\n`)
    await makePayload(payload, opts.sizeMiB)
    const { bytes: torrentBytes, metainfo } = await createTorrent(payload, { version: 'v1', pieceLength: opts.pieceLength })
    const torrent = join(work, 'payload.torrent')
    await writeFile(torrent, torrentBytes)
    process.stderr.write(`v1 torrent, ${metainfo.pieceCount} pieces of ${opts.pieceLength / 1024} KiB; ${opts.runs} run(s) per mode\n`)
    const torrents = await levelTorrents(payload, work, torrent, opts)

    // Rounds over all modes rather than all runs of one mode, so drift (page cache, other load) spreads evenly.
    const runs = new Map<string, Run[]>(opts.modes.map(m => [m.name, []]))
    for (let r = 0; r < opts.runs; r++) {
      for (const mode of opts.modes) {
        const run = await runOnce(mode, torrents, dataDir, work, opts, `${mode.name}-${r + 1}`)
        runs.get(mode.name)!.push(run)
        process.stderr.write(`  run ${r + 1} ${mode.name.padEnd(14)} ${run.mibPerSecond.toFixed(1).padStart(7)} MiB/s  ` +
          `${run.seconds.toFixed(2)} s  cpu seeder ${run.seederCpuSeconds.toFixed(2)} s (sys ${run.seederSystemSeconds.toFixed(2)}), ` +
          `leecher ${run.leecherCpuSeconds.toFixed(2)} s (sys ${run.leecherSystemSeconds.toFixed(2)})\n`)
      }
    }

    const gib = opts.sizeMiB * MIB / GIB
    const summary = opts.modes.map(mode => {
      const rs = runs.get(mode.name)!
      return {
        mode: mode.name,
        label: mode.label,
        cipher: rs[0]!.cipher,
        rc4Native: mode.transport === 'mse' ? rs[0]!.rc4Native : undefined,
        mibPerSecond: median(rs.map(r => r.mibPerSecond)),
        seconds: median(rs.map(r => r.seconds)),
        seederCpuSecondsPerGiB: median(rs.map(r => r.seederCpuSeconds)) / gib,
        leecherCpuSecondsPerGiB: median(rs.map(r => r.leecherCpuSeconds)) / gib,
        runs: rs
      }
    })
    const plain = summary.find(s => s.mode === 'plain')?.mibPerSecond
    const rows = summary.map(s => ({ ...s, ratioToPlain: plain !== undefined ? s.mibPerSecond / plain : undefined }))

    const header = ['mode', 'MiB/s', 'CPU-s/GiB seeder', 'CPU-s/GiB leecher', 'vs plain']
    const table = rows.map(s => [
      s.mode, s.mibPerSecond.toFixed(1), s.seederCpuSecondsPerGiB.toFixed(2), s.leecherCpuSecondsPerGiB.toFixed(2),
      s.ratioToPlain !== undefined ? s.ratioToPlain.toFixed(2) : '-'
    ])
    const widths = header.map((h, i) => Math.max(h.length, ...table.map(row => row[i]!.length)))
    const line = (cells: readonly string[]): string => '| ' + cells.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join(' | ') + ' |'
    console.log(`${opts.sizeMiB} MiB, median of ${opts.runs}, v1 torrent with ${opts.pieceLength / 1024} KiB pieces, loopback, ${cpus().length} CPUs shared by both processes`)
    console.log(line(header))
    console.log('|' + widths.map((w, i) => i === 0 ? ':' + '-'.repeat(w + 1) : '-'.repeat(w + 1) + ':').join('|') + '|')
    for (const row of table) console.log(line(row))
    const busiest = Math.max(...rows.flatMap(r => r.runs.map(run => run.loadAverage)))
    if (busiest > 0.5) console.log(`note: load average up to ${busiest.toFixed(2)} at the start of a run: other processes shared the CPUs`)

    if (opts.out !== undefined) {
      mkdirSync(join(opts.out, '..'), { recursive: true })
      writeFileSync(opts.out, JSON.stringify({
        date: new Date().toISOString(),
        command: `node dist/bench/throughput.js ${process.argv.slice(2).join(' ')}`.trim(),
        machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, openssl: process.versions.openssl },
        sizeMiB: opts.sizeMiB,
        pieceLength: opts.pieceLength,
        runsPerMode: opts.runs,
        results: rows
      }, null, 2) + '\n')
      console.log(`results written to ${opts.out}`)
    }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

main().catch(err => {
  console.error((err as Error).message)
  process.exit(1)
})
