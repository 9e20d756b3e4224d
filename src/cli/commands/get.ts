import { openFileStore } from '../../storage/file-store.js'
import { cpuSeconds, reportSwarm, transportCounts, type Reporter } from '../reporter.js'
import { PeerRedialer } from '../peer-redialer.js'
import { startPeer, type PeerCommandArgs } from './peer-options.js'

export class DownloadFailedError extends Error {
  override name = 'DownloadFailedError'
  readonly code = 'ERR_DOWNLOAD_FAILED'
}

/**
 * Downloads, then re-verifies every piece from disk with a fresh store: exit 0 means the bytes on
 * disk are the torrent's, not merely that the engine believed so.
 */
export async function getCommand (args: PeerCommandArgs, reporter: Reporter): Promise<number> {
  const started = Date.now()
  const { session, handle, peersSeen, peers, storeDir, overrides } = await startPeer(args, reporter)
  const { swarm } = handle
  reportSwarm(swarm, reporter, started)
  let redialer: PeerRedialer | undefined
  try {
    if (!swarm.complete) {
      if (peers.length === 0) throw new DownloadFailedError('no peer to download from (give --peer host:port)')
      await new Promise<void>((resolve, reject) => {
        swarm.once('complete', resolve)
        redialer = new PeerRedialer(session, handle, peers, reason => reject(new DownloadFailedError(reason)), { untilComplete: true, overrides })
      })
    }
    const seconds = (Date.now() - started) / 1000
    const metainfo = swarm.metainfo!
    const verify = await openFileStore(metainfo, storeDir)
    const verified = await verify.verifyExisting()
    await verify.close()
    if (verified !== metainfo.pieceCount) throw new DownloadFailedError(`only ${verified} of ${metainfo.pieceCount} pieces verify on disk`)
    const bytes = metainfo.files.filter(f => !f.pad).reduce((a, f) => a + f.length, 0)
    const mibPerSecond = bytes / 2 ** 20 / seconds
    const { bytes: bytesByTransport } = transportCounts(swarm)
    reporter.event('complete', { bytes, seconds, mibPerSecond, peersByTransport: peersSeen, bytesByTransport, cpuSeconds: cpuSeconds(), verifiedPieces: verified })
    reporter.line(`done: ${metainfo.name}, ${(bytes / 2 ** 20).toFixed(1)} MiB in ${seconds.toFixed(2)} s (${mibPerSecond.toFixed(1)} MiB/s); ` +
      `${verified}/${metainfo.pieceCount} pieces verified on disk; peers: tls ${peersSeen.tls}, plain ${peersSeen.plain}, mse ${peersSeen.mse}`)
    return 0
  } finally {
    redialer?.stop()
    await session.close()
  }
}
