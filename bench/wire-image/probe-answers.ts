/**
 * What a probe's answer was, in the terms the issue compares: bytes back (and what they were: a
 * ServerHello, a HelloRetryRequest, an alert, an HTTP status), who closed and how (FIN, RST, or
 * still open at the cap), and when (a coarse timing bucket). Two targets give "the same class of
 * answer" when all four agree; exact byte counts and milliseconds are shown but not compared.
 */
import { HANDSHAKE_TYPE, negotiatedVersion, parseServerHello, versionName } from './hellos.js'
import type { RelayObservation } from './probe-relay.js'
import type { ClientView } from './probes.js'
import { CONTENT_TYPE, leadingHandshakeMessages, looksLikeTls, splitTlsRecords } from './tls-records.js'

export const ALERTS: Record<number, string> = {
  0: 'close_notify', 10: 'unexpected_message', 20: 'bad_record_mac', 40: 'handshake_failure', 42: 'bad_certificate', 47: 'illegal_parameter',
  50: 'decode_error', 51: 'decrypt_error', 70: 'protocol_version', 71: 'insufficient_security', 80: 'internal_error', 86: 'inappropriate_fallback',
  90: 'user_canceled', 109: 'missing_extension', 110: 'unsupported_extension', 112: 'unrecognized_name', 116: 'certificate_required', 120: 'no_application_protocol'
}

/** TLS 1.3 encrypts alerts: 2 bytes + inner type + 16-byte tag = a 19-byte record. */
const ENCRYPTED_ALERT_LENGTH = 19

export interface ProbeAnswer {
  /** The target's first answer on the wire: "ServerHello TLS 1.3", "HelloRetryRequest", "alert 40 handshake_failure", "HTTP/1.1 400", "nothing", "N bytes (not TLS)". */
  readonly handshake: string
  /** Inside TLS, what the prober read: "HTTP/1.1 200", "h2 frames", "N bytes", "nothing", or "—" (no TLS session). */
  readonly inside: string
  readonly closer: 'FIN' | 'RST' | 'FIN, then RST' | 'open at cap'
  readonly bucket: '<100 ms' | '<1 s' | '<10 s' | '≥10 s' | '—'
  /** Milliseconds from the prober's last action to the target's close. */
  readonly closeMs?: number
  readonly reference: ClientView['reference']
  readonly bytesBack: number
  /** The first bytes back: a status line, or hex. */
  readonly firstBytes: string
  readonly negotiated?: string
  readonly cipher?: string
  /** A last 19-byte encrypted record before the close: an encrypted alert (close_notify or other). */
  readonly encryptedAlertAtClose: boolean
  readonly clientError?: string
}

export function timingBucket (ms: number | undefined): ProbeAnswer['bucket'] {
  if (ms === undefined) return '—'
  return ms < 100 ? '<100 ms' : ms < 1000 ? '<1 s' : ms < 10_000 ? '<10 s' : '≥10 s'
}

function statusLine (data: Buffer): string | undefined {
  if (!data.subarray(0, 5).equals(Buffer.from('HTTP/'))) return undefined
  const line = data.subarray(0, Math.max(0, data.indexOf('\r\n')) || 64).toString('latin1')
  return line.split(' ').slice(0, 2).join(' ')
}

/** The target's side, from the relay's recording. */
function handshakeAnswer (bytes: Buffer, total: number): { handshake: string, cipher?: string, encryptedAlertAtClose: boolean } {
  if (total === 0) return { handshake: 'nothing', encryptedAlertAtClose: false }
  if (!looksLikeTls(bytes)) return { handshake: statusLine(bytes) ?? `${total} bytes (not TLS)`, encryptedAlertAtClose: false }
  const { records } = splitTlsRecords(bytes)
  const last = records[records.length - 1]
  const encryptedAlertAtClose = last !== undefined && records.length > 1 && last.length === ENCRYPTED_ALERT_LENGTH &&
    (last.type === CONTENT_TYPE.APPLICATION_DATA || last.type === CONTENT_TYPE.ALERT)
  const first = records[0]
  if (first?.type === CONTENT_TYPE.ALERT && first.length === 2) {
    const code = bytes[first.offset + 6]!
    return { handshake: `alert ${code} ${ALERTS[code] ?? ''}`.trim(), encryptedAlertAtClose: false }
  }
  const sh = leadingHandshakeMessages(bytes).find(m => m.type === HANDSHAKE_TYPE.SERVER_HELLO)
  if (sh !== undefined) {
    try {
      const hello = parseServerHello(sh.body)
      const cipher = `0x${hello.cipherSuite.toString(16).padStart(4, '0')}`
      return { handshake: hello.helloRetryRequest ? 'HelloRetryRequest' : `ServerHello ${versionName(negotiatedVersion(hello))}`, cipher, encryptedAlertAtClose }
    } catch { /* fall through */ }
  }
  return { handshake: `${records.length} TLS records`, encryptedAlertAtClose }
}

function insideAnswer (client: ClientView): string {
  if (client.tls === undefined) return '—'
  if (client.data.length === 0) return 'nothing'
  const status = statusLine(client.data)
  if (status !== undefined) return status
  return client.tls.alpn === 'h2' ? 'h2 frames' : `${client.data.length} bytes`
}

export function classifyProbe (observation: RelayObservation, client: ClientView): ProbeAnswer {
  const { handshake, cipher, encryptedAlertAtClose } = handshakeAnswer(observation.bytes, observation.totalBytes)
  const end = observation.fin ?? observation.rst
  const closer: ProbeAnswer['closer'] = observation.fin !== undefined && observation.rst !== undefined ? 'FIN, then RST'
    : observation.fin !== undefined ? 'FIN' : observation.rst !== undefined ? 'RST' : 'open at cap'
  const closeMs = end === undefined ? undefined : Math.max(0, end.at - client.referenceAt)
  const bytes = observation.bytes
  return {
    handshake,
    inside: insideAnswer(client),
    closer,
    bucket: timingBucket(closeMs),
    closeMs,
    reference: client.reference,
    bytesBack: observation.totalBytes,
    firstBytes: statusLine(client.data) ?? statusLine(bytes) ?? bytes.subarray(0, 8).toString('hex'),
    negotiated: client.tls === undefined ? undefined : `${client.tls.protocol ?? '?'}${client.tls.alpn !== false ? ` ALPN ${client.tls.alpn}` : ''}`,
    cipher,
    encryptedAlertAtClose,
    clientError: client.error
  }
}

/** The class two answers are compared by: what came back, who closed, how soon. */
export function answerClass (a: ProbeAnswer): string {
  return [a.handshake, a.inside, a.closer, a.bucket].join(' · ')
}

/** "same class as node https", or what differs. */
export function verdict (a: ProbeAnswer, reference: ProbeAnswer): string {
  const diffs: string[] = []
  if (a.handshake !== reference.handshake) diffs.push(`answer ${a.handshake} vs ${reference.handshake}`)
  if (a.inside !== reference.inside) diffs.push(`inside TLS ${a.inside} vs ${reference.inside}`)
  if (a.closer !== reference.closer) diffs.push(`closer ${a.closer} vs ${reference.closer}`)
  if (a.bucket !== reference.bucket) diffs.push(`timing ${a.bucket} vs ${reference.bucket}`)
  return diffs.length === 0 ? 'same class as node https' : `differs: ${diffs.join('; ')}`
}
