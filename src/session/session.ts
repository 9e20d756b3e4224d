/**
 * A bttls session: one listening port shared by every torrent and transport, a swarm engine per
 * torrent, and outgoing connections made under the session's policy. This is the library entry
 * point the CLI and the demo use.
 */
import { EventEmitter } from 'node:events'
import { createWriteStream, type WriteStream } from 'node:fs'
import { DialError } from '../errors.js'
import type { SwarmLevel } from '../levels/level.js'
import { openFileStore } from '../storage/file-store.js'
import type { PieceStore } from '../storage/piece-store.js'
import { Swarm, type SwarmOptions } from '../swarm/swarm.js'
import { SendBudget } from '../swarm/send-budget.js'
import { metainfoFromInfoDict } from '../torrent/parse-torrent.js'
import type { MagnetLink, Metainfo } from '../torrent/metainfo.js'
import { dial } from '../wire/dialer.js'
import { PeerListener, type ServedSwarm } from '../wire/listener.js'
import type { PeerLink } from '../wire/peer-link.js'
import { DEFAULT_POLICY, type Policy } from '../wire/policy.js'
import { levelFor } from './torrent-level.js'
import { CapabilityCache } from './capability-cache.js'
import { readCapabilityFile, writeCapabilityFile } from './capability-file.js'
import { advertise, readCapability, type PeerCapability } from '../wire/capabilities.js'
import type { LibtorrentSslSwarm } from '../wire/libtorrent-ssl.js'
import { staticCertificateSource } from '../levels/full-strict/certificate-source.js'
import { passphraseSecretAsync, secretCommitment } from '../levels/strict-keys.js'
import type { StrictInfo } from '../torrent/strict-info.js'
import type { TorrentCredentials } from '../levels/credentials.js'
import { MetadataMismatchError } from '../torrent/errors.js'
import { caFingerprint } from '../pki/certificate-profile.js'
import { PexManager } from './pex-manager.js'
import { DialQueue } from './dial-queue.js'
import { PendingDials } from './pending-dials.js'
import { RedialBackoff } from './redial-backoff.js'
import { endpointKey } from '../swarm/ban-list.js'
import { Discovery } from './discovery.js'
import { DEFAULT_MAX_PEERS_PER_TORRENT, type ConnectOverrides, type PeerCandidate, type SessionEvents, type SessionOptions, type TorrentHandle } from './session-api.js'

/** Passphrase torrents: stretch the passphrase for every infohash now, off the event loop. */
async function stretched (metainfo: Pick<Metainfo, 'strict' | 'infoHashV1' | 'infoHashV2'>, credentials: TorrentCredentials): Promise<TorrentCredentials> {
  if (metainfo.strict?.mode !== 'passphrase' || credentials.passphrase === undefined) return credentials
  const hashes = [metainfo.infoHashV2, metainfo.infoHashV1].filter((h): h is Buffer => h !== undefined)
  const secrets = await Promise.all(hashes.map(h => passphraseSecretAsync(credentials.passphrase!, h)))
  return { ...credentials, passphraseSecrets: new Map(hashes.map((h, i) => [h.toString('hex'), secrets[i]!])) }
}

function libtorrentSslOf (metainfo: Metainfo, credentials: TorrentCredentials): LibtorrentSslSwarm | undefined {
  if (metainfo.sslCert === undefined) return undefined
  return {
    binding: metainfo,
    caCertPem: metainfo.sslCert,
    certificates: credentials.certificates ?? staticCertificateSource(undefined),
    // libtorrent's handshake inside carries the v1 infohash, or the truncated v2 one for v2-only torrents.
    wireInfoHash: Buffer.from(metainfo.wireInfoHash)
  }
}

function sameStrict (fromInfo: StrictInfo | undefined, fromMagnet: StrictInfo | undefined, secret: Uint8Array | undefined): boolean {
  if (fromInfo === undefined || fromMagnet === undefined) return fromInfo === fromMagnet
  if (fromInfo.mode !== fromMagnet.mode) return false
  if (fromInfo.mode === 'publisher') return fromInfo.publisherKey!.equals(fromMagnet.publisherKey!)
  if (fromInfo.mode === 'secret') return secret !== undefined && secretCommitment(secret).equals(fromInfo.commitment!)
  return true
}

function sameSwarmCa (fromInfo: string | undefined, fromMagnet: Uint8Array | undefined): boolean {
  if (fromInfo === undefined || fromMagnet === undefined) return fromInfo === fromMagnet
  return caFingerprint(fromInfo).equals(fromMagnet)
}

export { DEFAULT_MAX_PEERS_PER_TORRENT } from './session-api.js'
export type { ConnectOverrides, PeerCandidate, SessionEvents, SessionOptions, TorrentHandle } from './session-api.js'

export class Session extends EventEmitter<SessionEvents> {
  private readonly torrents = new Map<string, TorrentHandle>()
  private readonly stores: PieceStore[] = []
  /** What this session knows of peers' bttls support (downgrade protection). */
  readonly capabilities: CapabilityCache
  /**
   * Outbound endpoints with a live or pending connection, per torrent: one peer named by --peer, a
   * tracker and PEX is dialed once, and every caller of connect() shares that link.
   */
  private readonly dialing = new Map<TorrentHandle, Map<string, Promise<PeerLink | undefined>>>()
  /** Back-off of endpoints from discovery (trackers, PEX, DHT) that failed; see redial-backoff.ts. */
  private readonly backoff = new Map<TorrentHandle, RedialBackoff>()
  /** Links dialed with a forced transport (ConnectOverrides): never upgraded. */
  private readonly pinned = new WeakSet<PeerLink>()
  /** PEX, and the "already connected" filter every discovery source goes through (pex-manager.ts). */
  private readonly pex: PexManager
  /** Every discovered peer waits here for its dial (paced; see dial-queue.ts). */
  private readonly dials: DialQueue
  /** Trackers and the DHT (discovery.ts); set by start(). */
  private discovery!: Discovery
  /** Dials in progress: close() cancels them (pending-dials.ts). */
  private readonly pending = new PendingDials()
  /** The user's, with one bound on what every swarm's links queue for peers that do not read (send-budget.ts). */
  private readonly swarmOptions: SwarmOptions

  private constructor (
    private readonly listener: PeerListener,
    private readonly options: SessionOptions,
    private readonly keylog: WriteStream | undefined
  ) {
    super()
    this.capabilities = new CapabilityCache(options.tlsMemoryMs)
    this.dials = new DialQueue(options.dialLimits)
    this.swarmOptions = { ...options.swarm, sendBudget: options.swarm?.sendBudget ?? new SendBudget(options.sendBudget) }
    this.pex = new PexManager({
      capabilities: this.capabilities,
      addPeers: (h, c) => this.addPeers(h, c),
      onPexError: (link, error) => this.emit('pex-error', { host: link.remoteAddress, port: link.remotePort, error })
    }, options.pex === false ? {} : options.pex)
    listener.on('link', link => this.attach(link))
    listener.on('refused', refusal => this.emit('refused', refusal))
  }

  static async start (options: SessionOptions = {}): Promise<Session> {
    // TLS secrets decrypt the traffic: the file is for its owner only (mode applies when it is created).
    const keylog = options.keylogFile ? createWriteStream(options.keylogFile, { flags: 'a', mode: 0o600 }) : undefined
    let session: Session | undefined
    const listener = await PeerListener.listen({
      port: options.port,
      host: options.host,
      policy: options.policy ?? DEFAULT_POLICY,
      keylog: keylog ? line => keylog.write(line) : undefined,
      swarms: () => session?.servedSwarms() ?? [],
      sniffTimeoutMs: options.timeouts?.sniffMs,
      tlsTimeoutMs: options.timeouts?.tlsMs,
      authTimeoutMs: options.timeouts?.authMs,
      decoy: options.decoy,
      certificate: options.certificate,
      maxConnectionsPerAddress: options.maxConnectionsPerAddress
    })
    session = new Session(listener, options, keylog)
    const s = session
    try {
      if (options.capabilityFile !== undefined) await readCapabilityFile(options.capabilityFile, s.capabilities)
      s.discovery = await Discovery.start({
        port: listener.port,
        policy: s.policy,
        ...(s.localAddress !== undefined ? { localAddress: s.localAddress } : {}),
        feed: (h, c) => s.pex.feed(h, c),
        report: e => s.emit('discovery', e)
      }, s.localAddress ?? options.host ?? '127.0.0.1', { trackers: options.trackers, ...(options.dht ? { dht: options.dht } : {}) })
    } catch (err) {
      await listener.close()
      throw err
    }
    return session
  }

  get port (): number {
    return this.listener.port
  }

  get policy (): Policy {
    return this.options.policy ?? DEFAULT_POLICY
  }

  /** Where our outgoing connections come from: peers list us (PEX) at the address they see. */
  get localAddress (): string | undefined {
    const host = this.options.host ?? '127.0.0.1'
    return this.options.localAddress ?? (host === '0.0.0.0' || host === '::' ? undefined : host)
  }

  /** Our DHT node's UDP endpoint, when the session runs one (other nodes can bootstrap from it). */
  get dhtAddress (): { address: string, port: number } | undefined {
    return this.discovery.dhtAddress
  }

  /**
   * Seed or download a torrent whose metainfo we have, with its data under `dir`. A Strict torrent
   * needs its credentials (unless the .torrent carries its secret): the level is checked before any
   * disk or network work, so a wrong secret fails here with a typed error.
   */
  async addTorrent (metainfo: Metainfo, dir: string, credentials: TorrentCredentials = {}): Promise<TorrentHandle> {
    levelFor(metainfo, credentials) // fail fast on a missing or wrong credential, before any scrypt
    const level = levelFor(metainfo, await stretched(metainfo, credentials))
    const store = await openFileStore(metainfo, dir)
    await store.verifyExisting()
    // The swarm does not own a store it was given; the session opened it, so the session closes it.
    this.stores.push(store)
    const swarm = new Swarm({ metainfo, store }, this.swarmOptions)
    return this.register(swarm, level, libtorrentSslOf(metainfo, credentials))
  }

  /**
   * Join by magnet link: the info dict comes over BEP 9 (inside TLS), then the data into `dir`. A Full
   * Strict link needs `credentials.swarmCa` (its secure tracker presents it: fetchSwarmCa) and
   * `credentials.certificates`; every peer, hence every byte of metadata, is verified against that CA.
   */
  addMagnet (magnet: MagnetLink, dir: string, credentials: TorrentCredentials = {}): TorrentHandle {
    // Passphrase mode: scrypt (~0.6 s per infohash) runs off the event loop, and announcing (which needs
    // the rendezvous, hence the stretched passphrase) waits for it. The level reads the map when it needs a key.
    const secrets = new Map<string, Buffer>()
    const stretching = magnet.strict?.mode === 'passphrase' && credentials.passphrase !== undefined && credentials.passphraseSecrets === undefined
    const level = levelFor(magnet, stretching ? { ...credentials, passphraseSecrets: secrets } : credentials)
    const ready = stretching
      ? stretched(magnet, credentials).then(c => { for (const [hex, secret] of c.passphraseSecrets ?? []) secrets.set(hex, secret) })
      : undefined
    const swarm = new Swarm({
      magnet,
      parseInfo: infoBytes => {
        const parsed = metainfoFromInfoDict(infoBytes, magnet, magnet.trackers)
        // The magnet's Strict claims chose our keys; the info dict (covered by the infohash) must agree. The
        // secret checked is the one the keys came from: the user's, else the link's (levelFor does the same).
        if (!sameStrict(parsed.strict, magnet.strict, credentials.secret ?? magnet.strictSecret)) {
          throw new MetadataMismatchError('the torrent\'s Strict parameters differ from what the magnet link says')
        }
        // Full Strict: likewise for the CA the link named by its hash, which chose our key and verified every peer.
        if (!sameSwarmCa(parsed.sslCert, magnet.caFingerprint)) {
          throw new MetadataMismatchError('the torrent\'s swarm CA (ssl-cert) is not the one the magnet link\'s x.bttls.ca names')
        }
        return parsed
      },
      openStore: async metainfo => {
        // The name is known now: a secure tracker's host must not be one a member's certificate passes as.
        credentials.certificates?.torrentNamed?.(metainfo.name)
        // And the libtorrent profile, whose name rule needs it, may serve the torrent from now on.
        handle.libtorrentSsl = libtorrentSslOf(metainfo, credentials)
        const store = await openFileStore(metainfo, dir)
        await store.verifyExisting()
        return store
      }
    }, this.swarmOptions)
    const handle = this.register(swarm, level, undefined, magnet.trackers, ready)
    return handle
  }

  /**
   * Connect to a peer for a torrent. Resolves with the link once it is handed to the swarm, or
   * undefined if every transport the policy allows failed (reported as 'dial-failed').
   * `overrides` is for tests and benchmarks: force one transport (kept, never upgraded) or cipher suite.
   */
  async connect (handle: TorrentHandle, host: string, port: number, knownTls?: boolean, overrides: ConnectOverrides = {}): Promise<PeerLink | undefined> {
    const key = endpointKey(host, port)
    const links = this.dialing.get(handle) ?? new Map<string, Promise<PeerLink | undefined>>()
    this.dialing.set(handle, links)
    const existing = links.get(key)
    if (existing !== undefined) return await existing
    const pending = this.dialNow(handle, host, port, knownTls, overrides)
    links.set(key, pending)
    const link = await pending
    if (link === undefined) links.delete(key)
    else void link.closed.then(() => { if (links.get(key) === pending) links.delete(key) })
    return link
  }

  /** Dial whether or not a link to the endpoint exists (connect() shares one; an upgrade needs another). */
  private async dialNow (handle: TorrentHandle, host: string, port: number, knownTls?: boolean, overrides: ConnectOverrides = {}): Promise<PeerLink | undefined> {
    const forced = this.options.forceTransport
    const known = forced === undefined ? this.capabilities.knownTls(host, port) : undefined
    if (forced !== undefined) {
      knownTls = undefined
      overrides = { ...overrides, transport: overrides.transport ?? forced }
    }
    knownTls ??= known !== undefined ? true : undefined
    try {
      const link = await this.pending.track(dial({
        ...overrides,
        host, port, knownTls, localAddress: this.localAddress, level: handle.level, wireInfoHash: handle.wireInfoHash, policy: this.policy, libtorrentSsl: handle.libtorrentSsl,
        keylog: this.keylog ? line => this.keylog!.write(line) : undefined,
        signal: this.pending.signal
      }))
      if (this.pending.cancelled) { link.close(); return undefined }
      if (link.fallbackFrom !== undefined) this.emit('fallback', { host, port, transport: link.transport, from: link.fallbackFrom })
      if (overrides.transport !== undefined) this.pinned.add(link)
      this.attach(link)
      return link
    } catch (err) {
      if (this.pending.cancelled) return undefined // cancelled by close(): not the peer's failure
      const error = err instanceof DialError ? err : new DialError(String(err), [])
      if (knownTls === true && known !== undefined) this.emit('downgrade-refused', { host, port, knownFrom: known.source, error })
      this.emit('dial-failed', { host, port, error })
      return undefined
    }
  }

  async close (): Promise<void> {
    this.dials.close()
    await this.pending.cancelAll()
    await this.discovery.close()
    this.pex.close()
    await this.listener.close()
    await Promise.all([...new Set(this.torrents.values())].map(t => t.swarm.destroy()))
    this.torrents.clear()
    await Promise.all(this.stores.splice(0).map(s => s.close()))
    await new Promise<void>(resolve => this.keylog ? this.keylog.end(resolve) : resolve())
    if (this.options.capabilityFile !== undefined) await writeCapabilityFile(this.options.capabilityFile, this.capabilities)
  }

  private * servedSwarms (): Iterable<ServedSwarm> {
    for (const t of new Set(this.torrents.values())) {
      yield { wireInfoHashes: t.swarm.wireInfoHashes, level: t.level, libtorrentSsl: this.options.libtorrentCompat === true ? t.libtorrentSsl : undefined }
    }
  }

  /** `ready`: discovery starts once it settles (the level's announce hash may need work first). */
  private register (swarm: Swarm, level: SwarmLevel, libtorrentSsl?: LibtorrentSslSwarm, trackers: readonly string[] = [],
    ready?: Promise<void>): TorrentHandle {
    const handle: TorrentHandle = { swarm, level, wireInfoHash: swarm.infoHash, ...(libtorrentSsl ? { libtorrentSsl } : {}) }
    // Routed by every 20-byte form its peers' handshakes may carry.
    for (const h of swarm.wireInfoHashes) this.torrents.set(h.toString('hex'), handle)
    const discover = (): void => {
      // Not after close(), which forgets every torrent.
      if (this.torrents.get(handle.wireInfoHash.toString('hex')) !== handle) return
      this.discovery.add(handle, swarm.metainfo?.trackers ?? trackers, swarm.metainfo?.private === true)
    }
    if (ready === undefined) discover()
    else ready.then(discover, discover)
    return handle
  }

  private attach (link: PeerLink): void {
    const handle = this.torrents.get(link.infoHash.toString('hex'))
    if (!handle) { link.close(); return }
    // Before the swarm sends our handshakes: the extended handshake carries the bttls key.
    advertise(link.wire, this.port)
    if (this.options.pex !== false) this.pex.attach(handle, link)
    link.wire.on('extended', (ext: string, handshake: Record<string, unknown>) => {
      if (ext === 'handshake') this.onExtendedHandshake(handle, link, readCapability(handshake))
    })
    // libtorrent's SSL-torrent profile is TLS but not bttls: it says nothing of bttls support.
    if (link.transport === 'tls' && link.tls?.profile === undefined && link.direction === 'outbound') {
      this.capabilities.markTls(link.remoteAddress, link.remotePort, 'tls-link')
    }
    this.emit('link', link)
    handle.swarm.addLink(link)
  }

  /**
   * Learn from a peer's extended handshake, and act: upgrade our own legacy link to a peer that speaks
   * bttls (the initiator re-dials; the responder waits for it, so the pair ends with one TLS link), or
   * say so when a peer we know speaks bttls reaches us in the clear without advertising it.
   */
  private onExtendedHandshake (handle: TorrentHandle, link: PeerLink, cap: PeerCapability): void {
    const port = link.direction === 'outbound' ? link.remotePort : cap.port
    if (cap.tls) {
      if (port !== undefined) this.capabilities.markTls(link.remoteAddress, port, link.transport === 'tls' ? 'tls-link' : 'extended-handshake')
      if (link.transport !== 'tls' && link.direction === 'outbound' && handle.level.legacyTransports && !this.pinned.has(link)) void this.upgrade(handle, link)
      return
    }
    const known = port === undefined ? undefined : this.capabilities.knownTls(link.remoteAddress, port)
    if (link.transport !== 'tls' && known !== undefined && port !== undefined) {
      this.emit('downgrade-suspected', { host: link.remoteAddress, port, transport: link.transport, knownFrom: known.source })
    }
  }

  private async upgrade (handle: TorrentHandle, legacy: PeerLink): Promise<void> {
    // Nothing of the payload over the legacy link while its TLS replacement is dialed. The peer's
    // extended handshake, which starts this, comes before its bitfield and unchoke, so no request of
    // ours has left on it yet.
    handle.swarm.holdRequests(legacy, true)
    const tls = await this.dialNow(handle, legacy.remoteAddress, legacy.remotePort, true)
    if (!tls) {
      handle.swarm.holdRequests(legacy, false)
      return // dialNow() reported it ('downgrade-refused'); the legacy link stays, and says so
    }
    const links = this.dialing.get(handle)
    const key = endpointKey(legacy.remoteAddress, legacy.remotePort)
    if (links !== undefined) {
      const entry = Promise.resolve<PeerLink | undefined>(tls)
      links.set(key, entry)
      void tls.closed.then(() => { if (links.get(key) === entry) links.delete(key) })
    }
    legacy.close()
    this.emit('upgraded', { host: legacy.remoteAddress, port: legacy.remotePort, from: legacy.transport })
  }

  /**
   * Peers from PEX, trackers or the DHT: remember what the source says of bttls, then dial each one not
   * already connected. Dialing follows the policy and the capability memory, as `connect` does.
   */
  addPeers (handle: TorrentHandle, candidates: Iterable<PeerCandidate>): void {
    const backoff = this.backoff.get(handle) ?? new RedialBackoff(this.options.redialBackoff)
    this.backoff.set(handle, backoff)
    for (const c of candidates) {
      if (c.tls === true) this.capabilities.markTls(c.host, c.port, c.source)
      // A complete torrent needs nobody: what PEX names, it leaves to dial us (no reflection through a seeder).
      if (c.source === 'pex' && handle.swarm.complete) continue
      const key = endpointKey(c.host, c.port)
      if (!this.wantsDial(handle, c, key, backoff)) continue
      this.dials.enqueue(`${handle.wireInfoHash.toString('hex')}|${key}`, async () => {
        if (!this.wantsDial(handle, c, key, backoff)) return // things changed while it waited
        const link = await this.connect(handle, c.host, c.port)
        if (!link) { backoff.failed(key); return }
        let delivered = false
        link.wire.once('download', () => { delivered = true; backoff.succeeded(key) })
        void link.closed.then(err => { if (err !== undefined && !delivered) backoff.failed(key) })
      })
    }
  }

  private wantsDial (handle: TorrentHandle, c: PeerCandidate, key: string, backoff: RedialBackoff): boolean {
    if (this.torrents.get(handle.wireInfoHash.toString('hex')) !== handle) return false // removed, or the session closed
    // A shortcut for the obvious case; the swarm refuses any other form of ourselves by peer id.
    if (this.dialing.get(handle)?.has(key) === true || (c.host === (this.options.host ?? '127.0.0.1') && c.port === this.port)) return false
    // Banned, failed recently, connected already (it dialed us) or a seed we let go of: trackers and PEX
    // name the same peers again and again.
    if (handle.swarm.isBanned(c.host, c.port) || !backoff.ready(key) || handle.swarm.needsNoDial(c.host, c.port)) return false
    return handle.swarm.stats().peers < (this.options.maxPeersPerTorrent ?? DEFAULT_MAX_PEERS_PER_TORRENT)
  }
}
