/**
 * AuthHello (initiator → responder) and AuthReply (responder → initiator) share one layout, a fixed
 * 36-byte part then what the flags announce and the padding, both variable in length
 * (BEP: "Binding the BitTorrent session to the TLS session"):
 *
 *   offset 0  version   u8   PROTOCOL_VERSION
 *   offset 1  level     u8   LEVEL_CODES[level]
 *   offset 2  flags     u16  big-endian; FLAG_PUBLISHER_SIGNATURE (Strict) and FLAG_CERTIFICATE (Full
 *                            Strict) are defined, each only at its level; other bits must be zero
 *   offset 4  proof     32 bytes
 *   offset 36 signature 64 bytes, only when FLAG_PUBLISHER_SIGNATURE is set (Strict publisher mode)
 *   offset 36 block     u16 length L (at most MAX_CERTIFICATE_BLOCK), then L bytes:
 *                       u16 n, n bytes of DER certificate, u16 m, m bytes of signature
 *                       — only when FLAG_CERTIFICATE is set (Full Strict)
 *   then      padding   u16 length P (at most MAX_AUTH_PADDING), then P zero bytes
 *
 * The header (flags included) is MACed into the proof, so a flag cannot be stripped or added in
 * transit. The padding is not: TLS protects it, and it only hides the message's length. The
 * responder never reads by these lengths: an AuthHello is the whole of the first record, decoded
 * here from memory. The initiator reads the AuthReply piece by piece, each piece bounded.
 */
import { randomInt } from 'node:crypto'
import { AuthPaddingError, MalformedAuthMessageError } from '../errors.js'
import {
  AUTH_HEADER_LENGTH, AUTH_MESSAGE_LENGTH, AUTH_PADDING_LENGTH_SIZE, FLAG_CERTIFICATE, FLAG_PUBLISHER_SIGNATURE, LEVEL_CODES, MAX_AUTH_PADDING,
  MAX_CERTIFICATE_BLOCK, PROOF_LENGTH, PROTOCOL_VERSION, PUBLISHER_SIGNATURE_LENGTH
} from './constants.js'

export type LevelName = keyof typeof LEVEL_CODES

export interface AuthMessage {
  readonly level: LevelName
  /** Header flags; default 0. */
  readonly flags?: number
  readonly proof: Uint8Array
  /** The publisher signature, present exactly when flags has FLAG_PUBLISHER_SIGNATURE. */
  readonly signature?: Uint8Array
  /** The certificate block, present exactly when flags has FLAG_CERTIFICATE. */
  readonly certificate?: CertificateBlock
  /** Number of padding bytes; default 0 (senders use randomPaddingLength()). */
  readonly padding?: number
}

export interface CertificateBlock {
  /** DER of the peer certificate. */
  readonly cert: Uint8Array
  /** The peer's signature over the connection (certificate key). */
  readonly signature: Uint8Array
}

const KNOWN_FLAGS = FLAG_PUBLISHER_SIGNATURE | FLAG_CERTIFICATE

/** The 4 header bytes, which are also MACed into the proof. */
export function authHeader (level: LevelName, flags = 0): Buffer {
  const header = Buffer.alloc(AUTH_HEADER_LENGTH)
  header[0] = PROTOCOL_VERSION
  header[1] = LEVEL_CODES[level]
  header.writeUInt16BE(flags, 2)
  return header
}

/** A padding length drawn uniformly from 0..MAX_AUTH_PADDING, as the BEP asks of every sender. */
export function randomPaddingLength (): number {
  return randomInt(0, MAX_AUTH_PADDING + 1)
}

export function encodeAuthMessage (message: AuthMessage): Buffer {
  const flags = message.flags ?? 0
  const padding = message.padding ?? 0
  if (!Number.isInteger(padding) || padding < 0 || padding > MAX_AUTH_PADDING) throw new RangeError(`padding must be 0..${MAX_AUTH_PADDING} bytes`)
  if (message.proof.length !== PROOF_LENGTH) throw new RangeError(`proof must be ${PROOF_LENGTH} bytes`)
  const signed = (flags & FLAG_PUBLISHER_SIGNATURE) !== 0
  if (signed !== (message.signature !== undefined) || (signed && message.signature!.length !== PUBLISHER_SIGNATURE_LENGTH)) {
    throw new RangeError('a publisher signature of 64 bytes goes with FLAG_PUBLISHER_SIGNATURE, and only with it')
  }
  const certified = (flags & FLAG_CERTIFICATE) !== 0
  if (certified !== (message.certificate !== undefined)) throw new RangeError('a certificate block goes with FLAG_CERTIFICATE, and only with it')
  return Buffer.concat([
    authHeader(message.level, flags), message.proof,
    ...(signed ? [message.signature!] : []),
    ...(certified ? [encodeCertificateBlock(message.certificate!)] : []),
    u16(padding), Buffer.alloc(padding)
  ])
}

export function encodeCertificateBlock (block: CertificateBlock): Buffer {
  const body = Buffer.concat([u16(block.cert.length), block.cert, u16(block.signature.length), block.signature])
  if (body.length > MAX_CERTIFICATE_BLOCK) throw new RangeError(`certificate block of ${body.length} bytes exceeds ${MAX_CERTIFICATE_BLOCK}`)
  return Buffer.concat([u16(body.length), body])
}

function u16 (n: number): Buffer {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(n)
  return b
}

/**
 * How many bytes follow the fixed 36 for this header's flags, as far as the flags alone say: the
 * publisher signature's 64, or the certificate block's 2-byte length prefix (its value then says how
 * much more to read, at most MAX_CERTIFICATE_BLOCK). The padding follows either.
 */
export function extensionLength (fixed: Uint8Array): number {
  const flags = ((fixed[2] ?? 0) << 8) | (fixed[3] ?? 0)
  return ((flags & FLAG_PUBLISHER_SIGNATURE) !== 0 ? PUBLISHER_SIGNATURE_LENGTH : 0) + ((flags & FLAG_CERTIFICATE) !== 0 ? 2 : 0)
}

/** The certificate block's length, from its prefix (the last 2 bytes read so far); bounded. */
export function certificateBlockLength (prefix: Uint8Array): number {
  const length = (prefix[prefix.length - 2]! << 8) | prefix[prefix.length - 1]!
  if (length > MAX_CERTIFICATE_BLOCK) throw new MalformedAuthMessageError(`certificate block of ${length} bytes exceeds ${MAX_CERTIFICATE_BLOCK}`)
  return length
}

export function hasCertificateBlock (fixed: Uint8Array): boolean {
  return ((((fixed[2] ?? 0) << 8) | (fixed[3] ?? 0)) & FLAG_CERTIFICATE) !== 0
}

/** The padding length, from its prefix (the last 2 bytes read so far); bounded. */
export function paddingLength (prefix: Uint8Array): number {
  const length = (prefix[prefix.length - 2]! << 8) | prefix[prefix.length - 1]!
  if (length > MAX_AUTH_PADDING) throw new AuthPaddingError(`padding of ${length} bytes exceeds ${MAX_AUTH_PADDING}`)
  return length
}

/**
 * The level and flags of the first 4 bytes, checked: known version, known level, only flags defined
 * at that level. Checked as soon as the fixed part is read, before anything its flags announce.
 */
export function decodeHeader (bytes: Uint8Array): { level: LevelName, flags: number } {
  if (bytes[0] !== PROTOCOL_VERSION) {
    throw new MalformedAuthMessageError(`unsupported protocol version ${bytes[0]}`)
  }
  const level = levelFromCode(bytes[1]!)
  const flags = (bytes[2]! << 8) | bytes[3]!
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new MalformedAuthMessageError(`unknown flags 0x${flags.toString(16).padStart(4, '0')}`)
  if ((flags & FLAG_PUBLISHER_SIGNATURE) !== 0 && level !== 'strict') {
    throw new MalformedAuthMessageError('a publisher signature is only defined at the strict level')
  }
  if ((flags & FLAG_CERTIFICATE) !== 0 && level !== 'full-strict') {
    throw new MalformedAuthMessageError('a certificate block is only defined at the full-strict level')
  }
  return { level, flags }
}

/**
 * Decodes one whole auth message: the fixed 36 bytes, the extension its flags announce and the padding,
 * ending exactly at the end of `bytes`.
 */
export function decodeAuthMessage (bytes: Uint8Array): AuthMessage {
  if (bytes.length < AUTH_MESSAGE_LENGTH + AUTH_PADDING_LENGTH_SIZE) {
    throw new MalformedAuthMessageError(`auth message must be at least ${AUTH_MESSAGE_LENGTH + AUTH_PADDING_LENGTH_SIZE} bytes, got ${bytes.length}`)
  }
  const { level, flags } = decodeHeader(bytes)
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const proof = Buffer.from(b.subarray(AUTH_HEADER_LENGTH, AUTH_MESSAGE_LENGTH))
  let at = AUTH_MESSAGE_LENGTH
  const take = (n: number, what: string): Buffer => {
    if (at + n > b.length) throw new MalformedAuthMessageError(`auth message ends inside its ${what}`)
    const part = b.subarray(at, at + n)
    at += n
    return part
  }
  let signature: Buffer | undefined
  let certificate: CertificateBlock | undefined
  if ((flags & FLAG_PUBLISHER_SIGNATURE) !== 0) signature = Buffer.from(take(PUBLISHER_SIGNATURE_LENGTH, 'publisher signature'))
  if ((flags & FLAG_CERTIFICATE) !== 0) {
    const length = certificateBlockLength(take(2, 'certificate block length'))
    certificate = decodeCertificateBlock(Buffer.from(take(length, 'certificate block')))
  }
  const padding = paddingLength(take(AUTH_PADDING_LENGTH_SIZE, 'padding length'))
  const pad = take(padding, 'padding')
  if (pad.some(byte => byte !== 0)) throw new AuthPaddingError('padding bytes must be zero')
  if (at !== b.length) throw new MalformedAuthMessageError(`auth message of ${at} bytes followed by ${b.length - at} more in its record`)
  return { level, flags, proof, padding, ...(signature ? { signature } : {}), ...(certificate ? { certificate } : {}) }
}

function decodeCertificateBlock (body: Buffer): CertificateBlock {
  const fail = (): never => { throw new MalformedAuthMessageError('malformed certificate block') }
  if (body.length < 2) fail()
  const n = body.readUInt16BE(0)
  if (body.length < 2 + n + 2) fail()
  const m = body.readUInt16BE(2 + n)
  if (body.length !== 2 + n + 2 + m || n === 0 || m === 0) fail()
  return { cert: body.subarray(2, 2 + n), signature: body.subarray(4 + n) }
}

function levelFromCode (code: number): LevelName {
  for (const [name, value] of Object.entries(LEVEL_CODES)) if (value === code) return name as LevelName
  throw new MalformedAuthMessageError(`unknown level code 0x${code.toString(16).padStart(2, '0')}`)
}
