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
import { execFile } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
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
}

export const FULL_LIMITS: LimitsOptions = { opensslSeconds: 2, tcpSeconds: 3, pageCacheSamples: 5 }
export const QUICK_LIMITS: LimitsOptions = { opensslSeconds: 1, tcpSeconds: 1, pageCacheSamples: 1 }

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
  readonly errors: string[]
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
    errors
  }
}

/**
 * The most complete handshakes per second one core could do if it did nothing but the public-key
 * operations of both sides: per connection, 2 X25519 key generations and 2 derivations (counted as
 * 4 X25519 operations), the responder's signature and the initiator's verification (Ed25519 for
 * Basic and Strict; Full Strict adds a P-256 signature and two verifications, chain and exporter
 * signature, per side).
 */
export function handshakeLimitPerCore (pk: LimitsResult['publicKey'], level: 'basic' | 'strict' | 'full-strict'): number | undefined {
  if (!pk.x25519 || !pk.ed25519Sign || !pk.ed25519Verify) return undefined
  let seconds = 4 / pk.x25519 + 1 / pk.ed25519Sign + 1 / pk.ed25519Verify
  if (level === 'full-strict') {
    if (!pk.p256Sign || !pk.p256Verify) return undefined
    seconds += 2 / pk.p256Sign + 4 / pk.p256Verify
  }
  return 1 / seconds
}

if (isMain(import.meta.url)) {
  runLimits(process.argv.includes('--quick') ? QUICK_LIMITS : FULL_LIMITS, line => console.error(line))
    .then(result => emit('limits', { ...result }), err => { console.error((err as Error).stack); process.exit(1) })
}
