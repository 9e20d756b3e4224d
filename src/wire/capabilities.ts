/**
 * Capability signalling inside the peer wire (BEP: "Capability signalling").
 *
 * BEP 10 extended handshake: `"bttls": 1` says "I accept connections of this extension on my listen
 * port" (the `p` key, or the port the connection came to). Unknown keys are ignored by every BEP 10
 * client, so legacy peers are unaffected. (The `bttls port` key of early drafts is withdrawn: a peer
 * accepts bttls on its listen port, so a receiver ignores it.)
 * BEP 11 PEX: flag 0x20 on an added peer means the same for that peer (see ut-pex.ts).
 */
import type Wire from 'bittorrent-protocol'

export const EXTENSION_KEY = 'bttls'
export const EXTENSION_VERSION = 1
/** BEP 11 `added.f` bit for "supports bttls" (0x20 is unassigned; libtorrent uses 0x80 internally). */
export const PEX_FLAG_BTTLS = 0x20

/** Adds our keys to the extended handshake the wire will send (call before the BT handshakes). */
export function advertise (wire: Wire, listenPort: number): void {
  wire.extendedHandshake[EXTENSION_KEY] = EXTENSION_VERSION
  wire.extendedHandshake.p = listenPort
}

/**
 * A bttls responder sends its extension handshake with its BitTorrent handshake, in the AuthReply's
 * record (BEP: "Records"), instead of waiting for the initiator's handshake: the initiator proved it
 * speaks this extension, whose capability key lives in BEP 10, so it speaks BEP 10. Sent later, the
 * extension handshake left alone between the initiator's requests and the first block, a short
 * record no HTTPS download has, and cost ut_metadata and PEX a round trip. bittorrent-protocol sends
 * it from handshake() when it believes the peer's handshake announced BEP 10; the peer's real
 * handshake replaces this belief when it arrives (test/conformance/bittorrent-protocol-contract.test.ts).
 */
export function expectExtensionProtocol (wire: Wire): void {
  wire.peerExtensions = { ...wire.peerExtensions, extended: true }
}

export interface PeerCapability {
  /** The peer accepts bttls connections. */
  readonly tls: boolean
  /** Where: its listen port `p`, else undefined. */
  readonly port?: number
}

/** Reads a peer's extended handshake (bencode-decoded by bittorrent-protocol). Never throws. */
export function readCapability (handshake: Record<string, unknown>): PeerCapability {
  const version = handshake[EXTENSION_KEY]
  const tls = typeof version === 'number' && version >= 1
  const port = validPort(handshake.p)
  return port === undefined ? { tls } : { tls, port }
}

function validPort (value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value < 65536 ? value : undefined
}
