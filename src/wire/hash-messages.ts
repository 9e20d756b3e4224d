/**
 * The BEP 52 peer messages that carry merkle hashes: `hash request` (21), `hashes` (22) and
 * `hash reject` (23). bittorrent-protocol does not know them: it hands them to us as 'unknownmessage'
 * (their lengths are checked first, in message-limits.ts) and we write them raw.
 *
 * Payload: pieces root (32 bytes), then base layer, index, length and proof layers (4 bytes each,
 * big-endian); `hashes` appends the hashes (32 bytes each), `hash reject` repeats the request.
 */
import type Wire from 'bittorrent-protocol'
import { MalformedMessageError } from '../errors.js'
import { HASH_SIZE } from '../torrent/merkle.js'
import { MAX_HASH_REQUEST_LENGTH, type HashRequest } from '../torrent/merkle-proof.js'

export const HASH_REQUEST_ID = 21
export const HASHES_ID = 22
export const HASH_REJECT_ID = 23

/** Message length (id byte included) of a hash request or hash reject. */
export const HASH_REQUEST_MESSAGE_LENGTH = 1 + HASH_SIZE + 16
/**
 * Most hashes a `hashes` message may carry: a full request and one uncle per layer of the largest tree
 * (2^32 pieces above the piece layer; real files need far fewer).
 */
export const MAX_HASHES_PER_MESSAGE = MAX_HASH_REQUEST_LENGTH + 32

export type HashMessage =
  | { readonly id: typeof HASH_REQUEST_ID | typeof HASH_REJECT_ID, readonly request: HashRequest }
  | { readonly id: typeof HASHES_ID, readonly request: HashRequest, readonly hashes: Buffer }

export function isHashMessageId (id: number): boolean {
  return id === HASH_REQUEST_ID || id === HASHES_ID || id === HASH_REJECT_ID
}

/** The length rule of each message, for the wire's message bounds: a reason when `message` breaks it. */
export function hashMessageLengthError (message: Uint8Array): string | undefined {
  const id = message[0]!
  if (id === HASH_REQUEST_ID || id === HASH_REJECT_ID) {
    return message.length === HASH_REQUEST_MESSAGE_LENGTH ? undefined : `message id ${id} must be ${HASH_REQUEST_MESSAGE_LENGTH} bytes long, got ${message.length}`
  }
  if (id === HASHES_ID) {
    const extra = message.length - HASH_REQUEST_MESSAGE_LENGTH
    if (extra < 0 || extra % HASH_SIZE !== 0) return `hashes message of ${message.length} bytes is not a header and whole hashes`
    if (extra / HASH_SIZE > MAX_HASHES_PER_MESSAGE) return `hashes message carries ${extra / HASH_SIZE} hashes, more than ${MAX_HASHES_PER_MESSAGE}`
  }
  return undefined
}

/** Decode a message whose length the wire bounds already checked. */
export function decodeHashMessage (message: Uint8Array): HashMessage {
  const reason = hashMessageLengthError(message)
  if (reason !== undefined) throw new MalformedMessageError(reason)
  const id = message[0]!
  const view = Buffer.from(message.buffer, message.byteOffset, message.byteLength)
  const request: HashRequest = {
    piecesRoot: Buffer.from(view.subarray(1, 1 + HASH_SIZE)),
    baseLayer: view.readUInt32BE(33),
    index: view.readUInt32BE(37),
    length: view.readUInt32BE(41),
    proofLayers: view.readUInt32BE(45)
  }
  if (id === HASHES_ID) return { id, request, hashes: Buffer.from(view.subarray(HASH_REQUEST_MESSAGE_LENGTH)) }
  if (id === HASH_REQUEST_ID || id === HASH_REJECT_ID) return { id, request }
  throw new MalformedMessageError(`message id ${id} is not a BEP 52 hash message`)
}

export function encodeHashMessage (id: number, request: HashRequest, hashes?: Uint8Array): Buffer {
  const out = Buffer.alloc(4 + HASH_REQUEST_MESSAGE_LENGTH + (hashes?.length ?? 0))
  out.writeUInt32BE(out.length - 4, 0)
  out[4] = id
  Buffer.from(request.piecesRoot).copy(out, 5)
  out.writeUInt32BE(request.baseLayer, 37)
  out.writeUInt32BE(request.index, 41)
  out.writeUInt32BE(request.length, 45)
  out.writeUInt32BE(request.proofLayers, 49)
  if (hashes !== undefined) Buffer.from(hashes).copy(out, 53)
  return out
}

/** Write a hash message on `wire` (through its encryptor, for MSE links). */
export function sendHashMessage (wire: Wire, id: number, request: HashRequest, hashes?: Uint8Array): void {
  (wire as unknown as { _push: (data: Uint8Array) => void })._push(encodeHashMessage(id, request, hashes))
}
