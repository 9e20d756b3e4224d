/**
 * The Full Strict certificate profile (BEP: "Full Strict", "Certificate profile").
 *
 * Swarm CA: a self-signed X.509 v3 CA certificate, PEM, carried in the info dict as `ssl-cert` (the key
 *   libtorrent's SSL torrents use, so one torrent serves both profiles).
 * Peer certificate, issued by the swarm CA directly (no intermediates):
 *   - ECDSA P-256 key (what libtorrent's OpenSSL accepts everywhere), signature ECDSA-SHA256;
 *   - basicConstraints CA:false; keyUsage digitalSignature; extKeyUsage serverAuth, clientAuth;
 *   - subjectAltName: URI urn:btih:<v1 hex> and/or urn:btmh:1220<v2 hex> — the torrent binding bttls
 *     checks — and DNS:<torrent name>, the binding libtorrent checks;
 *   - validity at most MAX_PEER_CERT_LIFETIME_S; a random 128-bit serial, which revocation names.
 */
import { createHash, X509Certificate as NodeX509 } from 'node:crypto'
import { canonicalSerial, escapeDn, generateKeyPair, importSigningKey, pkcs8Pem, randomSerial, SIGNING, x509 } from './x509.js'
import { checkServerIdentity, type PeerCertificate } from 'node:tls'
import { isIP } from 'node:net'
import {
  CertificateExpiredError, CertificateNotYetValidError, CertificateRevokedError, TrackerNameConflictError, UntrustedCertificateError, WrongTorrentCertificateError
} from '../errors.js'
import { CERT_CLOCK_SKEW_S, MAX_PEER_CERT_LIFETIME_S } from '../protocol/constants.js'

export interface TorrentBinding {
  readonly name: string
  readonly infoHashV1?: Uint8Array
  readonly infoHashV2?: Uint8Array
}

export interface PemPair { readonly certPem: string, readonly keyPem: string }

/** The URIs a peer certificate for this torrent carries (and one of which a verifier requires). */
export function torrentUris (t: TorrentBinding): string[] {
  const uris: string[] = []
  if (t.infoHashV1) uris.push(`urn:btih:${Buffer.from(t.infoHashV1).toString('hex')}`)
  if (t.infoHashV2) uris.push(`urn:btmh:1220${Buffer.from(t.infoHashV2).toString('hex')}`)
  return uris
}

export async function createSwarmCa (commonName: string, validityDays = 3650): Promise<PemPair> {
  const keys = await generateKeyPair()
  const now = Date.now()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${escapeDn(commonName)}`,
    notBefore: new Date(now - CERT_CLOCK_SKEW_S * 1000),
    notAfter: new Date(now + validityDays * 86400_000),
    keys,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)
    ]
  })
  return { certPem: cert.toString('pem'), keyPem: pkcs8Pem(keys.privateKey) }
}

/** A fresh P-256 key and a CSR for it (the key never leaves the peer). */
export async function createPeerKeyAndCsr (commonName: string): Promise<{ keyPem: string, csrDer: Buffer }> {
  const keys = await generateKeyPair()
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${escapeDn(commonName)}`, keys, signingAlgorithm: SIGNING })
  return { keyPem: pkcs8Pem(keys.privateKey), csrDer: Buffer.from(csr.rawData) }
}

export interface IssueRequest {
  readonly ca: PemPair
  readonly csrDer: Uint8Array
  readonly torrent: TorrentBinding
  readonly lifetimeSeconds: number
  /** Subject CN; default the CSR's. */
  readonly commonName?: string
  readonly now?: Date
}

export interface IssuedCertificate { readonly certPem: string, readonly serial: string, readonly notAfter: Date }

/** Issue a peer certificate for a CSR (the tracker's job). The CSR's self-signature is checked first. */
export async function issuePeerCertificate (req: IssueRequest): Promise<IssuedCertificate> {
  if (!(req.lifetimeSeconds > 0 && req.lifetimeSeconds <= MAX_PEER_CERT_LIFETIME_S)) {
    throw new RangeError(`peer certificate lifetime must be 1..${MAX_PEER_CERT_LIFETIME_S} s`)
  }
  const csr = new x509.Pkcs10CertificateRequest(req.csrDer)
  if (!await csr.verify()) throw new UntrustedCertificateError('the CSR\'s self-signature does not verify')
  const caCert = new x509.X509Certificate(req.ca.certPem)
  const caKey = await importSigningKey(req.ca.keyPem)
  const now = req.now ?? new Date()
  const serial = randomSerial()
  const names: x509.JsonGeneralName[] = [...torrentUris(req.torrent).map(value => ({ type: 'url' as const, value })), { type: 'dns', value: req.torrent.name }]
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: req.commonName !== undefined ? `CN=${escapeDn(req.commonName)}` : csr.subject,
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - CERT_CLOCK_SKEW_S * 1000),
    notAfter: new Date(now.getTime() + req.lifetimeSeconds * 1000),
    signingAlgorithm: SIGNING,
    publicKey: csr.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey)
    ]
  })
  return { certPem: cert.toString('pem'), serial, notAfter: cert.notAfter }
}

export interface VerifiedPeer { readonly subject: string, readonly serial: string, readonly notAfter: Date }

export interface VerifyRequest {
  readonly certDer: Uint8Array
  readonly caCertPem: string
  readonly torrent: TorrentBinding
  readonly revokedSerials?: ReadonlySet<string>
  readonly now?: Date
  /** 'bttls': the torrent URI binding; 'libtorrent': SAN DNS or last CN equals the name, or '*'. */
  readonly binding?: 'bttls' | 'libtorrent'
}

/** Verifies a peer certificate against the profile, in the order the BEP lists the checks. */
export function verifyPeerCertificate (req: VerifyRequest): VerifiedPeer {
  let cert: NodeX509
  try { cert = new NodeX509(Buffer.from(req.certDer)) } catch (err) {
    throw new UntrustedCertificateError('the peer certificate is not valid DER X.509', { cause: err })
  }
  const ca = new NodeX509(req.caCertPem)
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw new UntrustedCertificateError('the peer certificate is not signed by this torrent\'s CA')
  }
  if (cert.ca) throw new UntrustedCertificateError('a CA certificate cannot be a peer certificate')
  // A certificate of the tracker's profile (serverAuth only) is not a peer's: the two roles never swap.
  if ((req.binding ?? 'bttls') === 'bttls' && !(cert.keyUsage ?? []).includes(CLIENT_AUTH_OID)) {
    throw new UntrustedCertificateError('the peer certificate does not allow clientAuth: it is not of the peer profile')
  }
  const now = (req.now ?? new Date()).getTime()
  const from = Date.parse(cert.validFrom)
  const to = Date.parse(cert.validTo)
  if (now + CERT_CLOCK_SKEW_S * 1000 < from) throw new CertificateNotYetValidError(`the peer certificate is valid from ${cert.validFrom}`)
  if (now - CERT_CLOCK_SKEW_S * 1000 > to) throw new CertificateExpiredError(`the peer certificate expired at ${cert.validTo}`)
  // libtorrent's certificates are handed out of band and often long-lived: the cap is bttls' own rule.
  if ((req.binding ?? 'bttls') === 'bttls' && to - from > (MAX_PEER_CERT_LIFETIME_S + 2 * CERT_CLOCK_SKEW_S) * 1000) {
    throw new UntrustedCertificateError(`the peer certificate's lifetime exceeds ${MAX_PEER_CERT_LIFETIME_S} s`)
  }
  const serial = canonicalSerial(cert.serialNumber)
  if (req.revokedSerials && [...req.revokedSerials].some(s => canonicalSerial(s) === serial)) {
    throw new CertificateRevokedError(`the peer certificate (serial ${serial}) is revoked`)
  }
  const san = cert.subjectAltName ?? ''
  if ((req.binding ?? 'bttls') === 'bttls') {
    const uris = torrentUris(req.torrent)
    if (!uris.some(u => san.split(', ').includes(`URI:${u}`))) {
      throw new WrongTorrentCertificateError('the peer certificate is not issued for this torrent')
    }
  } else if (!libtorrentNameMatches(san, cert.subject, req.torrent.name)) {
    throw new WrongTorrentCertificateError(`the peer certificate names neither "${req.torrent.name}" nor "*"`)
  }
  return { subject: cert.subject, serial, notAfter: new Date(to) }
}

/** extKeyUsage id-kp-serverAuth and id-kp-clientAuth (RFC 5280, 4.2.1.12). */
export const SERVER_AUTH_OID = '1.3.6.1.5.5.7.3.1'
export const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2'

/**
 * Whether a peer certificate of this torrent would pass as the tracker's at `trackerHost`: every
 * member holds one (SAN DNS:<torrent name>, serverAuth), and could then collect other users'
 * passkeys. True when the name is "*" or matches the host under the TLS host-name rules (wildcards
 * included), so such a torrent is never created, registered or announced to with a passkey.
 */
export function trackerNameConflicts (trackerHost: string, torrentName: string): boolean {
  const host = trackerHost.replace(/^\[|\]$/g, '')
  if (torrentName === '*') return true
  if (isIP(host) !== 0) return false // peer certificates name no IP address
  const asPeer = { subject: {}, subjectaltname: `DNS:${torrentName}` } as unknown as PeerCertificate
  return checkServerIdentity(host.replace(/\.$/, ''), asPeer) === undefined
}

/** Throws TrackerNameConflictError for a tracker URL that a peer certificate of the torrent would pass as. */
export function assertTrackerNameDistinct (trackerUrl: string, torrentName: string): void {
  let host: string
  try { host = new URL(trackerUrl).hostname } catch { return } // not a URL: no host to confuse
  if (trackerNameConflicts(host, torrentName)) {
    throw new TrackerNameConflictError(`the tracker's host "${host}" matches the torrent's name "${torrentName}": any member's peer certificate would pass as the tracker's, so it could collect passkeys`)
  }
}

/**
 * The secure tracker's certificate check beside the host-name one: a certificate that allows
 * clientAuth is of the peer profile, whoever holds it, and is not the tracker's.
 */
export function checkTrackerIdentity (host: string, cert: PeerCertificate): Error | undefined {
  const hostError = checkServerIdentity(host, cert)
  if (hostError !== undefined) return hostError
  const usages = (cert as PeerCertificate & { ext_key_usage?: string[] }).ext_key_usage ?? []
  if (usages.includes(CLIENT_AUTH_OID)) {
    return new UntrustedCertificateError('the tracker presented a peer certificate (it allows clientAuth); a secure tracker\'s allows serverAuth only')
  }
  if (!usages.includes(SERVER_AUTH_OID)) return new UntrustedCertificateError('the tracker\'s certificate does not allow serverAuth')
  return undefined
}

/** libtorrent's rule (torrent::verify_peer_cert): a SAN DNS name, else the last CN, equals the name or '*'. */
function libtorrentNameMatches (san: string, subject: string, name: string): boolean {
  const dns = san.split(', ').filter(e => e.startsWith('DNS:')).map(e => e.slice(4))
  if (dns.length > 0) return dns.some(d => d === name || d === '*')
  const cns = subject.split('\n').filter(l => l.startsWith('CN=')).map(l => l.slice(3))
  const cn = cns[cns.length - 1]
  return cn === name || cn === '*'
}

/** SHA-256 of the CA certificate's DER: the Full Strict swarm key's input beside the infohash. */
/** Whole seconds the swarm CA is still valid at `now` (0 or less: expired). A peer certificate never outlives it. */
export function caSecondsLeft (caCertPem: string, now: Date): number {
  return Math.floor((Date.parse(new NodeX509(caCertPem).validTo) - now.getTime()) / 1000)
}

export function caFingerprint (caCertPem: string): Buffer {
  return createHash('sha256').update(new NodeX509(caCertPem).raw).digest()
}
