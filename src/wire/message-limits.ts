/**
 * Bounds on peer wire messages (BEP 3, 6, 10, 52) that bittorrent-protocol does not enforce: it buffers
 * whatever length prefix a peer sends and reads fixed fields past the end of short messages.
 */
import { MalformedMessageError, OversizedBencodeError, OversizedMessageError } from '../errors.js'
import { hashMessageLengthError } from './hash-messages.js'

/** Largest message accepted: a bitfield for 8 Mi pieces, or a 16 KiB block plus headers, fits. */
export const MAX_MESSAGE_LENGTH = (1 << 20) + 64
/** Largest BEP 10 extended handshake (a bencoded dict that is usually under 1 KiB). */
export const MAX_EXTENDED_HANDSHAKE_LENGTH = 64 * 1024
/** Largest block a peer may send us or ask of us (BEP 3 recommends 16 KiB; many clients accept 128 KiB). */
export const MAX_BLOCK_LENGTH = 128 * 1024

/** Exact lengths of the fixed-size messages, by id (length prefix value, id byte included). */
const FIXED_LENGTH: ReadonlyMap<number, number> = new Map([
  [0, 1], [1, 1], [2, 1], [3, 1], // choke, unchoke, interested, not interested (BEP 3)
  [4, 5], // have
  [6, 13], [8, 13], // request, cancel
  [9, 3], // port (BEP 5)
  [0x0d, 5], [0x0e, 1], [0x0f, 1], [0x10, 13], [0x11, 5] // suggest, have all, have none, reject, allowed fast (BEP 6)
])

export function checkMessageLength (length: number): void {
  if (length > MAX_MESSAGE_LENGTH) throw new OversizedMessageError(`message of ${length} bytes exceeds ${MAX_MESSAGE_LENGTH}`)
}

export function checkMessage (message: Uint8Array): void {
  const id = message[0]!
  const fixed = FIXED_LENGTH.get(id)
  if (fixed !== undefined && message.length !== fixed) {
    throw new MalformedMessageError(`message id ${id} must be ${fixed} bytes long, got ${message.length}`)
  }
  if (id === 7 && (message.length < 9 || message.length - 9 > MAX_BLOCK_LENGTH)) {
    throw new MalformedMessageError(`piece message with a ${message.length - 9}-byte block`)
  }
  if (id === 5 && message.length < 1) throw new MalformedMessageError('empty bitfield')
  const hashReason = hashMessageLengthError(message)
  if (hashReason !== undefined) throw new MalformedMessageError(hashReason)
  if (id === 20) {
    if (message.length < 2) throw new MalformedMessageError('extended message without an extended id')
    if (message[1] === 0 && message.length - 2 > MAX_EXTENDED_HANDSHAKE_LENGTH) {
      throw new OversizedBencodeError(`extended handshake of ${message.length - 2} bytes exceeds ${MAX_EXTENDED_HANDSHAKE_LENGTH}`)
    }
  }
}
