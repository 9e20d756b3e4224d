import { openFileStore } from '../../storage/file-store.js'
import { cpuSeconds, reportSwarm, transportCounts, type Reporter } from '../reporter.js'
import { PeerRedialer } from '../peer-redialer.js'
import { PeerLedger } from '../peer-ledger.js'
import { StatusLine } from '../status-line.js'
import { startPeer, type PeerCommandArgs } from './peer-options.js'
import { DownloadFailedError } from '../errors.js'
import { seedUntilSignal } from './seed.js'

/** How long `get` waits without receiving any data before it gives up (--stop-timeout). */
export const DEFAULT_STOP_TIMEOUT_S = 60

/**
 * Downloads, then re-verifies every piece from disk with a fresh store: exit 0 means the bytes on
 * disk are the torrent's, not merely that the engine believed so.
 */
export async function getCommand (args: PeerCommandArgs, reporter: Reporter): Promise<number> {
  const started = Date.now()
  const { session, handle, peersSeen, peers, storeDir, overrides, stop, trackers } = await startPeer(args, reporter)
  const { swarm } = handle
  // Peers can also come from the tracker (--passkey, or the session's tracker announces) or the DHT.
  const discovers = args.passkey !== undefined || trackers.length > 0 || (args.trackers ?? []).length > 0 || (args.dhtBootstrap ?? []).length > 0
  reportSwarm(swarm, reporter)
  const status = reporter.live ? new StatusLine('get', swarm, fields => reporter.status(fields)) : undefined
  const ledger = new PeerLedger(session, swarm)
  const stopTimeoutS = args.stopTimeoutS ?? DEFAULT_STOP_TIMEOUT_S
  let redialer: PeerRedialer | undefined
  try {
    if (!swarm.complete) {
      if (peers.length === 0 && !discovers) throw new DownloadFailedError('no peer to download from (give --peer host:port, or a torrent with a tracker)')
      await new Promise<void>((resolve, reject) => {
        // A storage failure (read-only --out, a planted symlink) rejects: exit 1 with its one line.
        swarm.whenComplete().then(() => { clearInterval(watchdog); resolve() }, err => { clearInterval(watchdog); reject(err) })
        // Only --peer peers: they are all we will ever have. With discovery, more may come; give up
        // only after stopTimeoutS without any data. Peers that connect and send nothing (or bad data)
        // do not hold it open: data is what counts, not connections.
        const exhausted = (reason: string): void => { if (!discovers) { clearInterval(watchdog); reject(new DownloadFailedError(reason)) } }
        redialer = new PeerRedialer(session, handle, peers, exhausted, { untilComplete: true, overrides })
        let lastBytes = -1
        let idleSince = Date.now()
        const watchdog = setInterval(() => {
          const s = swarm.stats()
          const bytes = s.downloaded + (swarm.metainfo !== undefined ? 1 : 0)
          if (bytes !== lastBytes) { lastBytes = bytes; idleSince = Date.now() }
          if (Date.now() - idleSince >= stopTimeoutS * 1000) {
            clearInterval(watchdog)
            reject(new DownloadFailedError(`no data for ${stopTimeoutS} s: ${ledger.summary(s.peers)}`))
          }
        }, Math.min(1000, stopTimeoutS * 250))
        watchdog.unref()
      })
    }
    status?.stop()
    reporter.endStatus()
    const seconds = (Date.now() - started) / 1000
    const metainfo = swarm.metainfo!
    const verify = await openFileStore(metainfo, storeDir)
    const verified = await verify.verifyExisting()
    await verify.close()
    if (verified !== metainfo.pieceCount) throw new DownloadFailedError(`only ${verified} of ${metainfo.pieceCount} pieces verify on disk`)
    const bytes = metainfo.files.filter(f => !f.pad).reduce((a, f) => a + f.length, 0)
    // The rate is this session's: bytes received over the wire, not the size of what was already on
    // disk (a resumed or complete download would otherwise report hundreds of MiB/s).
    const received = swarm.stats().downloaded
    const mibPerSecond = received / 2 ** 20 / seconds
    const { bytes: bytesByTransport } = transportCounts(swarm)
    reporter.event('complete', { bytes, received, seconds, mibPerSecond, peersByTransport: peersSeen, bytesByTransport, cpuSeconds: cpuSeconds(), verifiedPieces: verified })
    const transfer = received === 0
      ? 'already on disk, nothing downloaded'
      : `${(received / 2 ** 20).toFixed(1)} MiB received in ${seconds.toFixed(2)} s (${mibPerSecond.toFixed(1)} MiB/s)`
    reporter.line(`done: ${metainfo.name}, ${(bytes / 2 ** 20).toFixed(1)} MiB, ${transfer}; ` +
      `${verified}/${metainfo.pieceCount} pieces verified on disk; peers: tls ${peersSeen.tls}, plain ${peersSeen.plain}, mse ${peersSeen.mse}`)
    if (args.seed === true) {
      // --seed: give back, as aria2c's --seed-time and Transmission do, until the user stops us.
      redialer?.stop()
      reporter.event('seeding', { name: metainfo.name, port: session.port }, `seeding ${metainfo.name} until Ctrl-C (--seed)`)
      await seedUntilSignal([swarm], peersSeen, started, reporter)
    }
    return 0
  } finally {
    status?.stop()
    reporter.endStatus()
    redialer?.stop()
    await stop()
    await session.close()
  }
}
