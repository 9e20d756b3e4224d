/**
 * One announce to any tracker a torrent names: http(s):// through the BEP 3 client (client.ts),
 * udp:// through the BEP 15 client (udp-client.ts). Extension parameters (`params`) are HTTP-only:
 * a UDP announce has no place for them (see udp-client.ts).
 */
import { announce as announceHttp, type AnnounceOptions, type AnnounceRequest, type AnnounceResponse } from './client.js'
import { TrackerError } from '../errors.js'
import { announceUdp, type UdpAnnounceOptions } from './udp-client.js'

export interface AnyAnnounceOptions extends AnnounceOptions {
  /** UDP trackers: retransmission schedule and bounds (`timeoutMs` and `localAddress` apply to both). */
  readonly udp?: Omit<UdpAnnounceOptions, 'timeoutMs' | 'localAddress'>
}

/** The tracker URL schemes this client announces to. */
export const TRACKER_SCHEMES = ['http:', 'https:', 'udp:'] as const

export async function announceAny (trackerUrl: string, req: AnnounceRequest, options: AnyAnnounceOptions = {}): Promise<AnnounceResponse> {
  let protocol: string
  try { protocol = new URL(trackerUrl).protocol } catch (err) {
    throw new TrackerError('ERR_TRACKER_UNREACHABLE', `not a tracker URL: ${trackerUrl.slice(0, 200)}`, { cause: err })
  }
  if (protocol !== 'udp:') return await announceHttp(trackerUrl, req, options)
  return await announceUdp(trackerUrl, req, {
    ...options.udp,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {})
  })
}
