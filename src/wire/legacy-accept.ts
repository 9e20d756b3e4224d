/**
 * Inbound plaintext BitTorrent and MSE/PE: the peer's BEP 3 handshake names the infohash (plain), or
 * HASH('req2', infohash) XOR HASH('req3', S) selects the swarm (MSE); the policy and the swarm's level
 * decide whether that transport may join it.
 */
import { createHash } from 'node:crypto'
import type net from 'node:net'
import type Wire from 'bittorrent-protocol'
import { MseHandshakeError, PolicyViolationError, UnknownSwarmError, UnrecognizedProtocolError } from '../errors.js'
import { adoptBorrowedReads } from '../handshake/borrowed-reads.js'
import type { Deadline } from '../handshake/deadline.js'
import { createGuardedWire, MSE_RC4_ONLY, NO_MSE } from './guarded-wire.js'
import { awaitHandshake, createLink } from './link.js'
import type { PeerLink } from './peer-link.js'
import { acceptsInbound, type Policy } from './policy.js'
import { findByInfoHash, type ServedSwarm } from './served-swarm.js'
import { connectWire } from './pipe-wire.js'

/** HASH('req2', SKEY) as bittorrent-protocol's MSE responder reports it (hex). */
export function mseReq2 (infoHash: Buffer): string {
  return createHash('sha1').update('req2').update(infoHash).digest('hex')
}

export class LegacyAcceptor {
  constructor (
    private readonly policy: Policy,
    private readonly swarms: () => Iterable<ServedSwarm>,
    private readonly timeoutMs: number
  ) {}

  async acceptPlain (raw: net.Socket, deadline: Deadline): Promise<PeerLink> {
    // From its next read on, through the process's shared buffer, as a dialed plaintext link reads
    // (borrowed-reads.ts): the sniff's bytes, put back in its stream, reach the wire first (lendReads).
    adoptBorrowedReads(raw)
    const wire = createGuardedWire('tcpIncoming', NO_MSE, err => raw.destroy(err))
    return await this.accept(raw, wire, 'plain', () => Promise.resolve(), deadline)
  }

  /** Not through the shared buffer: an MSE wire decrypts each read into a new buffer (dialer.ts `opener`). */
  async acceptMse (raw: net.Socket, deadline: Deadline): Promise<PeerLink> {
    // RC4 only: a peer offering both methods (libtorrent and aria2 do by default) must not get plaintext
    // after an MSE handshake while we report the link as encrypted.
    const wire = createGuardedWire('tcpIncoming', MSE_RC4_ONLY, err => raw.destroy(err))
    const identified = new Promise<void>((resolve, reject) => {
      wire.once('crypto-infohash', (req2Hex: string) => {
        const found = findByInfoHash(this.swarms(), h => mseReq2(h) === req2Hex)
        if (!found) { reject(new UnknownSwarmError('MSE peer asked for a swarm not served here')); return }
        if (!acceptsInbound(this.policy, found.swarm.level, 'mse')) {
          reject(new PolicyViolationError(`MSE connection refused for a ${found.swarm.level.name} torrent`)); return
        }
        wire.setInfoHash(found.infoHash.toString('hex'))
        resolve()
      })
    })
    return await this.accept(raw, wire, 'mse', () => identified, deadline)
  }

  /**
   * Plain and MSE: pipe the wire, wait for the peer's BT handshake, then check the swarm. One bound
   * for the whole legacy handshake, `timeoutMs` from now within the connection's deadline: without
   * it an MSE peer that stalls (or sends garbage the wire gives up on) was never refused.
   */
  private async accept (raw: net.Socket, wire: Wire, transport: 'plain' | 'mse', identified: () => Promise<void>, connection: Deadline): Promise<PeerLink> {
    const deadline = connection.within(this.timeoutMs, `the start of the ${transport} handshake`)
    const { handshake, abandon } = awaitHandshake(wire, deadline)
    raw.once('close', () => abandon(new UnrecognizedProtocolError(`connection closed during the ${transport} handshake`)))
    handshake.catch(() => {})
    connectWire(raw, wire)
    const failed = new Promise<never>((_resolve, reject) => {
      // bittorrent-protocol ends the wire without an error when MSE fails (no sync marker in range, bad VC).
      if (transport === 'mse') wire.once('finish', () => reject(new MseHandshakeError('MSE handshake failed: the peer sent no valid MSE/PE handshake, or closed the connection')))
      handshake.catch(reject)
    })
    failed.catch(() => {})
    try {
      await Promise.race([identified(), failed])
      const remote = await Promise.race([handshake, failed])
      const found = findByInfoHash(this.swarms(), h => h.equals(remote.infoHash))
      if (!found) throw new UnknownSwarmError(`${transport} peer asked for infohash ${remote.infoHash.toString('hex')}, not served here`)
      if (!acceptsInbound(this.policy, found.swarm.level, transport)) {
        throw new PolicyViolationError(`${transport} connection refused for a ${found.swarm.level.name} torrent`)
      }
      return createLink({
        socket: raw, wire, transport, direction: 'inbound', infoHash: found.infoHash,
        remoteHandshake: remote, deadline, remoteAddress: raw.remoteAddress ?? '', remotePort: raw.remotePort ?? 0
      }).link
    } catch (err) {
      wire.destroy()
      throw err
    }
  }
}
