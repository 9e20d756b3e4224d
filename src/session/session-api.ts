/**
 * The public types of a Session (session.ts): its options, events, torrent handles and peer
 * candidates, apart from the class that implements them.
 */
import type { DialError } from '../errors.js'
import type { SwarmLevel } from '../levels/level.js'
import type { CertificateAndKey } from '../pki/responder-certificate.js'
import type { SendBudgetOptions } from '../swarm/send-budget.js'
import type { Swarm, SwarmOptions } from '../swarm/swarm.js'
import type { Decoy } from '../wire/decoy.js'
import type { DialOptions } from '../wire/dialer.js'
import type { LibtorrentSslSwarm } from '../wire/libtorrent-ssl.js'
import type { Refusal } from '../wire/listener.js'
import type { PeerLink, TransportKind } from '../wire/peer-link.js'
import type { Policy } from '../wire/policy.js'
import type { CapabilitySource } from './capability-cache.js'
import type { DialLimits } from './dial-queue.js'
import type { DhtDiscoveryOptions } from './discovery-dht.js'
import type { TrackerDiscoveryOptions } from './discovery-trackers.js'
import type { DiscoveryEvent } from './discovery.js'
import type { PexOptions } from './pex-manager.js'
import type { BackoffOptions } from './redial-backoff.js'

export interface SessionOptions {
  /** Listening port; 0 picks a free one. */
  readonly port?: number
  /** Listening address. Default 127.0.0.1. */
  readonly host?: string
  readonly policy?: Policy
  /** Append TLS secrets in SSLKEYLOGFILE format to this file (for Wireshark). */
  readonly keylogFile?: string
  readonly swarm?: SwarmOptions
  /** Inbound handshake time bounds (default: the BEP's, see protocol/constants.ts); tests shorten them. */
  readonly timeouts?: { readonly sniffMs?: number, readonly tlsMs?: number, readonly authMs?: number }
  /** How long "this peer speaks bttls" is remembered (default 30 days; see capability-cache.ts). */
  readonly tlsMemoryMs?: number
  /** Keep that memory across restarts in this file: read at start, written at close (capability-file.ts). */
  readonly capabilityFile?: string
  /** Source address of outgoing connections and announces; default `host` unless it is a wildcard. */
  readonly localAddress?: string
  /** Peer exchange (BEP 11 with the bttls flag); false turns it off. See pex-manager.ts. */
  readonly pex?: PexOptions | false
  /** Announce each torrent to its HTTP(S) trackers (and `extra` ones); false: never. See discovery.ts. */
  readonly trackers?: TrackerDiscoveryOptions | false
  /** Run a DHT node bootstrapped from these nodes; absent: no DHT. See discovery.ts. */
  readonly dht?: DhtDiscoveryOptions
  /**
   * Serve libtorrent's SSL-torrent profile (SNI = infohash) for Full Strict torrents on our port.
   * Off by default: it answers anyone who names the infohash in cleartext with our certificate.
   */
  readonly libtorrentCompat?: boolean
  /** Who gets TLS visitors that are not our peers (BEP: "Wire image"); default the built-in site. */
  readonly decoy?: Decoy
  /** The TLS certificate our listener presents; default a generated one, rotated daily. */
  readonly certificate?: CertificateAndKey
  /** Redials of discovered peers that failed back off exponentially (default 0.5 s doubling to 5 min). */
  readonly redialBackoff?: BackoffOptions
  /** How discovered peers are dialed: at once, per second, queued (dial-queue.ts). */
  readonly dialLimits?: DialLimits
  /** Links per torrent beyond which discovered peers are not dialed (they may still dial us). Default 50. */
  readonly maxPeersPerTorrent?: number
  /**
   * Benchmark and test knob: dial every peer, discovered ones included, over this transport only, and
   * disregard what is known of its bttls support (which forbids MSE and plaintext to a bttls peer), so a
   * swarm of such sessions runs on one transport end to end (bench/swarm-scale.ts). It never widens the
   * level: Strict and Full Strict stay TLS-only. Not for real peers: it gives up downgrade protection.
   */
  readonly forceTransport?: TransportKind
  /** Inbound connections held at once per IPv4 address or IPv6 /64 (held-connections.ts). Default 32. */
  readonly maxConnectionsPerAddress?: number
  /** What may be queued for all peers of all torrents together (send-budget.ts). Default 256 MiB. */
  readonly sendBudget?: SendBudgetOptions
}

/** Links per torrent past which discovered peers are not dialed: enough for speed, few enough to stay polite. */
export const DEFAULT_MAX_PEERS_PER_TORRENT = 50

/** A peer learned from PEX, a tracker, the DHT or the user, with what the source says of bttls. */
export interface PeerCandidate {
  readonly host: string
  readonly port: number
  /** The source says the peer speaks bttls (PEX flag 0x20, tracker bttls flag). */
  readonly tls?: boolean
  readonly source: CapabilitySource
}

/**
 * Test and benchmark knobs of Session.connect (see DialOptions). A link dialed with a forced
 * `transport` stays on it: it is not upgraded to TLS when the peer advertises bttls.
 */
export type ConnectOverrides = Pick<DialOptions, 'transport' | 'cipherSuites' | 'libtorrentProfile'>

export interface TorrentHandle {
  readonly swarm: Swarm
  readonly level: SwarmLevel
  readonly wireInfoHash: Buffer
  /**
   * Full Strict torrents: what libtorrent's SSL-torrent profile needs (see libtorrent-ssl.ts). For a
   * Full Strict magnet link, set once the metadata has arrived and passed its checks: the profile's name
   * rule needs the torrent's name.
   */
  libtorrentSsl?: LibtorrentSslSwarm | undefined
}

export interface SessionEvents {
  /** A peer connection reached a swarm (any transport, either direction). */
  link: [PeerLink]
  /** An inbound connection was refused (typed error). */
  refused: [Refusal]
  /** An outgoing connection failed on every transport the policy allows. */
  'dial-failed': [{ host: string, port: number, error: DialError }]
  /** An outgoing connection ended on a weaker transport than it tried first, and why each failed. */
  fallback: [{ host: string, port: number, transport: TransportKind, from: ReadonlyArray<{ transport: string, error: Error }> }]
  /** A peer known to speak bttls could not be reached over TLS, and was NOT dialed in the clear. */
  'downgrade-refused': [{ host: string, port: number, knownFrom: CapabilitySource, error: DialError }]
  /** A peer known to speak bttls showed up on a plaintext/MSE link without advertising it (flags stripped?). */
  'downgrade-suspected': [{ host: string, port: number, transport: TransportKind, knownFrom: CapabilitySource }]
  /** A plaintext/MSE link was replaced by a TLS link to the same peer, after it advertised bttls. */
  upgraded: [{ host: string, port: number, from: TransportKind }]
  /** What tracker and DHT discovery did (announces, failures, torrents withheld and why). */
  discovery: [DiscoveryEvent]
  /** A peer broke BEP 11 (PEX); its link was closed. */
  'pex-error': [{ host: string, port: number, error: Error }]
}

