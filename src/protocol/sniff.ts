/**
 * Same-port detection (BEP: "Same-port detection"). The listener looks at the first bytes of an
 * accepted connection and decides which protocol it speaks:
 *
 *   16 03 0{1..4} LL LL 01 HH HH HH   a TLS handshake record carrying a ClientHello  -> 'tls'
 *   13 'BitTorrent protocol'          the BEP 3 handshake                              -> 'plain'
 *   anything else                     MSE/PE starts with 96 random bytes (Ya)           -> 'mse'
 *
 * A random MSE Ya passes the TLS checks with probability about 2^-32 (bytes 0, 1 and 5 fixed, byte 2
 * one of four values, the record length in range), so MSE peers are not misrouted in practice.
 */
import { UnrecognizedProtocolError } from '../errors.js'
import { MAX_CLIENT_HELLO_LENGTH } from './constants.js'

export type SniffResult = 'tls' | 'plain' | 'mse' | 'need-more'

const BT_PROTOCOL = Buffer.from('\x13BitTorrent protocol', 'latin1')
/** Bytes needed to decide in the worst case (the BT handshake prefix). */
export const SNIFF_MAX_BYTES = BT_PROTOCOL.length
const TLS_PREFIX_LENGTH = 9
const MAX_PLAINTEXT_RECORD = 16_384

export function sniff (bytes: Uint8Array): SniffResult {
  if (bytes.length === 0) return 'need-more'
  if (bytes[0] === 0x16) return sniffTls(bytes)
  if (bytes[0] === 0x13) {
    const n = Math.min(bytes.length, BT_PROTOCOL.length)
    if (!BT_PROTOCOL.subarray(0, n).equals(Buffer.from(bytes.buffer, bytes.byteOffset, n))) return 'mse'
    return bytes.length >= BT_PROTOCOL.length ? 'plain' : 'need-more'
  }
  return 'mse'
}

function sniffTls (bytes: Uint8Array): SniffResult {
  const have = Math.min(bytes.length, TLS_PREFIX_LENGTH)
  // Check each byte as soon as it is there, so a non-TLS stream is handed to MSE without waiting.
  if (have > 1 && bytes[1] !== 0x03) return 'mse'
  if (have > 2 && (bytes[2]! < 0x01 || bytes[2]! > 0x04)) return 'mse'
  if (have > 5 && bytes[5] !== 0x01) return 'mse'
  if (have < TLS_PREFIX_LENGTH) return 'need-more'
  const recordLength = (bytes[3]! << 8) | bytes[4]!
  const helloLength = (bytes[6]! << 16) | (bytes[7]! << 8) | bytes[8]!
  // RFC 8446 §5.1: a TLSPlaintext record (which carries the ClientHello) is at most 2^14 bytes.
  if (recordLength === 0 || recordLength > MAX_PLAINTEXT_RECORD) return 'mse'
  if (helloLength > MAX_CLIENT_HELLO_LENGTH) {
    throw new UnrecognizedProtocolError(`ClientHello of ${helloLength} bytes exceeds the ${MAX_CLIENT_HELLO_LENGTH}-byte limit`)
  }
  return 'tls'
}
