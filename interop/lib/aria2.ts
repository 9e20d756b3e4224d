/**
 * Drives aria2c 1.36. It has no option to add a peer, so it finds peers through opentracker; it
 * computes another infohash for hybrid torrents, so it only gets v1 torrents.
 */
import type { ScenarioContext } from './context.js'
import type { Peer } from './processes.js'
import { waitListening } from './tcp.js'

export interface Aria2Options { torrent: string, dir: string, port: number, forceMse: boolean }

function args (o: Aria2Options, logFile: string): string[] {
  return [
    `--dir=${o.dir}`, `--listen-port=${o.port}`, '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false',
    '--enable-peer-exchange=false', '--disable-ipv6=true', '--interface=127.0.0.1', '--file-allocation=none', '--summary-interval=0',
    '--console-log-level=warn', `--log=${logFile}`, '--log-level=info', '--bt-tracker-interval=1',
    ...(o.forceMse ? ['--bt-require-crypto=true', '--bt-min-crypto-level=arc4'] : []),
    o.torrent
  ]
}

/** Leeches until aria2 exits (--seed-time=0: right after the download). */
export function aria2Leech (ctx: ScenarioContext, o: Aria2Options): Peer {
  return ctx.procs.spawn('aria2c', ['--seed-time=0', ...args(o, ctx.log('aria2.log'))], { name: 'aria2 leech', logPrefix: ctx.log('aria2') })
}

/** Seeds `o.dir` after checking it (-V) until stopped. */
export async function aria2Seed (ctx: ScenarioContext, o: Aria2Options): Promise<Peer> {
  const peer = ctx.procs.spawn('aria2c', ['-V', '--seed-ratio=0.0', '--seed-time=60', ...args(o, ctx.log('aria2.log'))], {
    name: 'aria2 seed', logPrefix: ctx.log('aria2')
  })
  await waitListening(o.port, 15000, () => peer.running)
  return peer
}
