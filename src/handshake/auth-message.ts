/**
 * AuthHello (initiator → responder) and AuthReply (responder → initiator) share one fixed layout
 * (BEP: "Binding the BitTorrent session to the TLS session"):
 *
 *   offset 0  version   u8   PROTOCOL_VERSION
 *   offset 1  level     u8   LEVEL_CODES[level]
 *   offset 2  reserved  u16  zero; a receiver rejects anything else
 *   offset 4  proof     32 bytes
 *
 * Fixed size so the reader is bounded (it reads exactly AUTH_MESSAGE_LENGTH bytes) and so every
 * connection's first application record has the same length whatever the torrent.
 */
import { MalformedAuthMessageError } from '../errors.js'
import { AUTH_HEADER_LENGTH, AUTH_MESSAGE_LENGTH, LEVEL_CODES, PROOF_LENGTH, PROTOCOL_VERSION } from './constants.js'

export type LevelName = keyof typeof LEVEL_CODES

export interface AuthMessage {
  readonly level: LevelName
  readonly proof: Uint8Array
}

/** The 4 header bytes, which are also MACed into the proof. */
export function authHeader (level: LevelName): Buffer {
  const header = Buffer.alloc(AUTH_HEADER_LENGTH)
  header[0] = PROTOCOL_VERSION
  header[1] = LEVEL_CODES[level]
  return header
}

export function encodeAuthMessage (message: AuthMessage): Buffer {
  if (message.proof.length !== PROOF_LENGTH) throw new RangeError(`proof must be ${PROOF_LENGTH} bytes`)
  return Buffer.concat([authHeader(message.level), message.proof])
}

export function decodeAuthMessage (bytes: Uint8Array): AuthMessage {
  if (bytes.length !== AUTH_MESSAGE_LENGTH) {
    throw new MalformedAuthMessageError(`auth message must be ${AUTH_MESSAGE_LENGTH} bytes, got ${bytes.length}`)
  }
  if (bytes[0] !== PROTOCOL_VERSION) {
    throw new MalformedAuthMessageError(`unsupported protocol version ${bytes[0]}`)
  }
  const level = levelFromCode(bytes[1]!)
  if (bytes[2] !== 0 || bytes[3] !== 0) throw new MalformedAuthMessageError('reserved bytes are not zero')
  return { level, proof: Buffer.from(bytes.subarray(AUTH_HEADER_LENGTH)) }
}

function levelFromCode (code: number): LevelName {
  for (const [name, value] of Object.entries(LEVEL_CODES)) if (value === code) return name as LevelName
  throw new MalformedAuthMessageError(`unknown level code 0x${code.toString(16).padStart(2, '0')}`)
}
