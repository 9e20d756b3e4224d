/**
 * One interface for every security level (BEP: "Overview"). The handshake code asks the level of a
 * torrent for its swarm keys, what it adds to the auth message and its peer checks; the connection
 * layer and the session ask it which transports it allows and how its peers are found. None of them
 * branches on the level's name: adding a level means writing one SwarmLevel.
 */
import type { TLSSocket } from 'node:tls'
import type { CertificateBlock, LevelName } from '../protocol/auth-message.js'

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

/** What follows our proof in our auth message: exactly what our authFlags() announce, nothing else. */
export interface AuthPayload {
  /** Strict publisher mode: the publisher's signature over this connection (FLAG_PUBLISHER_SIGNATURE). */
  readonly signature?: Uint8Array
  /** Full Strict: our certificate and its signature over this connection (FLAG_CERTIFICATE). */
  readonly certificate?: CertificateBlock
}

/**
 * How the peers of a swarm find each other besides PEX and the peers a user names.
 *
 *   public          the torrent's trackers and the DHT under its infohash, as for any torrent (a
 *                   private one, BEP 27, its trackers only).
 *   rendezvous      the same trackers and the DHT, under a hash only holders of the level's input can
 *                   compute (BEP: "Strict rendezvous"): announcing the infohash would show anyone
 *                   watching where a swarm is that its infohash alone must not open.
 *   secure-tracker  only the torrent's secure tracker, with the user's passkey (the certificate
 *                   manager announces to it and feeds its peers).
 */
export type AnnounceMode = 'public' | 'rendezvous' | 'secure-tracker'

export interface SwarmLevel {
  readonly name: LevelName
  /** Keys the peer may identify with. The initiator proves with the first; the responder tries all. */
  readonly swarmKeys: readonly SwarmKey[]
  /**
   * Whether this swarm may also run over MSE or plaintext, when the session's policy allows them.
   * Only where the infohash is the whole secret anyway; such legacy links are upgraded to TLS as soon
   * as the peer says it speaks bttls.
   */
  readonly legacyTransports: boolean
  readonly announce: AnnounceMode
  /**
   * The Basic keys of this torrent's infohashes at a stricter level (empty at Basic): a responder
   * whose proof check failed tries them, to log a LevelMismatchError (the initiator knows the
   * infohash but not the credential) rather than an unknown swarm.
   */
  readonly weakerKeys: readonly SwarmKey[]
  /** What besides the infohash the swarm key needs (for error messages); undefined at Basic. */
  readonly credential?: string
  /** Header flags this side sets in its auth message (0 unless the level adds something). */
  authFlags (): number
  /** What follows our proof, as authFlags() announced it; `header` is our own auth header. */
  authPayload (role: 'initiator' | 'responder', header: Uint8Array, exporter: Uint8Array): AuthPayload
  /** Runs after both proofs verified; throws a BttlsError to refuse the peer. */
  verifyPeer (check: PeerCheck): void | Promise<void>
  /** The 20 bytes trackers and the DHT are told for this swarm under `announce` (computed once, on first call). */
  announceHash (): Buffer
}
