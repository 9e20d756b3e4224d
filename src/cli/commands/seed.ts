import { BttlsError } from '../../errors.js'
import type { Swarm } from '../../swarm/swarm.js'
import type { TransportKind } from '../../wire/peer-link.js'
import { cpuSeconds, reportSwarm, type Reporter } from '../reporter.js'
import { StatusLine } from '../status-line.js'
import { startPeers, type PeerCommandArgs } from './peer-options.js'
import { PeerRedialer } from '../peer-redialer.js'

/** `seed` found none of the torrent's data. */
export class SeedDataError extends BttlsError {
  override name = 'SeedDataError'
  readonly code = 'ERR_SEED_DATA'
}

/**
 * Seeds every torrent given (one session: one port, each torrent announced) until SIGINT/SIGTERM,
 * then reports the totals.
 */
export async function seedCommand (args: PeerCommandArgs, reporter: Reporter): Promise<number> {
  const started = Date.now()
  const { session, torrents, peersSeen, overrides } = await startPeers(args, reporter)
  const stopAll = async (): Promise<void> => {
    for (const t of torrents) await t.stop()
    await session.close()
  }
  for (const { handle } of torrents) {
    reportSwarm(handle.swarm, reporter)
    const stats = handle.swarm.stats()
    // Nothing verified: wrong --data (another file, another version of it). Seeding nothing is no seed.
    if (stats.piecesTotal > 0 && stats.piecesDone === 0) {
      await stopAll()
      throw new SeedDataError(`no piece of ${handle.swarm.metainfo?.name ?? 'the torrent'} verifies in --data ${args.dir}: is it the torrent's data?`)
    }
    if (stats.piecesTotal > 0 && !handle.swarm.complete) {
      const name = handle.swarm.metainfo!.name
      reporter.event('warning', { message: 'data incomplete', name }, `warning: only ${stats.piecesDone}/${stats.piecesTotal} pieces of ${name} verified in --data; seeding those`)
    }
  }
  // Peers named with --peer are dialed for each torrent, and dialed again if they are not up yet or
  // drop (a seeder has no end state to stop at; a peer that fails 5 times in a row is given up and logged).
  const redialers = torrents.map(t => new PeerRedialer(session, t.handle, t.peers, reason => reporter.event('warning', { message: reason }, `warning: ${reason}`), { untilComplete: false, overrides }))
  await seedUntilSignal(torrents.map(t => t.handle.swarm), peersSeen, started, reporter)
  for (const r of redialers) r.stop()
  await stopAll()
  return 0
}

/** Serves `swarms` with a seeding status line until SIGINT or SIGTERM, then reports the totals (`stats`). */
export async function seedUntilSignal (swarms: readonly Swarm[], peersSeen: Record<TransportKind, number>, started: number, reporter: Reporter): Promise<void> {
  const status = reporter.live ? new StatusLine('seed', swarms, fields => reporter.status(fields)) : undefined
  await new Promise<void>(resolve => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  status?.stop()
  reporter.endStatus()
  const all = swarms.map(s => s.stats())
  const uploaded = all.reduce((a, s) => a + s.uploaded, 0)
  const downloaded = all.reduce((a, s) => a + s.downloaded, 0)
  const hashRequests = { served: 0, rejected: 0, fromData: 0 }
  for (const s of all) for (const k of ['served', 'rejected', 'fromData'] as const) hashRequests[k] += s.hashRequests[k]
  reporter.event('stats', { uploaded, downloaded, peersByTransport: peersSeen, hashRequests, cpuSeconds: cpuSeconds(), seconds: (Date.now() - started) / 1000 },
    `uploaded ${(uploaded / 2 ** 20).toFixed(1)} MiB; peers: tls ${peersSeen.tls}, plain ${peersSeen.plain}, mse ${peersSeen.mse}`)
}
