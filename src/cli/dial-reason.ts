/**
 * How the CLI words a failure in one line: OpenSSL and Node messages may carry newlines, and a dial
 * error's message already names the endpoint, so a caller that prefixes it again repeats itself.
 */

/** One line: runs of whitespace (OpenSSL's embedded newlines included) become one space. */
export function oneLine (text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}

/**
 * host:port, with IPv6 addresses in brackets as in a URL: a colon is in every IPv6 address and in no
 * IPv4 address or host name (`isIPv6`'s regular expression cost a millisecond on its first use, which
 * was the first peer's event).
 */
export function endpoint (host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`
}

const TCP_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'no answer',
  EADDRNOTAVAIL: 'address not available',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found'
}

/** Own keys only: `in` would also take Object.prototype's (an error code "constructor" is not a TCP error). */
function isTcpCode (code: string | undefined): code is string {
  return code !== undefined && Object.hasOwn(TCP_ERRORS, code)
}

/** The TCP connect failed (nothing listens, or no route): the peer never had the chance to speak TLS. */
export function isTcpConnectFailure (err: Error): boolean {
  const e = err as NodeJS.ErrnoException
  return isTcpCode(e.code) || e.syscall === 'connect' || /^TCP connect /.test(e.message)
}

function attemptReason (err: Error): string {
  const e = err as NodeJS.ErrnoException
  if (isTcpCode(e.code)) return TCP_ERRORS[e.code]!
  if (isTcpConnectFailure(err)) return oneLine(e.message)
  return `${e.name}: ${oneLine(e.message)}`
}

/**
 * Why a dial failed, without the endpoint (the caller names it): "connection refused", or per
 * transport tried, "tls: TlsHandshakeError: …; plain: …".
 */
export function dialReason (err: Error & { attempts?: ReadonlyArray<{ transport: string, error: Error }> }): string {
  const attempts = err.attempts ?? []
  if (attempts.length === 0) return oneLine(err.message)
  if (attempts.every(a => isTcpConnectFailure(a.error))) return attemptReason(attempts[attempts.length - 1]!.error)
  return attempts.map(a => `${a.transport}: ${attemptReason(a.error)}`).join('; ')
}
