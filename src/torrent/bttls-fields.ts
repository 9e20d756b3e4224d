/**
 * The bttls keys of a torrent file (BEP: "Strict", "Where the Strict inputs live"):
 *
 *   info["bttls"]         dict, inside the info dict so that it changes the infohash: a Strict torrent
 *                         is its own swarm, which legacy peers reaching it by a public infohash never join.
 *     "level"             "strict"
 *     "mode"              "secret" | "passphrase" | "publisher"
 *     "commitment"        secret mode: 32 bytes, SHA-256(STRICT_COMMITMENT_LABEL || secret)
 *     "publisher key"     publisher mode: 32-byte Ed25519 public key
 *   ["bttls secret"]      top level, secret mode only: the 32-byte secret. Outside the info dict, so it
 *                         is never sent over BEP 9 and the .torrent file is the credential.
 */
import type { StrictInfo, StrictMode } from './strict-info.js'
import { PUBLISHER_KEY_LENGTH, STRICT_SECRET_LENGTH } from '../protocol/constants.js'
import { BencodeDict, type BencodeValue, type Encodable } from '../codec/bencode.js'
import { InvalidTorrentError } from './errors.js'

export const INFO_KEY = 'bttls'
export const SECRET_KEY = 'bttls secret'
const MODES: readonly StrictMode[] = ['secret', 'passphrase', 'publisher']

export function parseStrictInfo (value: BencodeValue | undefined): StrictInfo | undefined {
  if (value === undefined) return undefined
  if (!(value instanceof BencodeDict)) throw new InvalidTorrentError('info.bttls is not a dict')
  const level = text(value.get('level'), 'info.bttls.level')
  if (level !== 'strict') throw new InvalidTorrentError(`info.bttls.level "${level}" is not a level this version knows`)
  const mode = text(value.get('mode'), 'info.bttls.mode') as StrictMode
  if (!MODES.includes(mode)) throw new InvalidTorrentError(`info.bttls.mode "${mode}" is not one of ${MODES.join(', ')}`)
  if (mode === 'secret') return { mode, commitment: bytes(value.get('commitment'), 'info.bttls.commitment', 32) }
  if (mode === 'publisher') return { mode, publisherKey: bytes(value.get('publisher key'), 'info.bttls.publisher key', PUBLISHER_KEY_LENGTH) }
  return { mode }
}

export function parseStrictSecret (value: BencodeValue | undefined): Buffer | undefined {
  return value === undefined ? undefined : bytes(value, 'bttls secret', STRICT_SECRET_LENGTH)
}

export function encodeStrictInfo (info: StrictInfo): Record<string, Encodable> {
  const dict: Record<string, Encodable> = { level: 'strict', mode: info.mode }
  if (info.commitment) dict.commitment = info.commitment
  if (info.publisherKey) dict['publisher key'] = info.publisherKey
  return dict
}

function text (v: BencodeValue | undefined, where: string): string {
  if (!Buffer.isBuffer(v)) throw new InvalidTorrentError(`${where} is missing or not a string`)
  return v.toString('utf8')
}

function bytes (v: BencodeValue | undefined, where: string, length: number): Buffer {
  if (!Buffer.isBuffer(v) || v.length !== length) throw new InvalidTorrentError(`${where} must be a ${length}-byte string`)
  return Buffer.from(v)
}
