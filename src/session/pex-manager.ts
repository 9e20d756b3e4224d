/**
 * Peer exchange for a session (BEP 11, with the bttls flag 0x20): registers ut_pex on every link
 * before its handshakes go out, tells each peer which other peers of the same torrent we are
 * connected to (the full list first, then only changes, at most once per interval), and hands the
 * peers we learn to the session with what their flags say of bttls.
 *
 * The endpoint we list for a peer is where it can be dialed: the remote address and port of an
 * outgoing link, or the remote address and the listen port (`p`) of its extended handshake for an
 * incoming one (an incoming link's source port is ephemeral, and is never listed).
 *
 * Private torrents (BEP 27) never exchange peers. Every level does otherwise: a Strict or Full Strict
 * swarm's links are TLS between authenticated members, so its peer lists stay inside the swarm.
 *
 * This file also keeps the "already connected" view that every discovery source (PEX, trackers, the
 * DHT) goes through, so a peer that dialed us is not dialed back when a tracker names it.
 */
import type { PeerLink } from '../wire/peer-link.js'
import { readCapability } from '../wire/capabilities.js'
import { useExtension } from '../wire/wire-extension.js'
import { endpointKey, plainAddress } from '../codec/endpoint.js'
import { DEFAULT_PEX_INTERVAL_MS, PEX_FLAGS, UtPex, type PexMessage, type PexPeer, type UtPexHost } from '../wire/ut-pex.js'
import type { CapabilityCache, CapabilitySource } from './capability-cache.js'
import type { PeerCandidate, TorrentHandle } from './session.js'

export interface PexOptions {
  /** Interval between two messages to one peer (BEP 11: at most one a minute). Tests shorten it. */
  readonly intervalMs?: number
  /**
   * Messages a peer sends sooner than this after its previous one are ignored (its first is always
   * read). Default half the interval: a peer flooding PEX would make us dial whoever it names.
   */
  readonly minReceiveGapMs?: number
}

/** What the manager needs from the session. */
export interface PexHost {
  readonly capabilities: CapabilityCache
  addPeers (handle: TorrentHandle, candidates: Iterable<PeerCandidate>): void
  /** A peer broke BEP 11; the link is closed with `error` (for the session's log). */
  onPexError? (link: PeerLink, error: Error): void
}

interface LinkState {
  readonly handle: TorrentHandle
  readonly link: PeerLink
  readonly host: string
  /** Where the peer can be dialed, once known (inbound: after its extended handshake). */
  port: number | undefined
  /** The peer advertised bttls in its extended handshake. */
  bttls: boolean
  /** The peer's extended handshake had `e: 1` (BEP 10: prefers encryption). */
  prefersEncryption: boolean
  ext: UtPex | undefined
  /** What this peer has been told: endpoint key -> the endpoint (made at the first message). */
  told: Map<string, PexPeer> | undefined
  timer: NodeJS.Timeout | undefined
  lastReceived: number | undefined
}


/** Each link's state by its wire, for the listener and the ut_pex host that all links share. */
const stateOf = new WeakMap<object, LinkState>()

/** The peer's extended handshake: what it says of bttls, encryption and its listen port. */
function readExtendedHandshake (this: object, ext: string, handshake: Record<string, unknown>): void {
  const state = stateOf.get(this)
  if (ext !== 'handshake' || state === undefined) return
  const cap = readCapability(handshake)
  state.bttls = cap.tls
  state.prefersEncryption = handshake.e === 1
  // Inbound: the listen port it states (`p`) is where others can dial it.
  if (state.port === undefined && cap.port !== undefined) state.port = cap.port
}

export class PexManager {
  private readonly links = new Map<TorrentHandle, Set<LinkState>>()
  private readonly intervalMs: number
  private readonly minReceiveGapMs: number
  private closed = false
  /** One ut_pex host for every link (not closures per link: idle links are many). */
  private readonly pexHost: UtPexHost

  constructor (private readonly host: PexHost, options: PexOptions = {}) {
    this.intervalMs = options.intervalMs ?? DEFAULT_PEX_INTERVAL_MS
    this.minReceiveGapMs = options.minReceiveGapMs ?? this.intervalMs / 2
    this.pexHost = {
      onSupported: ext => {
        const state = stateOf.get(ext.wire)
        if (state === undefined) return
        state.ext = ext
        // The first message right away, as libtorrent does: a new peer learns the swarm at once.
        setImmediate(() => this.sendTo(state.handle, state))
        state.timer = setInterval(() => this.sendTo(state.handle, state), this.intervalMs)
        state.timer.unref()
      },
      onMessage: (ext, msg) => {
        const state = stateOf.get(ext.wire)
        if (state !== undefined) this.receive(state.handle, state, msg)
      },
      onProtocolError: (ext, err) => {
        const state = stateOf.get(ext.wire)
        if (state === undefined) return
        this.host.onPexError?.(state.link, err)
        state.link.close(err)
      }
    }
  }

  /** Call for every link before the swarm sends its handshakes (the extension must be registered first). */
  attach (handle: TorrentHandle, link: PeerLink): void {
    if (this.closed) return
    const state: LinkState = {
      handle,
      link,
      host: plainAddress(link.remoteAddress),
      port: link.direction === 'outbound' ? link.remotePort : undefined,
      bttls: false,
      prefersEncryption: false,
      ext: undefined,
      told: undefined,
      timer: undefined,
      lastReceived: undefined
    }
    const set = this.links.get(handle) ?? new Set<LinkState>()
    this.links.set(handle, set)
    set.add(state)
    stateOf.set(link.wire, state)
    link.wire.on('extended', readExtendedHandshake)
    void link.closed.then(() => {
      if (state.timer !== undefined) clearInterval(state.timer)
      set.delete(state)
    })
    if (this.isPrivate(handle)) return
    useExtension(link.wire, UtPex, this.pexHost)
  }

  /**
   * Hand discovered peers to the session, leaving out those we already have a link with (either
   * direction), so a peer that dialed us is not dialed back.
   */
  feed (handle: TorrentHandle, candidates: Iterable<PeerCandidate>): void {
    if (this.closed) return
    const connected = new Set<string>()
    for (const s of this.links.get(handle) ?? []) if (s.port !== undefined) connected.add(endpointKey(s.host, s.port))
    const fresh: PeerCandidate[] = []
    for (const c of candidates) {
      if (connected.has(endpointKey(c.host, c.port))) {
        // Still worth remembering what the source says of bttls.
        if (c.tls === true) this.host.capabilities.markTls(plainAddress(c.host), c.port, c.source)
        continue
      }
      fresh.push({ ...c, host: plainAddress(c.host) })
    }
    if (fresh.length > 0) this.host.addPeers(handle, fresh)
  }

  /** The endpoints we would list to a peer of `handle` right now (for tests and the log). */
  listed (handle: TorrentHandle, except?: PeerLink): PexPeer[] {
    const out = new Map<string, PexPeer>()
    for (const s of this.links.get(handle) ?? []) {
      if (s.link === except || s.port === undefined) continue
      out.set(endpointKey(s.host, s.port), { host: s.host, port: s.port, flags: this.flagsOf(s) })
    }
    return [...out.values()]
  }

  close (): void {
    this.closed = true
    for (const set of this.links.values()) for (const s of set) if (s.timer !== undefined) clearInterval(s.timer)
    this.links.clear()
  }

  private isPrivate (handle: TorrentHandle): boolean {
    return handle.swarm.metainfo?.private === true
  }

  private flagsOf (s: LinkState): number {
    let flags = 0
    // bttls: the peer said so itself, or reached us over a bttls TLS link (not libtorrent's SSL
    // profile, which is TLS but not bttls), or our memory has it from elsewhere.
    const tlsLink = s.link.transport === 'tls' && s.link.tls?.profile === undefined
    if (s.bttls || tlsLink || (s.port !== undefined && this.host.capabilities.knownTls(s.host, s.port) !== undefined)) flags |= PEX_FLAGS.BTTLS
    // BEP 11 0x01 "prefers encryption" is about MSE: it said `e: 1`, or it spoke MSE to us.
    if (s.prefersEncryption || s.link.transport === 'mse') flags |= PEX_FLAGS.PREFERS_ENCRYPTION
    // 0x10: we reached it ourselves, so its endpoint is known to accept connections.
    if (s.link.direction === 'outbound') flags |= PEX_FLAGS.REACHABLE
    return flags
  }

  private sendTo (handle: TorrentHandle, state: LinkState): void {
    if (this.closed || state.ext === undefined || state.link.wire.destroyed || this.isPrivate(handle)) return
    const now = new Map(this.listed(handle, state.link).map(p => [endpointKey(p.host, p.port), p]))
    // Never tell a peer about itself.
    if (state.port !== undefined) now.delete(endpointKey(state.host, state.port))
    const told = state.told ??= new Map()
    const added = [...now].filter(([k]) => !told.has(k)).slice(0, 50)
    const dropped = [...told].filter(([k]) => !now.has(k)).slice(0, 50)
    if (added.length === 0 && dropped.length === 0) return
    for (const [k, p] of added) told.set(k, p)
    for (const [k] of dropped) told.delete(k)
    const msg: PexMessage = { added: added.map(([, p]) => p), dropped: dropped.map(([, p]) => ({ ...p, flags: 0 })) }
    state.ext.send(msg)
  }

  private receive (handle: TorrentHandle, state: LinkState, msg: PexMessage): void {
    const now = Date.now()
    if (state.lastReceived !== undefined && now - state.lastReceived < this.minReceiveGapMs) return
    state.lastReceived = now
    if (this.isPrivate(handle)) return
    const source: CapabilitySource = 'pex'
    this.feed(handle, msg.added.map(p => ({ host: p.host, port: p.port, tls: (p.flags & PEX_FLAGS.BTTLS) !== 0, source })))
  }
}
