/**
 * Which security level a torrent runs at, with which infohashes and credentials. Torrents without
 * bttls parameters are Basic; info["bttls"] makes them Strict, info["ssl-cert"] Full Strict.
 */
import { basicLevel } from '../levels/basic.js'
import type { SwarmLevel } from '../levels/level.js'
import { strictLevel } from '../levels/strict.js'
import type { StrictInfo } from '../torrent/strict-info.js'
import type { TorrentCredentials } from '../levels/credentials.js'
import { fullStrictLevel } from '../levels/full-strict/full-strict.js'
import { staticCertificateSource } from '../levels/full-strict/certificate-source.js'
import type { LevelName } from '../protocol/auth-message.js'

export interface LevelSource {
  readonly infoHashV1?: Uint8Array
  readonly infoHashV2?: Uint8Array
  readonly strict?: StrictInfo
  /** A secret carried by the .torrent (`bttls secret`) or the magnet (`x.bttls.secret`). */
  readonly strictSecret?: Uint8Array
  /** Full Strict: the swarm CA (info["ssl-cert"]) and the torrent name certificates are bound to. */
  readonly sslCert?: string
  readonly name?: string
}

/** v2 first: the initiator proves with the first key, and the v2 key has 256 bits of input. */
export function levelFor (source: LevelSource, credentials: TorrentCredentials = {}): SwarmLevel {
  const preferred = [source.infoHashV2, source.infoHashV1].filter((h): h is Uint8Array => h !== undefined)
  if (source.sslCert !== undefined) {
    const torrent = { name: source.name ?? '', infoHashV1: source.infoHashV1, infoHashV2: source.infoHashV2, caCertPem: source.sslCert }
    return fullStrictLevel(preferred, torrent, credentials.certificates ?? staticCertificateSource(undefined))
  }
  if (source.strict === undefined) return basicLevel(preferred)
  return strictLevel(preferred, source.strict, { ...credentials, secret: credentials.secret ?? source.strictSecret })
}

/** For display: the level and, for Strict, its mode. Never a secret. */
export function describeLevel (source: LevelSource): { level: LevelName, mode?: string } {
  if (source.sslCert !== undefined) return { level: 'full-strict' }
  return source.strict === undefined ? { level: 'basic' } : { level: 'strict', mode: source.strict.mode }
}
