/**
 * One interface for every security level (BEP: "Overview"). The handshake code asks the level of a
 * torrent for its swarm keys and lets it add TLS options and peer checks; it never branches on the level.
 */
import type { ConnectionOptions, TLSSocket } from 'node:tls'
import type { CertificateBlock, LevelName } from '../handshake/auth-message.js'

export type { LevelName }

/** A key that identifies and authenticates one swarm. A hybrid torrent has two (v1 and v2 infohash). */
export interface SwarmKey {
  /** The infohash this key was derived from (20 bytes v1, 32 bytes v2). Never sent in cleartext. */
  readonly infoHash: Uint8Array
  /** 32-byte HKDF output; the HMAC key of both proofs. */
  readonly key: Uint8Array
}

/**
 * The 20 bytes a BitTorrent handshake carries for an infohash: a v1 infohash as it is, a v2 infohash
 * truncated (BEP 52). Over bttls the handshake must carry this form of the infohash whose key verified.
 */
export function wireForm (infoHash: Uint8Array): Buffer {
  return Buffer.from(infoHash.subarray(0, 20))
}

/**
 * Where the session announces a swarm on public trackers and the DHT: under `hash` (20 bytes), or
 * nowhere, for the reason given (the level finds its peers another way). BEP: "Strict rendezvous".
 */
export type Rendezvous = { readonly hash: Buffer } | { readonly withheld: string }

/** The infohash a swarm is announced by: the v1 infohash when the torrent has one, else the v2 one. */
export function announcedInfoHash (infoHashes: readonly Uint8Array[]): Uint8Array {
  const v1 = infoHashes.find(h => h.length === 20)
  const chosen = v1 ?? infoHashes[0]
  if (chosen === undefined) throw new RangeError('a torrent has at least one infohash')
  return chosen
}

export interface PeerCheck {
  /** Our role on this connection. */
  readonly role: 'initiator' | 'responder'
  readonly socket: TLSSocket
  readonly exporter: Uint8Array
  /** The 4-byte header of the peer's auth message (its flags say what it added). */
  readonly peerHeader: Uint8Array
  /** The peer's publisher signature, when its flags announced one. */
  readonly peerSignature?: Uint8Array
  /** The peer's certificate block, when its flags announced one. */
  readonly peerCertificate?: CertificateBlock
}

export interface SwarmLevel {
  readonly name: LevelName
  /** Keys the peer may identify with. The initiator proves with the first; the responder tries all. */
  readonly swarmKeys: readonly SwarmKey[]
  /** Extra node:tls options this level needs on the initiator side (e.g. a client certificate). */
  initiatorTlsOptions (): Partial<ConnectionOptions>
  /** Header flags this side sets in its auth message (0 unless the level adds something). */
  authFlags (): number
  /** The publisher signature that follows our proof when authFlags() announces one; the header is ours. */
  authExtension (role: 'initiator' | 'responder', header: Uint8Array, exporter: Uint8Array): Uint8Array | undefined
  /** The certificate block that follows our proof when authFlags() announces one. */
  authCertificate? (role: 'initiator' | 'responder', header: Uint8Array, exporter: Uint8Array): CertificateBlock
  /** Runs after both proofs verified; throws a BttlsError to refuse the peer. */
  verifyPeer (check: PeerCheck): void | Promise<void>
  /** What trackers and the DHT are told for this swarm (computed once, on first call). */
  rendezvous (): Rendezvous
}
