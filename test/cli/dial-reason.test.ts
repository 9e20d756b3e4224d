/**
 * How the CLI words a dial failure on one line: TCP errors by their plain meaning, TLS and other failures
 * by their error name, one part per transport tried, and never a newline from OpenSSL.
 */
import t from 'tap'
import net from 'node:net'
import { dialReason, endpoint, isTcpConnectFailure, oneLine } from '../../src/cli/dial-reason.js'
import { TlsHandshakeError } from '../../src/errors.js'

function errno (code: string | undefined, message: string, syscall?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), code !== undefined ? { code } : {}, syscall !== undefined ? { syscall } : {})
}

/** A real ECONNREFUSED: a port just released on loopback. */
async function refused (): Promise<Error> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  await new Promise<void>(resolve => server.close(() => resolve()))
  return await new Promise<Error>(resolve => net.connect(port, '127.0.0.1').once('error', resolve))
}

t.test('oneLine folds every run of whitespace, OpenSSL newlines included, and trims', async t => {
  t.equal(oneLine('  error:0A000086:SSL routines::\n  certificate verify failed\r\n\t(x)  '), 'error:0A000086:SSL routines:: certificate verify failed (x)')
  t.equal(oneLine(''), '')
  t.equal(oneLine('\n\n'), '')
  t.equal(oneLine('a'), 'a')
})

t.test('endpoint brackets IPv6 addresses only', async t => {
  t.equal(endpoint('127.0.0.1', 6881), '127.0.0.1:6881')
  t.equal(endpoint('::1', 6881), '[::1]:6881')
  t.equal(endpoint('fe80::1', 1), '[fe80::1]:1')
  t.equal(endpoint('::ffff:127.0.0.1', 80), '[::ffff:127.0.0.1]:80')
  t.equal(endpoint('example.org', 443), 'example.org:443')
})

t.test('isTcpConnectFailure: a known TCP code, the connect syscall, or our own "TCP connect" message', async t => {
  t.ok(isTcpConnectFailure(await refused()), 'a real ECONNREFUSED')
  for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN']) {
    t.ok(isTcpConnectFailure(errno(code, 'x')), code)
  }
  t.ok(isTcpConnectFailure(errno('EWHATEVER', 'x', 'connect')), 'any error of the connect syscall')
  t.ok(isTcpConnectFailure(errno(undefined, 'TCP connect to 10.0.0.1:1 timed out after 5000 ms')), 'our TCP connect timeout')
  t.notOk(isTcpConnectFailure(new TlsHandshakeError('peer sent alert')), 'a TLS failure')
  t.notOk(isTcpConnectFailure(errno('EPIPE', 'write EPIPE', 'write')), 'a failure after connecting')
  t.notOk(isTcpConnectFailure(errno(undefined, 'then TCP connect ...')), 'the message must start with it')
  t.notOk(isTcpConnectFailure(errno('toString', 'x')), 'a code that is an Object.prototype key is not a TCP error')
})

t.test('dialReason without attempts is the message on one line', async t => {
  t.equal(dialReason(new Error('connect ECONNREFUSED 127.0.0.1:9\n')), 'connect ECONNREFUSED 127.0.0.1:9')
  t.equal(dialReason(Object.assign(new Error('no transport'), { attempts: [] })), 'no transport')
})

t.test('dialReason: every attempt a TCP failure gives the last one, plainly, without the transports', async t => {
  const real = await refused()
  t.equal(dialReason(Object.assign(new Error('all failed'), { attempts: [{ transport: 'tls', error: real }] })), 'connection refused')
  const e = Object.assign(new Error('all failed'), {
    attempts: [
      { transport: 'tls', error: errno('ECONNRESET', 'read ECONNRESET') },
      { transport: 'plain', error: errno('EHOSTUNREACH', 'connect EHOSTUNREACH') }
    ]
  })
  t.equal(dialReason(e), 'host unreachable')
  const ours = Object.assign(new Error('x'), { attempts: [{ transport: 'tls', error: errno(undefined, 'TCP connect to 10.0.0.1:1\ntimed out') }] })
  t.equal(dialReason(ours), 'TCP connect to 10.0.0.1:1 timed out', 'our own TCP message, folded, with no error name')
  t.equal(dialReason(Object.assign(new Error('x'), { attempts: [{ transport: 'tls', error: errno('EPROTO', 'connect EPROTO', 'connect') }] })),
    'connect EPROTO', 'an unlisted code of the connect syscall is given as its message')
})

t.test('dialReason: otherwise one part per transport, TLS errors by name', async t => {
  const e = Object.assign(new Error('all failed'), {
    attempts: [
      { transport: 'tls', error: new TlsHandshakeError('alert\n  handshake failure') },
      { transport: 'plain', error: errno('ECONNREFUSED', 'connect ECONNREFUSED') }
    ]
  })
  t.equal(dialReason(e), 'tls: TlsHandshakeError: alert handshake failure; plain: connection refused')
  t.notMatch(dialReason(e), /\n/)
})
