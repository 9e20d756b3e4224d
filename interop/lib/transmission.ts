/**
 * Drives transmission-cli 3.00. On loopback it never dials the peers a tracker gives it (127.x is
 * "martian" to it) but accepts incoming connections, so bttls dials it in both directions. It
 * rejects hybrid torrents, so it only gets v1 torrents.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ScenarioContext } from './context.js'
import type { Peer } from './processes.js'
import { waitListening } from './tcp.js'

/** Its `encryption` setting: 0 prefers plaintext (tolerates MSE), 1 prefers MSE, 2 requires it. */
export type TransmissionEncryption = 'tolerated' | 'preferred' | 'required'

export async function transmissionStart (ctx: ScenarioContext, o: { torrent: string, dir: string, port: number, encryption: TransmissionEncryption, mode: 'seed' | 'leech' }): Promise<Peer> {
  const config = join(ctx.dir, 'transmission')
  await mkdir(config, { recursive: true })
  await writeFile(join(config, 'settings.json'), JSON.stringify({
    'dht-enabled': false, 'lpd-enabled': false, 'pex-enabled': false, 'utp-enabled': false, 'port-forwarding-enabled': false,
    'bind-address-ipv4': '127.0.0.1', 'bind-address-ipv6': '::1', 'peer-port': o.port, 'rpc-enabled': false,
    encryption: { tolerated: 0, preferred: 1, required: 2 }[o.encryption], 'message-level': 2, 'speed-limit-up-enabled': false,
    'speed-limit-down-enabled': false
  }, null, 2))
  const flag = { tolerated: '-et', preferred: '-ep', required: '-er' }[o.encryption]
  // stdbuf: its status line ("Seeding, ...") is what tells us it is done, and it is block-buffered on a pipe.
  const peer = ctx.procs.spawn('stdbuf', ['-o0', 'transmission-cli', '-g', config, '-w', o.dir, '-p', String(o.port), '-M', flag, o.torrent], {
    name: `transmission ${o.mode}`, logPrefix: ctx.log('transmission')
  })
  await waitListening(o.port, 15000, () => peer.running)
  // A seeder verifies its data first; dialing it before it has pieces would only waste the dial.
  if (o.mode === 'seed') await peer.until('verified data ("Seeding")', () => peer.stdout.includes('Seeding'), 20000)
  return peer
}

/** A leecher is done when its status line turns to "Seeding". */
export async function transmissionDone (ctx: ScenarioContext, peer: Peer): Promise<void> {
  await peer.until('complete download ("Seeding")', () => peer.stdout.includes('Seeding'), ctx.left())
}
