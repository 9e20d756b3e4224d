/**
 * opentracker for the clients that cannot be given a peer (aria2). Debian builds it whitelist-only,
 * it chroots into -d (so -w is relative to it) and drops to `nobody`, and it listens with
 * SO_REUSEPORT, so a stale instance on the port would silently split the swarm: refuse to start then.
 */
import { request } from 'node:http'
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Peer, ProcessGroup } from './processes.js'
import { isListening, waitListening } from './tcp.js'

export const TRACKER_PORT = 27969

export interface Tracker { url: string, port: number, peer: Peer, announce: (infoHashV1Hex: string, port: number) => Promise<void> }

export async function startTracker (procs: ProcessGroup, dir: string, infoHashesV1: string[]): Promise<Tracker> {
  if (await isListening(TRACKER_PORT)) throw new Error(`port ${TRACKER_PORT} already in use (a stale opentracker would share it via SO_REUSEPORT)`)
  await mkdir(dir, { recursive: true })
  await chmod(dir, 0o755)
  await writeFile(join(dir, 'whitelist.txt'), infoHashesV1.map(h => h + '\n').join(''))
  await chmod(join(dir, 'whitelist.txt'), 0o644) // read by `nobody` after the chroot, whatever the umask
  const peer = procs.spawn('opentracker', ['-i', '127.0.0.1', '-p', String(TRACKER_PORT), '-P', String(TRACKER_PORT), '-d', dir, '-w', 'whitelist.txt'], {
    name: 'opentracker', logPrefix: join(dir, 'opentracker')
  })
  await waitListening(TRACKER_PORT, 5000, () => peer.running)
  const url = `http://127.0.0.1:${TRACKER_PORT}/announce`
  await waitWhitelistLoaded(url, infoHashesV1, 5000, () => peer.running)
  return { url, port: TRACKER_PORT, peer, announce: async (ih, port) => await announce(url, ih, port) }
}

/**
 * opentracker reads its whitelist in a thread of its own after it starts listening, so an announce in
 * the first milliseconds is refused ("not authorized") even for a listed infohash: a fresh CI machine
 * hit exactly that. Ready means an announce for the first listed infohash is accepted; it says
 * `stopped`, so it adds no peer to the swarm.
 */
export async function waitWhitelistLoaded (url: string, infoHashesV1: readonly string[], timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const first = infoHashesV1[0]
  if (first === undefined) return
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (!alive()) throw new Error('opentracker exited before its whitelist was loaded')
    const body = await httpAnnounce(url, first, 1, 'stopped')
    if (!body.includes('failure reason')) return
    if (Date.now() > deadline) throw new Error(`opentracker still refuses a whitelisted infohash after ${timeoutMs / 1000} s: ${body.slice(0, 120)}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/**
 * Announces `port` on 127.0.0.1 for the swarm, as a seed. The harness announces on behalf of a bttls
 * peer that runs without a tracker; the client then dials bttls as it would any tracker peer.
 */
async function announce (url: string, infoHashV1Hex: string, port: number): Promise<void> {
  const body = await httpAnnounce(url, infoHashV1Hex, port, 'started')
  if (body.includes('failure reason')) throw new Error(`tracker refused the announce: ${body.slice(0, 120)}`)
}

/** One HTTP announce as a seed wanting no peers; resolves with the raw (bencoded) body. */
async function httpAnnounce (url: string, infoHashV1Hex: string, port: number, event: 'started' | 'stopped'): Promise<string> {
  const ih = Buffer.from(infoHashV1Hex, 'hex')
  const q = `info_hash=${percent(ih)}&peer_id=${percent(Buffer.from('-BI0001-interop-harn'))}&port=${port}` +
    `&uploaded=0&downloaded=0&left=0&event=${event}&compact=1&numwant=0`
  return await new Promise<string>((resolve, reject) => {
    const req = request(`${url}?${q}`, { timeout: 5000 }, res => {
      let text = ''
      res.setEncoding('latin1').on('data', (c: string) => { text += c }).on('end', () => resolve(text))
    })
    req.on('timeout', () => req.destroy(new Error('tracker announce timed out')))
    req.on('error', reject)
    req.end()
  })
}

function percent (b: Buffer): string { return [...b].map(x => '%' + x.toString(16).padStart(2, '0')).join('') }
