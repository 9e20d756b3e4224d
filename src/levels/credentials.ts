/** What a user may supply to join a torrent; each level reads its own part and ignores the rest. */
import type { CertificateSource } from './full-strict/certificate-source.js'
import type { StrictCredentials } from './strict.js'

export interface TorrentCredentials extends StrictCredentials {
  /** Full Strict: where our peer certificate comes from (files, or the secure tracker). */
  readonly certificates?: CertificateSource
}
