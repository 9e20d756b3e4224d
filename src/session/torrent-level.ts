/**
 * Which security level a torrent runs at, with which infohashes and credentials. Torrents without
 * bttls parameters are Basic; info["bttls"] makes them Strict (Full Strict lands with its issue).
 */
import { basicLevel } from '../levels/basic.js'
import type { SwarmLevel } from '../levels/level.js'
import { strictLevel, type StrictCredentials, type StrictInfo } from '../levels/strict.js'
import type { LevelName } from '../handshake/auth-message.js'

export interface LevelSource {
  readonly infoHashV1?: Uint8Array
  readonly infoHashV2?: Uint8Array
  readonly strict?: StrictInfo
  /** A secret carried by the .torrent (`bttls secret`) or the magnet (`x.bttls.secret`). */
  readonly strictSecret?: Uint8Array
}

/** v2 first: the initiator proves with the first key, and the v2 key has 256 bits of input. */
export function levelFor (source: LevelSource, credentials: StrictCredentials = {}): SwarmLevel {
  const preferred = [source.infoHashV2, source.infoHashV1].filter((h): h is Uint8Array => h !== undefined)
  if (source.strict === undefined) return basicLevel(preferred)
  return strictLevel(preferred, source.strict, { ...credentials, secret: credentials.secret ?? source.strictSecret })
}

/** For display: the level and, for Strict, its mode. Never a secret. */
export function describeLevel (source: LevelSource): { level: LevelName, mode?: string } {
  return source.strict === undefined ? { level: 'basic' } : { level: 'strict', mode: source.strict.mode }
}
