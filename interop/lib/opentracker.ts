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
  const peer = procs.spawn('opentracker', ['-i', '127.0.0.1', '-p', String(TRACKER_PORT), '-P', String(TRACKER_PORT), '-d', dir, '-w', 'whitelist.txt'], {
    name: 'opentracker', logPrefix: join(dir, 'opentracker')
  })
  await waitListening(TRACKER_PORT, 5000, () => peer.running)
  const url = `http://127.0.0.1:${TRACKER_PORT}/announce`
  return { url, port: TRACKER_PORT, peer, announce: async (ih, port) => await announce(url, ih, port) }
}

/**
 * Announces `port` on 127.0.0.1 for the swarm, as a seed. bttls has no tracker client yet, so the
 * harness announces on its behalf; the client then dials bttls as it would any tracker peer.
 */
async function announce (url: string, infoHashV1Hex: string, port: number): Promise<void> {
  const ih = Buffer.from(infoHashV1Hex, 'hex')
  const q = `info_hash=${percent(ih)}&peer_id=${percent(Buffer.from('-BI0001-interop-harn'))}&port=${port}` +
    '&uploaded=0&downloaded=0&left=0&event=started&compact=1&numwant=0'
  const body = await new Promise<string>((resolve, reject) => {
    const req = request(`${url}?${q}`, { timeout: 5000 }, res => {
      let text = ''
      res.setEncoding('latin1').on('data', (c: string) => { text += c }).on('end', () => resolve(text))
    })
    req.on('timeout', () => req.destroy(new Error('tracker announce timed out')))
    req.on('error', reject)
    req.end()
  })
  if (body.includes('failure reason')) throw new Error(`tracker refused the announce: ${body.slice(0, 120)}`)
}

function percent (b: Buffer): string { return [...b].map(x => '%' + x.toString(16).padStart(2, '0')).join('') }
