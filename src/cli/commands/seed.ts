import { BttlsError } from '../../errors.js'
import { cpuSeconds, reportSwarm, type Reporter } from '../reporter.js'
import { StatusLine } from '../status-line.js'
import { startPeer, type PeerCommandArgs } from './peer-options.js'
import { PeerRedialer } from '../peer-redialer.js'

/** `seed` found none of the torrent's data. */
export class SeedDataError extends BttlsError {
  override name = 'SeedDataError'
  readonly code = 'ERR_SEED_DATA'
}

/** Seeds until SIGINT/SIGTERM, then reports its totals. */
export async function seedCommand (args: PeerCommandArgs, reporter: Reporter): Promise<number> {
  const started = Date.now()
  const { session, handle, peersSeen, peers, overrides, stop } = await startPeer(args, reporter)
  reportSwarm(handle.swarm, reporter)
  const stats = handle.swarm.stats()
  // Nothing verified: wrong --data (another file, another version of it). Seeding nothing is no seed.
  if (stats.piecesTotal > 0 && stats.piecesDone === 0) {
    await stop()
    await session.close()
    throw new SeedDataError(`no piece of ${handle.swarm.metainfo?.name ?? 'the torrent'} verifies in --data ${args.dir}: is it the torrent's data?`)
  }
  if (stats.piecesTotal > 0 && !handle.swarm.complete) {
    reporter.event('warning', { message: 'data incomplete' }, `warning: only ${stats.piecesDone}/${stats.piecesTotal} pieces verified in --data; seeding those`)
  }
  const status = reporter.live ? new StatusLine('seed', handle.swarm, fields => reporter.status(fields)) : undefined
  // Peers named with --peer are dialed, and dialed again if they are not up yet or drop (a seeder
  // has no end state to stop at; a peer that fails 5 times in a row is given up and logged).
  const redialer = new PeerRedialer(session, handle, peers, reason => reporter.event('warning', { message: reason }, `warning: ${reason}`), { untilComplete: false, overrides })
  await new Promise<void>(resolve => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  status?.stop()
  reporter.endStatus()
  const s = handle.swarm.stats()
  reporter.event('stats', { uploaded: s.uploaded, downloaded: s.downloaded, peersByTransport: peersSeen, hashRequests: s.hashRequests, cpuSeconds: cpuSeconds(), seconds: (Date.now() - started) / 1000 },
    `uploaded ${(s.uploaded / 2 ** 20).toFixed(1)} MiB; peers: tls ${peersSeen.tls}, plain ${peersSeen.plain}, mse ${peersSeen.mse}`)
  redialer.stop()
  await stop()
  await session.close()
  return 0
}
