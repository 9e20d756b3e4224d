/**
 * A bittorrent-protocol Wire with our message bounds installed. bittorrent-protocol has no hook for
 * this, so the two parser steps it re-arms for every message (`_onMessageLength`, `_onMessage`) are
 * wrapped on the instance; a violation is reported once through `onViolation` and parsing stops.
 *
 * Two kinds of bound: each message's shape (message-limits.ts), and the link's budget of control
 * messages over time (message-rate.ts).
 */
import Wire from 'bittorrent-protocol'
import { checkMessage, checkMessageLength } from './message-limits.js'
import {
  BITFIELD_MESSAGE_ID, DEFAULT_MESSAGE_RATE, EXTENDED_MESSAGE_ID, HAVE_MESSAGE_ID, lateAnnouncementCost, MessageBudget, messageName, PIECE_MESSAGE_ID,
  type MessageRateLimits
} from './message-rate.js'

interface WireParser {
  _onMessageLength (buffer: Uint8Array): void
  _onMessage (buffer: Uint8Array): void
  _parse (size: number, parser: (buffer: Uint8Array) => void): void
  /** What the peer announced; bittorrent-protocol replaces it on a bitfield or have-all. */
  readonly peerPieces: { get (index: number): boolean }
}

export function createGuardedWire (
  type: 'tcpIncoming' | 'tcpOutgoing', peEnabled: 0 | 1 | 2, onViolation: (err: Error) => void,
  rate: MessageRateLimits = DEFAULT_MESSAGE_RATE
): Wire {
  const wire = new Wire(type, peEnabled)
  const parser = wire as unknown as WireParser
  const onLength = parser._onMessageLength
  const onMessage = parser._onMessage
  const budget = new MessageBudget(rate)
  // The link's first bitfield and first extended handshake cost one token, later ones by their size.
  const announced = new Set<string>()
  let stopped = false
  const stop = (err: unknown): void => {
    stopped = true
    parser._parse(Number.MAX_SAFE_INTEGER, () => {})
    onViolation(err as Error)
  }
  // A request we answered with its block was work the peer was owed, not a flood.
  wire.on('upload', () => budget.refund())
  parser._onMessageLength = function (buffer) {
    const length = ((buffer[0]! << 24) >>> 0) + (buffer[1]! << 16) + (buffer[2]! << 8) + buffer[3]!
    try {
      checkMessageLength(length)
      if (length === 0) budget.spend('keep-alive')
    } catch (err) { stop(err); return }
    onLength.call(this, buffer)
  }
  parser._onMessage = function (buffer) {
    const id = buffer[0]!
    try { checkMessage(buffer) } catch (err) { stop(err); return }
    if (id === PIECE_MESSAGE_ID) { onMessage.call(this, buffer); return }
    if (id === HAVE_MESSAGE_ID) {
      const index = ((buffer[1]! << 24) >>> 0) + (buffer[2]! << 16) + (buffer[3]! << 8) + buffer[4]!
      const known = parser.peerPieces.get(index)
      onMessage.call(this, buffer)
      // New to the Wire's record (which it grows only so far): the first have of a piece, free.
      if (stopped || (!known && parser.peerPieces.get(index))) return
      try { budget.spend('have') } catch (err) { stop(err) }
      return
    }
    let what = messageName(id)
    let tokens = 1
    const announcement = id === BITFIELD_MESSAGE_ID ? 'bitfield' : id === EXTENDED_MESSAGE_ID && buffer[1] === 0 ? 'extended handshake' : undefined
    if (announcement !== undefined) {
      if (announced.has(announcement)) {
        what = `repeated ${announcement} of ${buffer.length} bytes`
        tokens = lateAnnouncementCost(buffer.length)
      }
      announced.add(announcement)
    }
    try { budget.spend(what, tokens) } catch (err) { stop(err); return }
    onMessage.call(this, buffer)
  }
  return wire
}

/** bittorrent-protocol's `peEnabled` (createGuardedWire's second argument): no MSE. */
export const NO_MSE = 0
/**
 * MSE with RC4 only (crypto_provide and crypto_select 0x02). Its other mode, 1, prefers the plaintext
 * method whenever a peer offers both, which would carry the payload in the clear after an MSE handshake.
 */
export const MSE_RC4_ONLY = 2
