/** What a user may supply to join a torrent; each level reads its own part and ignores the rest. */
import type { CertificateSource } from './full-strict/certificate-source.js'
import type { StrictCredentials } from './strict.js'

export interface TorrentCredentials extends StrictCredentials {
  /** Full Strict: where our peer certificate comes from (files, or the secure tracker). */
  readonly certificates?: CertificateSource
  /**
   * Full Strict magnet link: the swarm CA certificate (PEM) that the link's x.bttls.ca names, as its
   * secure tracker presented it (tracker/client/swarm-ca.ts). A .torrent file carries it in `ssl-cert`.
   */
  readonly swarmCa?: string
}
