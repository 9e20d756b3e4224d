/**
 * The swarm's listeners on its peers' Wires. One function per event serves every peer: each finds its
 * peer from the wire it is called on. A closure per event and peer (two, with the guard) cost every
 * idle link about 2 KiB, and a process may hold thousands of idle links.
 *
 * Every event runs under the swarm's guard: whatever a handler throws closes that peer's link only.
 */
import type Wire from 'bittorrent-protocol'
import { BadPeerError } from './errors.js'
import type { Downloader } from './downloader.js'
import type { Peer } from './peer.js'
import type { PieceAnnouncement } from './peer-pieces.js'
import type { Uploader } from './uploader.js'

/** What the events go to: the swarm's parts and verbs. */
export interface WireEventHandlers {
  readonly downloader: Downloader
  readonly uploader: Uploader
  /** Run `fn` for `peer`: whatever it throws closes that peer's link and nothing else. */
  guard (peer: Peer, fn: () => void): void
  /** A bitfield, have or have-all. */
  announced (peer: Peer, message: PieceAnnouncement): void
  /** Whether the peer listens at an endpoint banned for sending bad data. */
  listensBanned (peer: Peer): boolean
  /** A message bittorrent-protocol does not know (BEP 52 hash messages). */
  unknownMessage (peer: Peer, message: Uint8Array): void
}

// Each Wire event has its own argument types; a listener passes them on untouched.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = (this: Wire, ...args: any[]) => void

export class WireEvents {
  private readonly peers = new WeakMap<Wire, Peer>()
  private readonly listeners: ReadonlyArray<readonly [string, Listener]>

  constructor (handlers: WireEventHandlers) {
    const { downloader: down, uploader: up } = handlers
    const peers = this.peers
    const guard = (wire: Wire, fn: (peer: Peer) => void): void => {
      const peer = peers.get(wire)
      if (peer !== undefined) handlers.guard(peer, () => fn(peer))
    }
    this.listeners = [
      ['error', function (this: Wire, err: Error) { peers.get(this)?.close(err) }],
      ['extended', function (this: Wire, ext: string) {
        guard(this, peer => {
          if (ext === 'handshake' && handlers.listensBanned(peer)) throw new BadPeerError('the peer listens at an endpoint banned for sending bad data')
        })
      }],
      ['bitfield', function (this: Wire, bf: { buffer: Uint8Array }) { guard(this, peer => handlers.announced(peer, { kind: 'bitfield', bytes: bf.buffer })) }],
      ['have', function (this: Wire, index: number) { guard(this, peer => handlers.announced(peer, { kind: 'have', index })) }],
      ['have-all', function (this: Wire) { guard(this, peer => handlers.announced(peer, { kind: 'have-all' })) }],
      ['unchoke', function (this: Wire) { guard(this, peer => down.fill(peer)) }],
      ['choke', function (this: Wire) { guard(this, peer => down.onChoke(peer)) }],
      ['reject', function (this: Wire, index: number, offset: number, length: number) { guard(this, peer => down.onReject(peer, index, offset, length)) }],
      ['piece', function (this: Wire, index: number, offset: number, block: Uint8Array) { guard(this, peer => down.onBlock(peer, index, offset, block)) }],
      ['request', function (this: Wire, index: number, offset: number, length: number, respond: (err: Error | null, buf?: Uint8Array) => void) {
        guard(this, peer => up.onRequest(peer, index, offset, length, respond))
      }],
      ['interested', function (this: Wire) { guard(this, peer => up.onInterest(peer)) }],
      ['uninterested', function (this: Wire) { guard(this, peer => up.onInterest(peer)) }],
      ['upload', function (this: Wire, length: number) { guard(this, peer => up.onUpload(peer, length)) }],
      ['unknownmessage', function (this: Wire, message: Uint8Array) { guard(this, peer => handlers.unknownMessage(peer, message)) }]
    ]
  }

  /** Listen to the peer's wire. */
  attach (peer: Peer): void {
    this.peers.set(peer.wire, peer)
    for (const [event, listener] of this.listeners) peer.wire.on(event, listener)
  }

  /** The peer whose wire this is, while the swarm listens to it. */
  peerOf (wire: Wire): Peer | undefined {
    return this.peers.get(wire)
  }
}
