/**
 * One side of a throughput run, as its own process (bench/throughput.ts spawns two). It talks to the
 * parent in JSON lines: commands on stdin, events on stdout.
 *
 *   seed  serve `data` on `port` (policy prefer-tls: every transport accepted), print `ready` once
 *         the resume scan is done; on `stats` print the CPU time and bytes uploaded since `ready`.
 *   get   open an empty store under `dir`, print `ready`; on `go` dial the seeder over the forced
 *         transport and cipher suite, and print `complete` when every piece is verified and
 *         written, with the wall and CPU time from the dial on.
 *
 * Timing starts after start-up and the resume scan, so both sides measure only the transfer.
 */
import { readFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import type { CipherSuite } from '../src/protocol/constants.js'
import { Session } from '../src/session/session.js'
import { staticCertificateSource } from '../src/levels/full-strict/certificate-source.js'
import { parseTorrent } from '../src/torrent/parse-torrent.js'
import type { TransportKind } from '../src/wire/peer-link.js'

export interface WorkerArgs {
  readonly role: 'seed' | 'get'
  readonly torrent: string
  /** seed: the directory holding the data; get: the (empty) download directory. */
  readonly dir: string
  readonly port: number
  /** get only: the seeder's port and what to dial it with. */
  readonly seederPort?: number
  readonly transport?: TransportKind
  readonly cipherSuites?: readonly CipherSuite[]
  /** Full Strict torrents: this side's certificate and key (PEM files). */
  readonly certificate?: { readonly certPem: string, readonly keyPem: string }
}

function send (event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ event, ...fields }) + '\n')
}

/** CPU time of the whole process (main thread, libuv pool, GC threads) since `start`, in seconds. */
function cpuSince (start: NodeJS.CpuUsage): { cpuSeconds: number, userSeconds: number, systemSeconds: number } {
  const { user, system } = process.cpuUsage(start)
  return { cpuSeconds: (user + system) / 1e6, userSeconds: user / 1e6, systemSeconds: system / 1e6 }
}

async function main (): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '') as WorkerArgs
  const metainfo = parseTorrent(await readFile(args.torrent))
  const session = await Session.start({ port: args.port, host: '127.0.0.1', policy: 'prefer-tls' })
  const certificates = args.certificate
    ? staticCertificateSource({ certPem: await readFile(args.certificate.certPem, 'utf8'), keyPem: await readFile(args.certificate.keyPem, 'utf8') })
    : undefined
  const handle = await session.addTorrent(metainfo, args.dir, certificates ? { certificates } : {})
  const { swarm } = handle
  let cpuStart = process.cpuUsage()
  let uploadedStart = swarm.stats().uploaded
  let started = 0
  let peer: Record<string, unknown> | undefined

  session.on('link', link => { peer = { transport: link.transport, cipher: link.tls?.cipher ?? null, protocol: link.tls?.protocol ?? null } })
  session.on('dial-failed', ({ error }) => { send('error', { message: error.message }); process.exit(1) })
  swarm.on('complete', () => {
    if (args.role !== 'get') return
    const seconds = (performance.now() - started) / 1000
    const stats = swarm.stats()
    send('complete', { seconds, ...cpuSince(cpuStart), bytes: stats.downloaded, wasted: stats.wasted, peer })
  })

  createInterface({ input: process.stdin }).on('line', line => {
    const command = line.trim()
    if (command === 'go' && args.role === 'get') {
      cpuStart = process.cpuUsage()
      started = performance.now()
      void session.connect(handle, '127.0.0.1', args.seederPort!, undefined, { transport: args.transport, cipherSuites: args.cipherSuites })
    } else if (command === 'stats') {
      send('stats', { ...cpuSince(cpuStart), uploaded: swarm.stats().uploaded - uploadedStart, peer })
    } else if (command === 'exit') {
      void session.close().then(() => process.exit(0))
    }
  }).on('close', () => process.exit(0))

  cpuStart = process.cpuUsage()
  uploadedStart = swarm.stats().uploaded
  send('ready', { pieces: swarm.stats().piecesDone, rc4: await nativeRc4() })
}

/** Whether bittorrent-protocol's MSE runs on OpenSSL's RC4 (needs --openssl-legacy-provider) or its JS one. */
async function nativeRc4 (): Promise<boolean> {
  const mod = await import('bittorrent-protocol') as unknown as { default: { nativeRC4?: boolean } }
  return mod.default.nativeRC4 === true
}

main().catch(err => {
  send('error', { message: (err as Error).stack ?? String(err) })
  process.exit(1)
})
