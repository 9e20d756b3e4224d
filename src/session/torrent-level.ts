/**
 * Which security level a torrent runs at, with which infohashes and credentials. Torrents without
 * bttls parameters are Basic; info["bttls"] makes them Strict, info["ssl-cert"] Full Strict (a magnet
 * link says so with x.bttls).
 */
import { basicLevel } from '../levels/basic.js'
import type { SwarmLevel } from '../levels/level.js'
import { strictLevel } from '../levels/strict.js'
import type { StrictInfo } from '../torrent/strict-info.js'
import type { TorrentCredentials } from '../levels/credentials.js'
import { fullStrictLevel } from '../levels/full-strict/full-strict.js'
import { staticCertificateSource } from '../levels/full-strict/certificate-source.js'
import type { LevelName } from '../protocol/auth-message.js'
import { caFingerprint } from '../pki/certificate-profile.js'
import { MissingCredentialError, UntrustedCertificateError } from '../errors.js'

export interface LevelSource {
  readonly infoHashV1?: Uint8Array
  readonly infoHashV2?: Uint8Array
  readonly strict?: StrictInfo
  /** A secret carried by the .torrent (`bttls secret`) or the magnet (`x.bttls.secret`). */
  readonly strictSecret?: Uint8Array
  /** Full Strict: the swarm CA (info["ssl-cert"]) and the torrent name certificates are bound to. */
  readonly sslCert?: string
  /** Full Strict magnet link: the swarm CA's SHA-256 (x.bttls.ca); the CA itself is a credential (swarmCa). */
  readonly caFingerprint?: Uint8Array
  readonly name?: string
}

/** v2 first: the initiator proves with the first key, and the v2 key has 256 bits of input. */
export function levelFor (source: LevelSource, credentials: TorrentCredentials = {}): SwarmLevel {
  const preferred = [source.infoHashV2, source.infoHashV1].filter((h): h is Uint8Array => h !== undefined)
  const caCertPem = source.sslCert ?? (source.caFingerprint !== undefined ? linkedSwarmCa(source.caFingerprint, credentials.swarmCa) : undefined)
  if (caCertPem !== undefined) {
    // Before a magnet's metadata the name is the link's dn at most: only the libtorrent binding reads it.
    const torrent = { name: source.name ?? '', infoHashV1: source.infoHashV1, infoHashV2: source.infoHashV2, caCertPem }
    return fullStrictLevel(preferred, torrent, credentials.certificates ?? staticCertificateSource(undefined))
  }
  if (source.strict === undefined) return basicLevel(preferred)
  return strictLevel(preferred, source.strict, { ...credentials, secret: credentials.secret ?? source.strictSecret })
}

/**
 * The hash a Strict torrent is announced under (BEP: "Strict rendezvous"), when the torrent or link
 * and `credentials` hold what it needs; what a tracker operator whitelists. Undefined otherwise.
 */
export function strictRendezvousOf (source: LevelSource, credentials: TorrentCredentials = {}): Buffer | undefined {
  if (source.strict === undefined) return undefined
  try {
    return levelFor(source, credentials).announceHash()
  } catch (err) {
    if (err instanceof MissingCredentialError) return undefined
    throw err
  }
}

/** A Full Strict link's CA: the certificate given, if it is the one the link names by its hash. */
function linkedSwarmCa (fingerprint: Uint8Array, swarmCa: string | undefined): string {
  if (swarmCa === undefined) {
    throw new MissingCredentialError('a Full Strict magnet link needs its swarm CA certificate, which its secure tracker presents (fetchSwarmCa)')
  }
  if (!caFingerprint(swarmCa).equals(fingerprint)) {
    throw new UntrustedCertificateError('the swarm CA certificate given is not the one the link\'s x.bttls.ca names')
  }
  return swarmCa
}

/** For display: the level and, for Strict, its mode. Never a secret. */
export function describeLevel (source: LevelSource): { level: LevelName, mode?: string } {
  if (source.sslCert !== undefined || source.caFingerprint !== undefined) return { level: 'full-strict' }
  return source.strict === undefined ? { level: 'basic' } : { level: 'strict', mode: source.strict.mode }
}
