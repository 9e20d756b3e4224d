/**
 * AuthHello (initiator → responder) and AuthReply (responder → initiator) share one fixed layout
 * (BEP: "Binding the BitTorrent session to the TLS session"):
 *
 *   offset 0  version   u8   PROTOCOL_VERSION
 *   offset 1  level     u8   LEVEL_CODES[level]
 *   offset 2  flags     u16  big-endian; only FLAG_PUBLISHER_SIGNATURE is defined, other bits must be zero
 *   offset 4  proof     32 bytes
 *   offset 36 signature 64 bytes, only when FLAG_PUBLISHER_SIGNATURE is set (Strict publisher mode)
 *
 * The header (flags included) is MACed into the proof, so a flag cannot be stripped or added in
 * transit. Fixed sizes keep every read bounded: 36 bytes, then 64 more if the flag says so.
 */
import { MalformedAuthMessageError } from '../errors.js'
import {
  AUTH_HEADER_LENGTH, AUTH_MESSAGE_LENGTH, FLAG_PUBLISHER_SIGNATURE, LEVEL_CODES, PROOF_LENGTH, PROTOCOL_VERSION, PUBLISHER_SIGNATURE_LENGTH
} from './constants.js'

export type LevelName = keyof typeof LEVEL_CODES

export interface AuthMessage {
  readonly level: LevelName
  /** Header flags; default 0. */
  readonly flags?: number
  readonly proof: Uint8Array
  /** The publisher signature, present exactly when flags has FLAG_PUBLISHER_SIGNATURE. */
  readonly signature?: Uint8Array
}

const KNOWN_FLAGS = FLAG_PUBLISHER_SIGNATURE

/** The 4 header bytes, which are also MACed into the proof. */
export function authHeader (level: LevelName, flags = 0): Buffer {
  const header = Buffer.alloc(AUTH_HEADER_LENGTH)
  header[0] = PROTOCOL_VERSION
  header[1] = LEVEL_CODES[level]
  header.writeUInt16BE(flags, 2)
  return header
}

export function encodeAuthMessage (message: AuthMessage): Buffer {
  const flags = message.flags ?? 0
  if (message.proof.length !== PROOF_LENGTH) throw new RangeError(`proof must be ${PROOF_LENGTH} bytes`)
  const signed = (flags & FLAG_PUBLISHER_SIGNATURE) !== 0
  if (signed !== (message.signature !== undefined) || (signed && message.signature!.length !== PUBLISHER_SIGNATURE_LENGTH)) {
    throw new RangeError('a publisher signature of 64 bytes goes with FLAG_PUBLISHER_SIGNATURE, and only with it')
  }
  return Buffer.concat([authHeader(message.level, flags), message.proof, ...(signed ? [message.signature!] : [])])
}

/** How many bytes follow the fixed 36 for this header's flags (read them before decoding). */
export function extensionLength (fixed: Uint8Array): number {
  const flags = ((fixed[2] ?? 0) << 8) | (fixed[3] ?? 0)
  return (flags & FLAG_PUBLISHER_SIGNATURE) !== 0 ? PUBLISHER_SIGNATURE_LENGTH : 0
}

/** Decodes the fixed 36 bytes and the extension `extensionLength` announced, concatenated. */
export function decodeAuthMessage (bytes: Uint8Array): AuthMessage {
  if (bytes.length < AUTH_MESSAGE_LENGTH) {
    throw new MalformedAuthMessageError(`auth message must be at least ${AUTH_MESSAGE_LENGTH} bytes, got ${bytes.length}`)
  }
  if (bytes[0] !== PROTOCOL_VERSION) {
    throw new MalformedAuthMessageError(`unsupported protocol version ${bytes[0]}`)
  }
  const level = levelFromCode(bytes[1]!)
  const flags = (bytes[2]! << 8) | bytes[3]!
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new MalformedAuthMessageError(`unknown flags 0x${flags.toString(16).padStart(4, '0')}`)
  if ((flags & FLAG_PUBLISHER_SIGNATURE) !== 0 && level !== 'strict') {
    throw new MalformedAuthMessageError('a publisher signature is only defined at the strict level')
  }
  const expected = AUTH_MESSAGE_LENGTH + extensionLength(bytes)
  if (bytes.length !== expected) throw new MalformedAuthMessageError(`auth message with flags 0x${flags.toString(16)} must be ${expected} bytes, got ${bytes.length}`)
  const proof = Buffer.from(bytes.subarray(AUTH_HEADER_LENGTH, AUTH_MESSAGE_LENGTH))
  return expected === AUTH_MESSAGE_LENGTH
    ? { level, flags, proof }
    : { level, flags, proof, signature: Buffer.from(bytes.subarray(AUTH_MESSAGE_LENGTH)) }
}

function levelFromCode (code: number): LevelName {
  for (const [name, value] of Object.entries(LEVEL_CODES)) if (value === code) return name as LevelName
  throw new MalformedAuthMessageError(`unknown level code 0x${code.toString(16).padStart(2, '0')}`)
}
