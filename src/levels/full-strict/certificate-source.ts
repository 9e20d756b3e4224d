/**
 * Where a Full Strict peer gets its certificate: a file pair given by the user (static), or the
 * secure tracker's certificate manager, which renews before expiry (src/tracker/client/certificate-manager.ts).
 * The level asks for the current certificate at every handshake, so a renewal applies to new
 * connections without touching established ones.
 */
import { EventEmitter } from 'node:events'

export interface PeerCredential {
  readonly certPem: string
  readonly keyPem: string
}

export interface CertificateSource {
  current (): PeerCredential | undefined
  /** Serials (hex) the authority revoked for this torrent; a peer presenting one is refused. */
  revokedSerials (): ReadonlySet<string>
  on (event: 'certificate', listener: (credential: PeerCredential) => void): unknown
  /**
   * A magnet link's metadata arrived, so the torrent's name is known: a source that announces to a
   * secure tracker checks that tracker's host against it (BEP: "Certificate issuance"), and throws
   * to stop the torrent.
   */
  torrentNamed? (name: string): void
}

/** A certificate and key from files, never renewed; revocations as given. */
export function staticCertificateSource (credential: PeerCredential | undefined, revoked: ReadonlySet<string> = new Set()): CertificateSource {
  const events = new EventEmitter()
  return {
    current: () => credential,
    revokedSerials: () => revoked,
    on: (event, listener) => events.on(event, listener)
  }
}
