/**
 * Physical limits of this machine, measured in the same run as the benches so every figure can be
 * shown as a fraction of what the hardware allows:
 *
 *   - one core's bulk cipher speed, 16 KiB blocks (a TLS record; MSE's RC4 is a stream, same speed):
 *       openssl speed -evp aes-128-gcm -seconds S -bytes 16384
 *       openssl speed -evp aes-256-gcm -seconds S -bytes 16384 (libtorrent's SSL torrents)
 *       openssl speed -evp chacha20-poly1305 -seconds S -bytes 16384
 *       openssl speed -provider legacy -provider default -evp rc4 -seconds S -bytes 16384
 *   - the public-key operations of a handshake: openssl speed -seconds S ecdhx25519 ed25519 ecdsap256
 *   - raw TCP over loopback between two Node processes (this one writes, bench/tcp-sink.ts reads).
 *   - TLS 1.3 handshakes in OpenSSL alone, no Node: `openssl s_server` with a P-256 certificate, as
 *     the responder's, and `openssl s_time -new` on loopback (`opensslHandshakes`). The handshake
 *     targets' floor: what the TLS library reaches before any JavaScript.
 *   - what a leecher must do besides receive and decrypt: SHA-1 over every piece (openssl speed -evp
 *     sha1 -bytes 16384), and writing a fresh file into the page cache (`pageCacheWriteCost`).
 *
 * The page-cache write is not a constant of the hardware. On a virtual machine that backs memory only
 * when it is first written and takes back what the guest frees (virtio-balloon free page reporting, as
 * on this machine), pages a download writes into are usually fresh, and the first write to each costs
 * the hypervisor's fault: `dd` of a fresh 1 GiB file took 1.45 s of system time, then 0.13 s while the
 * pages it had just freed were still the guest's, and 1.3–4.7 s per GiB again minutes later. It is
 * measured here, in the same run, because it is the largest part of a leecher's floor on such a machine.
 *
 *   node dist/bench/limits.js [--quick]
 */
import { execFile, spawn } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { emit, isMain, JsonChild } from './json-child.js'
import { median } from './stats.js'

const SINK = fileURLToPath(new URL('./tcp-sink.js', import.meta.url))
const MIB = 2 ** 20

export interface LimitsOptions {
  /** Seconds per openssl measurement. */
  readonly opensslSeconds: number
  /** Seconds of raw TCP. */
  readonly tcpSeconds: number

  /** Fresh files of PAGE_CACHE_PROBE_BYTES written, for the page-cache write's median. */
  readonly pageCacheSamples: number
  /** Seconds of `openssl s_time` handshakes. */
  readonly handshakeSeconds: number
}

export const FULL_LIMITS: LimitsOptions = { opensslSeconds: 2, tcpSeconds: 3, pageCacheSamples: 5, handshakeSeconds: 5 }
export const QUICK_LIMITS: LimitsOptions = { opensslSeconds: 1, tcpSeconds: 1, pageCacheSamples: 1, handshakeSeconds: 1 }

export interface CipherLimit {
  readonly command: string
  /** One core, 16 KiB blocks. */
  readonly mibPerSecond: number
  /** The CPU a side spends on the cipher alone per GiB: 1024 / mibPerSecond. */
  readonly cpuSecondsPerGiB: number
}

export interface LimitsResult {
  readonly openssl: string
  readonly ciphers: { readonly 'aes-128-gcm'?: CipherLimit, readonly 'aes-256-gcm'?: CipherLimit, readonly 'chacha20-poly1305'?: CipherLimit, readonly rc4?: CipherLimit }
  /** Operations per second on one core. */
  readonly publicKey: { readonly command: string, readonly x25519?: number, readonly ed25519Sign?: number, readonly ed25519Verify?: number, readonly p256Sign?: number, readonly p256Verify?: number }
  readonly tcp: { readonly mibPerSecond: number, readonly seconds: number, readonly senderCpuSeconds: number, readonly receiverCpuSeconds: number }
  /** SHA-1 on one core, 16 KiB blocks: a leecher verifies every piece. Absent in runs before 2026-12-05. */
  readonly sha1?: CipherLimit
  /** Writing a fresh file into the page cache (see above): the median and each sample. Absent in runs before 2026-12-05. */
  readonly pageCacheWrite?: { readonly cpuSecondsPerGiB: number, readonly samples: readonly number[], readonly command: string }
  /** TLS 1.3 handshakes in OpenSSL alone (`opensslHandshakes`). Absent in runs before 2026-12-05 and where it failed. */
  readonly opensslHandshakes?: OpensslHandshakes
  readonly errors: string[]
}

export interface OpensslHandshakes {
  readonly command: string
  readonly handshakes: number
  /** CPU of both processes, user + system. */
  readonly clientCpuSeconds: number
  readonly serverCpuSeconds: number
  /** handshakes / (client + server CPU seconds). */
  readonly perSecondPerCore: number
}

const run = promisify(execFile)

async function openssl (args: string[]): Promise<string> {
  const { stdout } = await run('openssl', args, { maxBuffer: 4 * MIB })
  return stdout
}

/** "AES-128-GCM    4075484.38k" in openssl speed's table: thousands of bytes per second. */
export function parseCipherSpeed (output: string, name: string): number | undefined {
  const line = output.split('\n').find(l => l.toUpperCase().startsWith(name.toUpperCase()))
  const m = line?.match(/([\d.]+)k\s*$/)
  return m ? Number(m[1]) * 1000 / MIB : undefined
}

export function parsePublicKeySpeed (output: string): LimitsResult['publicKey'] {
  const num = (re: RegExp, group: number): number | undefined => {
    const m = output.match(re)
    return m ? Number(m[group]) : undefined
  }
  return {
    command: '',
    x25519: num(/ecdh \(X25519\)\s+[\d.]+s\s+([\d.]+)/, 1),
    ed25519Sign: num(/EdDSA \(Ed25519\)\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)\s+([\d.]+)/, 1),
    ed25519Verify: num(/EdDSA \(Ed25519\)\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)\s+([\d.]+)/, 2),
    p256Sign: num(/ecdsa \(nistp256\)\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)\s+([\d.]+)/, 1),
    p256Verify: num(/ecdsa \(nistp256\)\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)\s+([\d.]+)/, 2)
  }
}

async function rawTcp (seconds: number): Promise<LimitsResult['tcp']> {
  const sink = new JsonChild(SINK, [])
  try {
    const { port } = await sink.next('listening', 10_000) as unknown as { port: number }
    const socket = net.connect(port, '127.0.0.1')
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
    const chunk = Buffer.alloc(256 * 1024, 0xa5)
    const cpu = process.cpuUsage()
    const t0 = performance.now()
    const deadline = t0 + seconds * 1000
    while (performance.now() < deadline) {
      if (!socket.write(chunk)) await new Promise(resolve => socket.once('drain', resolve))
    }
    socket.end()
    const received = await sink.next('received', 30_000)
    const elapsed = (performance.now() - t0) / 1000
    const { user, system } = process.cpuUsage(cpu)
    socket.destroy()
    return { mibPerSecond: (received.bytes as number) / MIB / elapsed, seconds: elapsed, senderCpuSeconds: (user + system) / 1e6, receiverCpuSeconds: received.cpuSeconds as number }
  } finally {
    await sink.stop()
  }
}

/** "7501 connections in 11 real seconds" in s_time's output. */
export function parseStimeConnections (output: string): number | undefined {
  const m = output.match(/(\d+) connections in [\d.]+ real seconds/)
  return m ? Number(m[1]) : undefined
}

/** utime + stime (fields 14 and 15) of a /proc/<pid>/stat line, and cutime + cstime (16 and 17), in clock ticks. */
export function parseProcStatTicks (stat: string): { self: number, children: number } {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // field 3 onwards: the name may hold spaces
  const at = (field: number): number => Number(fields[field - 3])
  return { self: at(14) + at(15), children: at(16) + at(17) }
}

/** Linux's USER_HZ, the unit of /proc's CPU times on every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100

/**
 * TLS 1.3 handshakes per second per core in OpenSSL alone: `openssl s_server` (a P-256 certificate,
 * as the responder's) and `openssl s_time -new` (a new connection and full handshake each time, no
 * resumption, no request), both on loopback; their CPU read from /proc: the server's own, the
 * client's as the children's time of the shell that waited for it.
 */
export async function opensslHandshakes (seconds: number): Promise<OpensslHandshakes> {
  const dir = mkdtempSync(join(tmpdir(), 'bttls-limits-tls-'))
  const key = join(dir, 'key.pem')
  const cert = join(dir, 'cert.pem')
  try {
    await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key, '-out', cert])
    const server = spawn('openssl', ['s_server', '-accept', '127.0.0.1:0', '-cert', cert, '-key', key, '-tls1_3', '-www', '-naccept', '1000000'], { stdio: ['ignore', 'pipe', 'ignore'] })
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let seen = ''
        const timer = setTimeout(() => reject(new Error('s_server did not say where it listens')), 10_000)
        server.once('error', reject)
        server.stdout.on('data', (data: Buffer) => {
          seen += data.toString()
          const m = seen.match(/ACCEPT [^\s]*:(\d+)/)
          if (m) { clearTimeout(timer); resolve(Number(m[1])) }
        })
      })
      const serverBefore = parseProcStatTicks(readFileSync(`/proc/${server.pid}/stat`, 'latin1')).self
      const stime = `openssl s_time -connect 127.0.0.1:${port} -new -time ${seconds} -tls1_3`
      // The shell's children's CPU, once it has waited for s_time, is s_time's.
      const { stdout } = await run('bash', ['-c', `${stime}; cat /proc/$$/stat`], { maxBuffer: 4 * MIB })
      const serverTicks = parseProcStatTicks(readFileSync(`/proc/${server.pid}/stat`, 'latin1')).self - serverBefore
      const handshakes = parseStimeConnections(stdout)
      const statLine = stdout.trimEnd().split('\n').at(-1) ?? ''
      if (handshakes === undefined || !statLine.includes(')')) throw new Error(`no figure in s_time's output: ${stdout.slice(0, 200)}`)
      const clientCpuSeconds = parseProcStatTicks(statLine).children / CLOCK_TICKS_PER_SECOND
      const serverCpuSeconds = serverTicks / CLOCK_TICKS_PER_SECOND
      return { command: `openssl s_server -cert <P-256> -tls1_3 -www; ${stime.replace(String(port), 'PORT')}`, handshakes, clientCpuSeconds, serverCpuSeconds, perSecondPerCore: handshakes / (clientCpuSeconds + serverCpuSeconds) }
    } finally {
      server.kill()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const GIB = 2 ** 30
/** One page-cache sample: enough pages to time, few enough to take a second or so. */
const PAGE_CACHE_PROBE_BYTES = 256 * MIB

/**
 * CPU seconds per GiB of writing PAGE_CACHE_PROBE_BYTES to a new file in 4 MiB writes, all threads of
 * this process (the kernel's copy into page-cache pages is charged to the writer), then deleting it.
 */
export function pageCacheWriteCost (): number {
  const dir = mkdtempSync(join(tmpdir(), 'bttls-limits-'))
  const chunk = Buffer.alloc(4 * MIB, 0x5a)
  try {
    const fd = openSync(join(dir, 'probe'), 'w')
    const cpu = process.cpuUsage()
    for (let written = 0; written < PAGE_CACHE_PROBE_BYTES; written += chunk.length) writeSync(fd, chunk)
    const { user, system } = process.cpuUsage(cpu)
    closeSync(fd)
    return (user + system) / 1e6 / (PAGE_CACHE_PROBE_BYTES / GIB)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export async function runLimits (options: LimitsOptions, log: (line: string) => void = () => {}): Promise<LimitsResult> {
  const errors: string[] = []
  const s = String(options.opensslSeconds)
  const version = (await openssl(['version']).catch(() => 'openssl not found')).trim()
  const cipher = async (name: string, label: string, extra: string[] = []): Promise<CipherLimit | undefined> => {
    const args = ['speed', ...extra, '-evp', name, '-seconds', s, '-bytes', '16384']
    try {
      const mibPerSecond = parseCipherSpeed(await openssl(args), label)
      if (mibPerSecond === undefined) throw new Error('no figure in its output')
      log(`  limits: ${name} ${mibPerSecond.toFixed(0)} MiB/s per core`)
      return { command: `openssl ${args.join(' ')}`, mibPerSecond, cpuSecondsPerGiB: 1024 / mibPerSecond }
    } catch (err) {
      errors.push(`openssl ${args.join(' ')}: ${(err as Error).message}`)
      return undefined
    }
  }
  // One at a time: each measures one core, and the other core is left to the rest of the machine.
  const aes = await cipher('aes-128-gcm', 'AES-128-GCM')
  // libtorrent's SSL torrents negotiate TLS_AES_256_GCM_SHA384 (its OpenSSL defaults), so its row needs this one.
  const aes256 = await cipher('aes-256-gcm', 'AES-256-GCM')
  const chacha = await cipher('chacha20-poly1305', 'ChaCha20-Poly1305')
  const rc4 = await cipher('rc4', 'RC4', ['-provider', 'legacy', '-provider', 'default'])
  const sha1 = await cipher('sha1', 'SHA1')
  const pkArgs = ['speed', '-seconds', s, 'ecdhx25519', 'ed25519', 'ecdsap256']
  let publicKey: LimitsResult['publicKey'] = { command: `openssl ${pkArgs.join(' ')}` }
  try {
    publicKey = { ...parsePublicKeySpeed(await openssl(pkArgs)), command: publicKey.command }
  } catch (err) {
    errors.push(`${publicKey.command}: ${(err as Error).message}`)
  }
  let handshakes: OpensslHandshakes | undefined
  try {
    handshakes = await opensslHandshakes(options.handshakeSeconds)
    log(`  limits: TLS 1.3 handshakes in OpenSSL alone ${handshakes.perSecondPerCore.toFixed(0)} per s per core`)
  } catch (err) {
    errors.push(`openssl s_time: ${(err as Error).message}`)
  }
  const tcp = await rawTcp(options.tcpSeconds)
  log(`  limits: raw TCP loopback ${tcp.mibPerSecond.toFixed(0)} MiB/s (Node to Node)`)
  // A few seconds apart: what the hypervisor has taken back changes from moment to moment.
  const samples: number[] = []
  for (let i = 0; i < options.pageCacheSamples; i++) {
    if (i > 0) await new Promise(resolve => setTimeout(resolve, 2000))
    samples.push(pageCacheWriteCost())
  }
  const pageCacheWrite = { cpuSecondsPerGiB: median(samples), samples, command: `${PAGE_CACHE_PROBE_BYTES / MIB} MiB to a new file in 4 MiB writes, median of ${samples.length} (bench/limits.ts)` }
  log(`  limits: page-cache write of a fresh file ${pageCacheWrite.cpuSecondsPerGiB.toFixed(2)} CPU-s/GiB (samples ${samples.map(v => v.toFixed(2)).join(', ')})`)
  return {
    openssl: version,
    ciphers: { ...(aes ? { 'aes-128-gcm': aes } : {}), ...(aes256 ? { 'aes-256-gcm': aes256 } : {}), ...(chacha ? { 'chacha20-poly1305': chacha } : {}), ...(rc4 ? { rc4 } : {}) },
    publicKey,
    tcp,
    ...(sha1 ? { sha1 } : {}),
    pageCacheWrite,
    ...(handshakes ? { opensslHandshakes: handshakes } : {}),
    errors
  }
}

/**
 * The most complete handshakes per second one core could do if it did nothing but the public-key
 * operations of both sides: per connection, 2 X25519 key generations and 2 derivations (counted as
 * 4 X25519 operations), the responder's CertificateVerify signature and the initiator's check of it,
 * both ECDSA P-256 (the responder's certificate, src/pki/responder-certificate.ts); Full Strict adds
 * a P-256 signature and two verifications, chain and exporter signature, per side. (Until
 * 2026-12-05 this counted an Ed25519 signature and verification, the key of the responder's first
 * certificates, and put the limit at about 3,600 where P-256 gives about 4,500.)
 */
export function handshakeLimitPerCore (pk: LimitsResult['publicKey'], level: 'basic' | 'strict' | 'full-strict'): number | undefined {
  if (!pk.x25519 || !pk.p256Sign || !pk.p256Verify) return undefined
  let seconds = 4 / pk.x25519 + 1 / pk.p256Sign + 1 / pk.p256Verify
  if (level === 'full-strict') seconds += 2 / pk.p256Sign + 4 / pk.p256Verify
  return 1 / seconds
}

if (isMain(import.meta.url)) {
  runLimits(process.argv.includes('--quick') ? QUICK_LIMITS : FULL_LIMITS, line => console.error(line))
    .then(result => emit('limits', { ...result }), err => { console.error((err as Error).stack); process.exit(1) })
}
