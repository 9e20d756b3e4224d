import { cpuSeconds, reportSwarm, type Reporter } from '../reporter.js'
import { startPeer, type PeerCommandArgs } from './peer-options.js'

/** Seeds until SIGINT/SIGTERM, then reports its totals. */
export async function seedCommand (args: PeerCommandArgs, reporter: Reporter): Promise<number> {
  const started = Date.now()
  const { session, handle, peersSeen, peers } = await startPeer(args, reporter)
  reportSwarm(handle.swarm, reporter, started)
  const stats = handle.swarm.stats()
  if (stats.piecesTotal > 0 && !handle.swarm.complete) {
    reporter.event('warning', { message: 'data incomplete' }, `warning: only ${stats.piecesDone}/${stats.piecesTotal} pieces verified in --data; seeding those`)
  }
  for (const p of peers) void session.connect(handle, p.host, p.port)
  await new Promise<void>(resolve => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  const s = handle.swarm.stats()
  reporter.event('stats', { uploaded: s.uploaded, downloaded: s.downloaded, peersByTransport: peersSeen, cpuSeconds: cpuSeconds(), seconds: (Date.now() - started) / 1000 },
    `uploaded ${(s.uploaded / 2 ** 20).toFixed(1)} MiB; peers: tls ${peersSeen.tls}, plain ${peersSeen.plain}, mse ${peersSeen.mse}`)
  await session.close()
  return 0
}
