/**
 * The swarm CA of a Full Strict magnet link (BEP: "Full Strict magnet links"). The link carries only
 * the SHA-256 of the CA certificate (`x.bttls.ca`), which gives the swarm key but cannot verify a
 * certificate; a secure tracker sends the CA certificate after its own in its TLS handshake. So one
 * TLS handshake to the link's secure tracker, with nothing sent inside it, yields the certificate
 * whose DER hashes to the link's value. It is accepted only as a self-signed CA certificate. The
 * announces that follow (with the passkey) then verify the tracker against this CA alone, as for a
 * .torrent file.
 */
import { createHash, X509Certificate } from 'node:crypto'
import { isIP } from 'node:net'
import { connect, type DetailedPeerCertificate } from 'node:tls'
import { TrackerError } from '../errors.js'

export interface SwarmCaOptions {
  /** The whole exchange (connect and TLS handshake); default 15 s, as an announce. */
  readonly timeoutMs?: number
  /** Source address of the connection. */
  readonly localAddress?: string
}

const DEFAULT_TIMEOUT_MS = 15_000
/** Certificates read from the tracker's chain: its own, the CA, and room for intermediates it may add. */
export const MAX_TRACKER_CHAIN = 8

/** Resolves with the swarm CA certificate (PEM) whose DER SHA-256 is `fingerprint`, from the tracker at `trackerUrl`. */
export async function fetchSwarmCa (trackerUrl: string, fingerprint: Uint8Array, options: SwarmCaOptions = {}): Promise<string> {
  const url = new URL(trackerUrl)
  if (url.protocol !== 'https:') throw new TrackerError('ERR_TRACKER_UNREACHABLE', `a secure tracker is https://, not ${url.protocol}`)
  const chain = await presentedChain(url, options)
  const wanted = Buffer.from(fingerprint)
  const der = chain.find(c => createHash('sha256').update(c).digest().equals(wanted))
  if (der === undefined) {
    throw new TrackerError('ERR_TRACKER_NO_SWARM_CA', `tracker ${url.origin} presented ${chain.length} certificate(s), none with the link's x.bttls.ca ${wanted.toString('hex')}`)
  }
  const ca = new X509Certificate(der)
  // A hash names a certificate, not its role: the link could name the tracker's own certificate.
  if (!ca.ca || !ca.checkIssued(ca) || !ca.verify(ca.publicKey)) {
    throw new TrackerError('ERR_TRACKER_NO_SWARM_CA', `the certificate of tracker ${url.origin} with the link's x.bttls.ca is not a self-signed CA certificate`)
  }
  return ca.toString()
}

/** The DER certificates the server sent in its handshake, leaf first; the connection carries no data. */
function presentedChain (url: URL, options: SwarmCaOptions): Promise<Buffer[]> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const unreachable = (message: string, cause?: unknown): TrackerError =>
    new TrackerError('ERR_TRACKER_UNREACHABLE', `tracker ${url.origin}: ${message}`, cause !== undefined ? { cause } : undefined)
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port: url.port === '' ? 443 : Number(url.port),
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
      // Nothing is trusted yet: the chain is read, the CA picked by its hash, and nothing is sent.
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2'
    })
    const timer = setTimeout(() => socket.destroy(unreachable(`no TLS handshake within ${timeoutMs} ms`)), timeoutMs)
    socket.once('secureConnect', () => {
      clearTimeout(timer)
      const chain: Buffer[] = []
      let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true)
      // Node links each certificate to its issuer; a self-signed one links to itself.
      while (cert?.raw !== undefined && chain.length < MAX_TRACKER_CHAIN && !chain.some(c => c.equals(cert!.raw))) {
        chain.push(cert.raw)
        cert = cert.issuerCertificate
      }
      socket.destroy()
      resolve(chain)
    })
    socket.once('error', err => {
      clearTimeout(timer)
      reject(err instanceof TrackerError ? err : unreachable(err.message, err))
    })
  })
}
