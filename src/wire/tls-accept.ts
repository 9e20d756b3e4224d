/**
 * Inbound TLS: a bttls peer (secure-inbound.ts: the initiator's proof selects the swarm), or, when a
 * Full Strict torrent is also served to libtorrent, a libtorrent SSL-torrent peer whose ClientHello
 * names the torrent in SNI (libtorrent-ssl.ts). A TLS connection that is neither, a web visitor, a
 * prober or a wrong proof, goes to the decoy web site with what was read of it (decoy.ts).
 */
import type net from 'node:net'
import type { BttlsError } from '../errors.js'
import type { Deadline } from '../handshake/deadline.js'
import type { HeldConnections } from '../handshake/held-connections.js'
import type { TlsResponder } from '../handshake/secure-inbound.js'
import { wireForm } from '../levels/level.js'
import { parseClientHello, type ClientHelloSummary } from '../protocol/client-hello.js'
import type { Decoy } from './decoy.js'
import { LIBTORRENT_PROFILE_DETAILS, type LibtorrentSslResponder } from './libtorrent-ssl.js'
import { peekFirstRecord } from './peek-record.js'
import type { PeerLink } from './peer-link.js'
import { pipeWire } from './pipe-wire.js'
import type { ServedSwarm } from './served-swarm.js'

export class TlsAcceptor {
  constructor (
    private readonly responder: TlsResponder,
    private readonly libtorrent: LibtorrentSslResponder,
    private readonly decoy: Decoy,
    private readonly swarms: () => Iterable<ServedSwarm>,
    private readonly sniffTimeoutMs: number,
    private readonly held: HeldConnections
  ) {}

  /**
   * A peer's link; or, for a visitor handed to the decoy, why it is not a peer of ours. Every step
   * runs before the connection's deadline; the link's wait for the peer's BitTorrent handshake too.
   */
  async accept (raw: net.Socket, deadline: Deadline): Promise<{ link: PeerLink } | { decoy: BttlsError }> {
    // libtorrent's SSL-torrent profile names the torrent in SNI; its ClientHello is read only when such
    // a torrent is served (opt-in), because waiting for a whole record is not what a web server does.
    if (this.libtorrentServed() && !this.held.over(raw.remoteAddress ?? '')) {
      const hello = parseClientHelloOrUndefined(await peekFirstRecord(raw, deadline.within(this.sniffTimeoutMs, 'the start of the ClientHello')))
      if (hello?.serverName !== undefined && this.libtorrent.find(hello.serverName) !== undefined) {
        const { socket, swarm, deadline: rest } = await this.libtorrent.accept(raw, hello.serverName, deadline)
        return { link: pipeWire({ socket, raw, direction: 'inbound', transport: 'tls', infoHash: swarm.wireInfoHash, tls: LIBTORRENT_PROFILE_DETAILS(socket), deadline: rest }).link }
      }
    }
    const outcome = await this.responder.accept(raw, () => candidates(this.swarms()), deadline)
    if (outcome.kind === 'decoy') {
      this.decoy.take(outcome.socket, outcome.received)
      return { decoy: outcome.reason }
    }
    const { channel } = outcome
    // The BT handshakes must carry the form of the infohash whose key verified (BEP: "Rules for both sides").
    return { link: pipeWire({ socket: channel.socket, raw, direction: 'inbound', transport: 'tls', infoHash: wireForm(channel.swarmKey.infoHash), tls: channel.details, deadline: channel.deadline }).link }
  }

  private libtorrentServed (): boolean {
    for (const swarm of this.swarms()) if (swarm.libtorrentSsl) return true
    return false
  }
}

function parseClientHelloOrUndefined (record: Buffer): ClientHelloSummary | undefined {
  try { return parseClientHello(record) } catch { return undefined } // the TLS stack will report it
}

function * candidates (swarms: Iterable<ServedSwarm>): Iterable<{ level: ServedSwarm['level'], swarm: ServedSwarm }> {
  for (const swarm of swarms) yield { level: swarm.level, swarm }
}
