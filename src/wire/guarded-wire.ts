/**
 * A bittorrent-protocol Wire with our message bounds installed. bittorrent-protocol has no hook for
 * this, so the two parser steps it re-arms for every message (`_onMessageLength`, `_onMessage`) are
 * wrapped on the instance; a violation is reported once through `onViolation` and parsing stops.
 */
import Wire from 'bittorrent-protocol'
import { checkMessage, checkMessageLength } from './message-limits.js'

interface WireParser {
  _onMessageLength (buffer: Uint8Array): void
  _onMessage (buffer: Uint8Array): void
  _parse (size: number, parser: (buffer: Uint8Array) => void): void
}

export function createGuardedWire (type: 'tcpIncoming' | 'tcpOutgoing', peEnabled: 0 | 1 | 2, onViolation: (err: Error) => void): Wire {
  const wire = new Wire(type, peEnabled)
  const parser = wire as unknown as WireParser
  const onLength = parser._onMessageLength
  const onMessage = parser._onMessage
  const stop = (err: unknown): void => {
    parser._parse(Number.MAX_SAFE_INTEGER, () => {})
    onViolation(err as Error)
  }
  parser._onMessageLength = function (buffer) {
    const length = ((buffer[0]! << 24) >>> 0) + (buffer[1]! << 16) + (buffer[2]! << 8) + buffer[3]!
    try { checkMessageLength(length) } catch (err) { stop(err); return }
    onLength.call(this, buffer)
  }
  parser._onMessage = function (buffer) {
    try { checkMessage(buffer) } catch (err) { stop(err); return }
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
