/**
 * The peer wire's receive path alone (bench/README.md, "What limits throughput"): 512 MiB of piece
 * messages with 16 KiB blocks go into a Wire in chunks the size a socket hands over (16,384 bytes: a
 * TLS record's plaintext; 65,536: a plain TCP read), each chunk a fresh buffer as a socket's is, each
 * block copied into a piece buffer as the downloader does. bittorrent-protocol's own buffering (its
 * Wire) against the guarded wire's (src/wire/guarded-wire.ts); each measurement in a fresh process,
 * the two alternating. Reports CPU milliseconds (user + system) and garbage collections.
 *
 *   node dist/bench/receive-buffer.js [--runs N]
 */
import { fork } from 'node:child_process'
import { PerformanceObserver } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import Wire from 'bittorrent-protocol'
import { createGuardedWire, NO_MSE } from '../src/wire/guarded-wire.js'
import { median } from './stats.js'

const BLOCK = 16_384
const MESSAGES = 32_768 // 512 MiB of blocks
const CHUNKS = [16_384, 65_536] as const
const WIRES = ['library', 'guarded'] as const
type WireKind = typeof WIRES[number]

interface Measurement { wire: WireKind, chunk: number, cpuMs: number, gcs: number }

/** One measurement, in this process. */
async function measure (wire: WireKind, chunkSize: number): Promise<Measurement> {
  // 64 messages laid out once and cut into chunks across message boundaries, copied afresh each round.
  const messages = Buffer.concat(Array.from({ length: 64 }, (_, i) => {
    const m = Buffer.alloc(13 + BLOCK)
    m.writeUInt32BE(9 + BLOCK, 0)
    m[4] = 7
    m.writeUInt32BE(i, 9)
    return m
  }))
  const chunks: Buffer[] = []
  for (let at = 0; at < messages.length; at += chunkSize) chunks.push(messages.subarray(at, at + chunkSize))
  const w = wire === 'library' ? new Wire('tcpIncoming', NO_MSE) : createGuardedWire('tcpIncoming', NO_MSE, err => { throw err })
  w.on('data', () => {})
  const piece = Buffer.allocUnsafe(64 * BLOCK)
  let blocks = 0
  w.on('piece', (_index: number, _offset: number, block: Uint8Array) => { piece.set(block, (blocks++ % 64) * BLOCK) })
  w.handshake(Buffer.alloc(20, 1), Buffer.alloc(20, 3))
  const receive = (chunk: Buffer): void => w._write(chunk, () => {})
  receive(Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(8), Buffer.alloc(20, 1), Buffer.alloc(20, 2)]))
  let gcs = 0
  const observer = new PerformanceObserver(list => { gcs += list.getEntries().length })
  observer.observe({ entryTypes: ['gc'] })
  const start = process.cpuUsage()
  for (let round = 0; round < MESSAGES / 64; round++) for (const chunk of chunks) receive(Buffer.from(chunk))
  const used = process.cpuUsage(start)
  await new Promise(resolve => setTimeout(resolve, 200)) // the observer reports on a later turn
  observer.disconnect()
  if (blocks !== MESSAGES) throw new Error(`${wire}: ${blocks} of ${MESSAGES} blocks parsed`)
  w.destroy()
  return { wire, chunk: chunkSize, cpuMs: (used.user + used.system) / 1000, gcs }
}

async function inChild (wire: WireKind, chunk: number): Promise<Measurement> {
  const child = fork(fileURLToPath(import.meta.url), ['--child', wire, String(chunk)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  return await new Promise((resolve, reject) => {
    child.once('message', m => resolve(m as Measurement))
    child.once('exit', code => { if (code !== 0) reject(new Error(`measurement exited with ${String(code)}`)) })
  })
}

const args = process.argv.slice(2)
if (args[0] === '--child') {
  process.send!(await measure(args[1] as WireKind, Number(args[2])))
} else {
  const runs = args[0] === '--runs' ? Number(args[1]) : 5
  const results: Measurement[] = []
  for (let run = 0; run < runs; run++) for (const chunk of CHUNKS) for (const wire of WIRES) results.push(await inChild(wire, chunk))
  console.log(`512 MiB of piece messages (16 KiB blocks), median of ${runs} runs per row, each in a fresh process`)
  console.log('| chunk | wire | CPU ms | GCs |')
  console.log('|--:|:--|--:|--:|')
  for (const chunk of CHUNKS) {
    for (const wire of WIRES) {
      const rows = results.filter(r => r.wire === wire && r.chunk === chunk)
      console.log(`| ${chunk} | ${wire} | ${median(rows.map(r => r.cpuMs)).toFixed(0)} | ${median(rows.map(r => r.gcs))} |`)
    }
  }
}
