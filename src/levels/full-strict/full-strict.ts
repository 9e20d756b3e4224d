/**
 * Full Strict level (BEP: "Full Strict"): every peer holds a short-lived certificate issued for this
 * torrent by the swarm CA the torrent carries (`ssl-cert`). Without SNI the responder cannot choose a
 * certificate during the TLS handshake, so certificates travel inside the tunnel: each side's auth
 * message carries its certificate and a signature, with the certificate's key, over the connection's
 * exporter. Both sides verify chain, validity, torrent binding and revocation, and the signature.
 */
import { createPrivateKey, sign, verify, X509Certificate } from 'node:crypto'
import { CertificateProofError, CertificateRequiredError } from '../../errors.js'
import { CERTIFICATE_PROOF_LABEL, FLAG_CERTIFICATE, FULL_STRICT_KEY_INFO } from '../../protocol/constants.js'
import { deriveSwarmKey, roleLabel, type Role } from '../../protocol/key-schedule.js'
import { basicSwarmKey } from '../basic.js'
import { announcedInfoHash, wireForm, type PeerCheck, type SwarmLevel } from '../level.js'
import { caFingerprint, verifyPeerCertificate, type TorrentBinding } from '../../pki/certificate-profile.js'
import type { CertificateSource } from './certificate-source.js'

export interface FullStrictTorrent extends TorrentBinding {
  /** The swarm CA certificate (PEM), from the info dict's `ssl-cert`. */
  readonly caCertPem: string
}

export function fullStrictSwarmKey (infoHash: Uint8Array, caCertPem: string): Buffer {
  return deriveSwarmKey(Buffer.concat([infoHash, caFingerprint(caCertPem)]), FULL_STRICT_KEY_INFO)
}

/** What a certificate holder signs: label, the signer's role label, its header, the exporter. */
export function certificateSignedBytes (role: Role, header: Uint8Array, exporter: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(CERTIFICATE_PROOF_LABEL, 'latin1'), Buffer.from(roleLabel(role), 'latin1'), header, exporter])
}

/**
 * @param infoHashes the torrent's infohashes, preferred first.
 */
export function fullStrictLevel (infoHashes: readonly Uint8Array[], torrent: FullStrictTorrent, certificates: CertificateSource): SwarmLevel {
  if (infoHashes.length === 0) throw new RangeError('a torrent has at least one infohash')
  const swarmKeys = infoHashes.map(ih => ({ infoHash: ih, key: fullStrictSwarmKey(ih, torrent.caCertPem) }))
  // Parsed once per credential, not per handshake (twice per handshake before: flags and certificate).
  let parsed: { source: object, certDer: Buffer, key: ReturnType<typeof createPrivateKey> } | undefined
  const credential = (): { certDer: Buffer, key: ReturnType<typeof createPrivateKey> } => {
    const current = certificates.current()
    if (!current) throw new CertificateRequiredError('no certificate for this Full Strict torrent yet (the tracker has not issued one)')
    if (parsed?.source !== current) parsed = { source: current, certDer: new X509Certificate(current.certPem).raw, key: createPrivateKey(current.keyPem) }
    return parsed
  }
  return {
    name: 'full-strict',
    swarmKeys,
    legacyTransports: false,
    announce: 'secure-tracker',
    weakerKeys: infoHashes.map(basicSwarmKey),
    credential: 'swarm CA',
    authFlags: () => { credential(); return FLAG_CERTIFICATE },
    authPayload: (role, header, exporter) => {
      const { certDer, key } = credential()
      return { certificate: { cert: certDer, signature: sign('sha256', certificateSignedBytes(role, header, exporter), key) } }
    },
    verifyPeer: (check: PeerCheck) => {
      const block = check.peerCertificate
      if (block === undefined) throw new CertificateRequiredError('the peer presented no certificate')
      verifyPeerCertificate({ certDer: block.cert, caCertPem: torrent.caCertPem, torrent, revokedSerials: certificates.revokedSerials() })
      const peerRole = check.role === 'initiator' ? 'responder' : 'initiator'
      const publicKey = new X509Certificate(Buffer.from(block.cert)).publicKey
      if (!verify('sha256', certificateSignedBytes(peerRole, check.peerHeader, check.exporter), publicKey, block.signature)) {
        throw new CertificateProofError('the peer\'s signature over this connection does not verify under its certificate')
      }
    },
    // What its secure tracker is told (with the passkey); the session announces it nowhere else.
    announceHash: () => wireForm(announcedInfoHash(infoHashes))
  }
}
