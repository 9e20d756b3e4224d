/**
 * The decoy web site (decoy.ts, decoy-site.ts, decoy-forward.ts): what a TLS visitor who is not a bttls
 * peer of ours gets. Every visit here is real: a TLS server on 127.0.0.1 with the responder's kind of
 * certificate, fed as the listener feeds it, hands its connections to the decoy as the responder does
 * (decoy.take(socket, received), `received` read with the responder's own readFirstRecord when a test
 * needs bytes already read), and a tls.connect client is the visitor. No mocks. Answers are checked
 * byte for byte where node:http's are fixed, and every time bound is asserted both ways.
 */
import t, { type Test } from 'tap'
import tls, { type TLSSocket } from 'node:tls'
import net from 'node:net'
import http from 'node:http'
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createResponderCertificate } from '../../src/pki/responder-certificate.js'
import { readFirstRecord } from '../../src/handshake/bounded-read.js'
import { Deadline } from '../../src/handshake/deadline.js'
import type { Decoy } from '../../src/wire/decoy.js'
import { DEFAULT_PAGE, MAX_HEADER_BYTES, MAX_REQUESTS_PER_CONNECTION, requestPath, siteDecoy } from '../../src/wire/decoy-site.js'
import { decoyTarget, forwardingDecoy } from '../../src/wire/decoy-forward.js'

const certificate = await createResponderCertificate()

/** node:http's own answers to what it cannot parse (lib/_http_server.js), which the decoy reproduces. */
const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'
const HEADERS_TOO_LARGE = 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n'
const REQUEST_TIMEOUT = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n'

interface Front {
  readonly port: number
  /** What each handed-over connection came with, in order of handing over. */
  readonly handed: Buffer[]
  /** The decoy's side of each handed-over connection, in the same order. */
  readonly sockets: TLSSocket[]
  /** Resolves once `count` connections in all have been handed to the decoy. */
  handedOver (count: number): Promise<Buffer[]>
}

/**
 * A TLS server standing in for the responder: each connection, once its handshake is done, goes to
 * `decoy`, either at once with nothing read, or (readFirst) after the first record was read from it
 * with readFirstRecord, exactly as TlsResponder.accept reads the AuthHello it then hands over.
 * The TCP side is the listener's (listener.ts): a net.Server accepts, the first bytes are read and put
 * back (its protocol sniffing), and the socket is given to the tls.Server with emit('connection'), as
 * ServerHandshakes does. `viaListener: false` lets the tls.Server accept by itself instead.
 */
async function front (t: Test, decoy: Decoy, readFirst = false, viaListener = true): Promise<Front> {
  const handed: Buffer[] = []
  const sockets: TLSSocket[] = []
  const waiters: Array<() => void> = []
  const hand = (socket: TLSSocket, received: Buffer): void => {
    handed.push(received)
    sockets.push(socket)
    decoy.take(socket, received)
    for (const wake of waiters.splice(0)) wake()
  }
  const server = tls.createServer({ ...certificate, minVersion: 'TLSv1.3' }, socket => {
    socket.on('error', () => {})
    if (!readFirst) { hand(socket, Buffer.alloc(0)); return }
    readFirstRecord(socket, Deadline.after(5000)).then(first => hand(socket, first ?? Buffer.alloc(0)), () => socket.destroy())
  })
  const tcp = viaListener ? net.createServer(raw => {
    raw.on('error', () => {})
    raw.once('data', (first: Buffer) => {
      raw.pause()
      raw.unshift(first)
      server.emit('connection', raw)
    })
  }) : server
  await new Promise<void>(resolve => tcp.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    await decoy.close()
    await new Promise<void>(resolve => tcp.close(() => resolve()))
  })
  const handedOver = async (count: number): Promise<Buffer[]> => {
    while (handed.length < count) await new Promise<void>(resolve => waiters.push(resolve))
    return handed.slice(0, count)
  }
  return { port: (tcp.address() as net.AddressInfo).port, handed, sockets, handedOver }
}

interface Response {
  readonly statusLine: string
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** The complete HTTP/1.1 responses at the start of `raw` (latin1); `heads` are the indexes answering HEAD. */
function parseResponses (raw: string, heads: ReadonlySet<number> = new Set()): Response[] {
  const responses: Response[] = []
  let at = 0
  for (;;) {
    const end = raw.indexOf('\r\n\r\n', at)
    if (end < 0) return responses
    const [statusLine, ...lines] = raw.slice(at, end).split('\r\n')
    const headers: Record<string, string> = {}
    for (const line of lines) {
      const colon = line.indexOf(':')
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
    }
    let body = ''
    let next = end + 4
    if (heads.has(responses.length)) {
      // no body, whatever Content-Length says
    } else if (headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const lineEnd = raw.indexOf('\r\n', next)
        if (lineEnd < 0) return responses
        const size = parseInt(raw.slice(next, lineEnd), 16)
        if (raw.length < lineEnd + 2 + size + 2) return responses
        body += raw.slice(lineEnd + 2, lineEnd + 2 + size)
        next = lineEnd + 2 + size + 2
        if (size === 0) break
      }
    } else {
      const length = Number(headers['content-length'] ?? 0)
      if (raw.length < next + length) return responses
      body = raw.slice(next, next + length)
      next += length
    }
    responses.push({ statusLine: statusLine!, headers, body })
    at = next
  }
}

interface Visitor {
  readonly socket: TLSSocket
  /** Everything received so far. */
  bytes (): Buffer
  /** Resolves once at least `count` bytes arrived, or the connection closed, with what arrived. */
  atLeast (count: number): Promise<Buffer>
  /** Resolves with the first `count` responses once they are complete; rejects if the connection closes first. */
  responses (count: number, heads?: ReadonlySet<number>): Promise<Response[]>
  /** Resolves when the connection is closed, with all it received and how long after its TLS handshake (about when the decoy took it). */
  readonly closed: Promise<{ readonly bytes: Buffer, readonly afterMs: number }>
}

/** Longest any visitor here stays connected; every bound asserted is well under it. */
const VISIT_GUARD_MS = 5000

async function visitor (port: number): Promise<Visitor> {
  const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' })
  socket.on('error', () => {}) // a reset is a close here; what was received is what counts
  // No visit in this file should last this long: a decoy that never answers nor closes fails fast.
  const guard = setTimeout(() => socket.destroy(), VISIT_GUARD_MS)
  guard.unref()
  const chunks: Buffer[] = []
  const watchers = new Set<() => void>()
  socket.on('data', (d: Buffer) => { chunks.push(d); for (const w of watchers) w() })
  let connectedAt = 0
  const closed = new Promise<{ bytes: Buffer, afterMs: number }>(resolve => socket.once('close', () => {
    clearTimeout(guard)
    for (const w of watchers) w()
    resolve({ bytes: Buffer.concat(chunks), afterMs: Date.now() - connectedAt })
  }))
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => { connectedAt = Date.now(); resolve() })
    socket.once('close', () => reject(new Error('closed before the TLS handshake completed')))
  })
  const bytes = (): Buffer => Buffer.concat(chunks)
  return {
    socket,
    bytes,
    closed,
    atLeast: count => new Promise(resolve => {
      const check = (): void => {
        if (bytes().length >= count || socket.destroyed) { watchers.delete(check); resolve(bytes()) }
      }
      watchers.add(check)
      check()
    }),
    responses: (count, heads) => new Promise((resolve, reject) => {
      const check = (): void => {
        const got = parseResponses(bytes().toString('latin1'), heads)
        if (got.length >= count) { watchers.delete(check); resolve(got.slice(0, count)) } else if (socket.destroyed) {
          watchers.delete(check)
          reject(new Error(`connection closed after ${got.length} of ${count} responses: ${JSON.stringify(bytes().toString('latin1').slice(-300))}`))
        }
      }
      watchers.add(check)
      check()
    })
  }
}

/** `size` bytes that no HTTP parser takes for a request: a NUL first, then a fixed spread of every byte value. */
function pattern (size: number): Buffer {
  const bytes = Buffer.alloc(size)
  for (let i = 1; i < size; i++) bytes[i] = (i * 151 + 7) & 0xff
  return bytes
}

const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`
const getClose = (path: string): string => get(path, 'Connection: close\r\n')

/** One request on a fresh connection that asks to be closed after it: its one response, and that it was closed. */
async function fetchOnce (t: Test, port: number, request: string | Buffer, head = false): Promise<Response & { raw: string }> {
  const v = await visitor(port)
  v.socket.write(request)
  const { bytes } = await v.closed
  const raw = bytes.toString('latin1')
  const [response, extra] = parseResponses(raw, head ? new Set([0]) : new Set())
  if (response === undefined) throw new Error(`no complete response: ${JSON.stringify(raw)}`)
  t.equal(extra, undefined, 'one response only')
  return { ...response, raw }
}

const pageLength = String(Buffer.byteLength(DEFAULT_PAGE))
/** A hang (a visitor never answered, never closed) fails in seconds, not at tap's file timeout. */
const bounded = (): { timeout: number } => ({ timeout: 15_000 }) // a fresh object each time: tap deletes `timeout` from it when a test ends

t.test('siteDecoy() with no root: the default page, 404, HEAD, 405 and keep-alive, as a web server', bounded(), async t => {
  const { port } = await front(t, siteDecoy())

  t.test('GET / is 200 with the default page', async t => {
    const r = await fetchOnce(t, port, getClose('/'))
    t.equal(r.statusLine, 'HTTP/1.1 200 OK')
    t.equal(r.headers['content-type'], 'text/html; charset=utf-8')
    t.equal(r.headers['content-length'], pageLength)
    t.equal(r.headers.connection, 'close')
    t.match(r.headers.date ?? '', /^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$/)
    t.equal(r.body, DEFAULT_PAGE)
    t.ok(r.raw.endsWith(DEFAULT_PAGE), 'nothing after the page')
    t.equal((await fetchOnce(t, port, getClose('/index.html'))).body, DEFAULT_PAGE, '/index.html is the same page')
    t.equal((await fetchOnce(t, port, getClose('/?q=1'))).body, DEFAULT_PAGE, 'a query does not change the path')
  })

  t.test('GET /nope is 404', async t => {
    const r = await fetchOnce(t, port, getClose('/nope'))
    t.equal(r.statusLine, 'HTTP/1.1 404 Not Found')
    t.equal(r.headers['content-type'], 'text/plain; charset=utf-8')
    t.equal(r.headers['content-length'], '10')
    t.equal(r.body, 'Not Found\n')
  })

  t.test('HEAD / is 200 with the headers of GET and no body', async t => {
    const r = await fetchOnce(t, port, 'HEAD / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n', true)
    t.equal(r.statusLine, 'HTTP/1.1 200 OK')
    t.equal(r.headers['content-length'], pageLength, 'the length of what GET would send')
    t.equal(r.headers['content-type'], 'text/html; charset=utf-8')
    t.ok(r.raw.endsWith('\r\n\r\n'), 'not one byte after the headers')
    t.notMatch(r.raw, /It works/)
  })

  t.test('POST / is 405 with Allow: GET, HEAD', async t => {
    const r = await fetchOnce(t, port, 'POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello')
    t.equal(r.statusLine, 'HTTP/1.1 405 Method Not Allowed')
    t.equal(r.headers.allow, 'GET, HEAD')
    t.equal(r.body, 'Method Not Allowed\n')
    for (const method of ['PUT', 'DELETE', 'OPTIONS']) {
      const other = await fetchOnce(t, port, `${method} / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`)
      t.equal(other.statusLine, 'HTTP/1.1 405 Method Not Allowed', method)
    }
  })

  t.test('keep-alive: two requests one after the other on one connection, both answered, the connection stays open', async t => {
    const v = await visitor(port)
    t.teardown(() => v.socket.destroy())
    v.socket.write(get('/'))
    const [first] = await v.responses(1)
    t.equal(first!.statusLine, 'HTTP/1.1 200 OK')
    t.equal(first!.headers.connection, 'keep-alive')
    t.equal(first!.headers['keep-alive'], `timeout=5, max=${MAX_REQUESTS_PER_CONNECTION}`)
    t.equal(first!.body, DEFAULT_PAGE)
    v.socket.write(get('/nope'))
    const [, second] = await v.responses(2)
    t.equal(second!.statusLine, 'HTTP/1.1 404 Not Found')
    t.equal(second!.headers.connection, 'keep-alive')
    t.notOk(v.socket.destroyed, 'still open after both')
  })

  t.test('keep-alive: pipelined requests in one write are answered in order', async t => {
    const v = await visitor(port)
    v.socket.write(get('/') + 'HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n' + get('/nope') + getClose('/index.html'))
    const { bytes } = await v.closed
    const responses = parseResponses(bytes.toString('latin1'), new Set([1]))
    t.same(responses.map(r => r.statusLine), ['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK', 'HTTP/1.1 404 Not Found', 'HTTP/1.1 200 OK'])
    t.same(responses.map(r => r.body), [DEFAULT_PAGE, '', 'Not Found\n', DEFAULT_PAGE])
    t.equal(responses[3]!.headers.connection, 'close', 'closed as the last one asked')
  })
})

t.test('the bytes the responder already read are served first, then the rest from the socket', bounded(), async t => {
  const f = await front(t, siteDecoy(), true)

  t.test('the first half of a request read, the second half still to come', async t => {
    const v = await visitor(f.port)
    const request = getClose('/')
    const half = request.slice(0, 20) // 'GET / HTTP/1.1\r\nHost'
    v.socket.write(half)
    const [received] = await f.handedOver(1)
    t.equal(received!.toString('latin1'), half, 'the responder read exactly the first half (one record)')
    v.socket.write(request.slice(20))
    const { bytes } = await v.closed
    const [r] = parseResponses(bytes.toString('latin1'))
    t.equal(r?.statusLine, 'HTTP/1.1 200 OK', 'the halves were served in order: the other order is not HTTP')
    t.equal(r?.body, DEFAULT_PAGE)
  })

  t.test('a whole request and the start of the next one read, the rest later: both answered in order', async t => {
    const v = await visitor(f.port)
    const before = f.handed.length
    const first = get('/nope') + 'GET /index.html HTTP/1.1\r\nHo'
    v.socket.write(first)
    const handed = await f.handedOver(before + 1)
    t.equal(handed[before]!.toString('latin1'), first)
    const [one] = await v.responses(1)
    t.equal(one!.statusLine, 'HTTP/1.1 404 Not Found', 'the complete request in what was read is answered before any more comes')
    v.socket.write('st: localhost\r\nConnection: close\r\n\r\n')
    const { bytes } = await v.closed
    const responses = parseResponses(bytes.toString('latin1'))
    t.same(responses.map(r => r.statusLine), ['HTTP/1.1 404 Not Found', 'HTTP/1.1 200 OK'])
    t.equal(responses[1]!.body, DEFAULT_PAGE)
  })

  t.test('a visitor whose first record was binary (a wrong AuthHello) gets the 400 of a web server for it', async t => {
    for (const size of [6, 700, 1300, 1400, 4000, 16_000]) {
      const v = await visitor(f.port)
      const before = f.handed.length
      v.socket.write(pattern(size))
      const handed = await f.handedOver(before + 1)
      t.equal(handed[before]!.length, size, `the responder read all ${size} bytes`)
      const { bytes } = await v.closed
      t.equal(bytes.toString('latin1'), BAD_REQUEST, `${size} bytes`)
    }
  })
})

t.test('hostile HTTP', bounded(), async t => {
  const { port } = await front(t, siteDecoy({ headersTimeoutMs: 500 }))

  t.test('a binary request line: exactly node\'s 400, then the connection closes', async t => {
    // From 1300 bytes on, destroying the socket in the same turn as the write (node:http's own way)
    // loses the answer when the TLS socket wraps the listener's net.Socket; decoy-site.ts waits for the write.
    const direct = await front(t, siteDecoy(), false, false)
    for (const [plumbing, at] of [['listener', port], ['tls.Server alone', direct.port]] as const) {
      for (const size of [1, 16, 1300, 5000]) {
        const v = await visitor(at)
        v.socket.write(pattern(size))
        const { bytes } = await v.closed
        t.equal(bytes.toString('latin1'), BAD_REQUEST, `${plumbing}: ${size} bytes of garbage`)
      }
    }
    const v = await visitor(port)
    v.socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nBad Header\r\n\r\n')
    t.equal((await v.closed).bytes.toString('latin1'), BAD_REQUEST, 'a header line with no colon')
  })

  t.test(`a header section over MAX_HEADER_BYTES (${MAX_HEADER_BYTES}): exactly node's 431, then the connection closes`, async t => {
    const v = await visitor(port)
    v.socket.write(`GET / HTTP/1.1\r\nHost: localhost\r\nX-Filler: ${'a'.repeat(MAX_HEADER_BYTES)}\r\n\r\n`)
    const { bytes } = await v.closed
    t.equal(bytes.toString('latin1'), HEADERS_TOO_LARGE)
    // Just under the bound is an ordinary request.
    const fits = await fetchOnce(t, port, `GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Filler: ${'a'.repeat(MAX_HEADER_BYTES - 200)}\r\n\r\n`)
    t.equal(fits.statusLine, 'HTTP/1.1 200 OK', 'a header section just under the bound is served')
  })

  t.test(`${MAX_REQUESTS_PER_CONNECTION} requests one after the other: all served, the last says Connection: close, and the connection is closed after it`, async t => {
    const v = await visitor(port)
    for (let i = 1; i <= MAX_REQUESTS_PER_CONNECTION; i++) {
      v.socket.write(get(`/?${i}`))
      const responses = await v.responses(i)
      const last = responses[i - 1]!
      if (last.statusLine !== 'HTTP/1.1 200 OK' || last.body !== DEFAULT_PAGE) t.fail(`request ${i}: ${last.statusLine}`)
      if (i < MAX_REQUESTS_PER_CONNECTION && last.headers.connection !== 'keep-alive') t.fail(`request ${i}: Connection: ${last.headers.connection}`)
    }
    const answered = v.bytes().length
    const [final] = (await v.responses(MAX_REQUESTS_PER_CONNECTION)).slice(-1)
    t.equal(final!.headers.connection, 'close', `the ${MAX_REQUESTS_PER_CONNECTION}th response says Connection: close`)
    t.equal(final!.headers['keep-alive'], undefined)
    // node:http alone keeps the connection open here and answers every later request with a 503.
    v.socket.write(get('/one-too-many'))
    const { bytes, afterMs } = await v.closed
    t.equal(bytes.length, answered, 'no answer to a request past the limit (no 503)')
    t.ok(afterMs < 3000, `closed after the last response, not by a timeout (${afterMs} ms)`)
  })

  t.test(`${MAX_REQUESTS_PER_CONNECTION + 3} requests pipelined in one write: exactly ${MAX_REQUESTS_PER_CONNECTION} answers, then the close`, async t => {
    const v = await visitor(port)
    let requests = ''
    for (let i = 1; i <= MAX_REQUESTS_PER_CONNECTION + 3; i++) requests += get(`/?${i}`)
    v.socket.write(requests)
    const { bytes, afterMs } = await v.closed
    const responses = parseResponses(bytes.toString('latin1'))
    t.equal(responses.length, MAX_REQUESTS_PER_CONNECTION)
    t.ok(responses.every(r => r.statusLine === 'HTTP/1.1 200 OK' && r.body === DEFAULT_PAGE), 'every one a 200 with the page')
    t.same(responses.map(r => r.headers.connection), [...Array<string>(MAX_REQUESTS_PER_CONNECTION - 1).fill('keep-alive'), 'close'])
    t.ok(bytes.toString('latin1').endsWith(DEFAULT_PAGE), 'nothing after the last answer (no 503 for the requests past the limit)')
    t.ok(afterMs < 3000, `closed at once, not by the keep-alive timeout (${afterMs} ms)`)
  })

  t.test('silence and a request that never ends: node\'s 408 at the headers timeout, then the close', async t => {
    const [silent, partial] = await Promise.all([visitor(port), visitor(port)])
    partial.socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n') // no final CRLF
    for (const [name, v] of [['silent', silent], ['partial request', partial]] as const) {
      const { bytes, afterMs } = await v.closed
      t.equal(bytes.toString('latin1'), REQUEST_TIMEOUT, name)
      t.ok(afterMs >= 400 && afterMs < 3000, `${name}: closed after ${afterMs} ms (headersTimeout 500 ms, checked every 500 ms)`)
    }
  })

  t.test('a visitor trickling a request byte by byte is still cut off at the headers timeout', async t => {
    const v = await visitor(port)
    const request = 'GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ' + 'a'.repeat(1000) // the head never ends
    let i = 0
    const drip = setInterval(() => { if (!v.socket.destroyed) v.socket.write(request[i++ % request.length]!) }, 20)
    t.teardown(() => clearInterval(drip))
    const { bytes, afterMs } = await v.closed
    clearInterval(drip)
    t.equal(bytes.toString('latin1'), REQUEST_TIMEOUT)
    t.ok(afterMs < 3000, `closed after ${afterMs} ms`)
  })
})

t.test('keep-alive timeout: an idle connection after a response is closed without a byte', bounded(), async t => {
  const { port } = await front(t, siteDecoy({ keepAliveTimeoutMs: 200 }))
  const v = await visitor(port)
  v.socket.write(get('/'))
  const [r] = await v.responses(1)
  t.equal(r!.headers['keep-alive'], `timeout=0, max=${MAX_REQUESTS_PER_CONNECTION}`, 'node advertises whole seconds: 200 ms is timeout=0')
  const answered = v.bytes().length
  const { bytes, afterMs } = await v.closed
  t.equal(bytes.length, answered, 'closed with no 408 or anything else')
  // node:http arms the socket timeout at keepAliveTimeout plus one second of its own.
  t.ok(afterMs >= 1000 && afterMs < 3000, `closed after ${afterMs} ms (keepAliveTimeout 200 ms + node's 1 s)`)
})

t.test('a root directory: its files, and nothing outside it', bounded(), async t => {
  const base = await realpath(await mkdtemp(join(tmpdir(), 'bttls-decoy-')))
  t.teardown(() => rm(base, { recursive: true, force: true }))
  const root = join(base, 'site')
  const SECRET = 'SECRET: the file outside the root\n'
  await mkdir(join(root, 'sub'), { recursive: true })
  await mkdir(join(root, 'empty'))
  await mkdir(join(base, 'private'))
  await writeFile(join(base, 'outside.txt'), SECRET)
  await writeFile(join(base, 'private', 'secret.txt'), SECRET)
  await writeFile(join(root, 'index.html'), '<p>root index</p>\n')
  await writeFile(join(root, 'a.txt'), 'file a\n')
  await writeFile(join(root, 'data.bin'), Buffer.from([0, 1, 2, 0xff]))
  await writeFile(join(root, 'sub', 'index.html'), '<p>sub index</p>\n')
  await symlink(join(base, 'outside.txt'), join(root, 'out')) // a file link out of the root
  await symlink(join(base, 'private'), join(root, 'outdir')) // a directory link out of the root
  await symlink(join(root, 'a.txt'), join(root, 'in.txt')) // a link that stays inside

  const { port } = await front(t, siteDecoy({ root }))

  t.test('files are served with their type and length', async t => {
    const a = await fetchOnce(t, port, getClose('/a.txt'))
    t.equal(a.statusLine, 'HTTP/1.1 200 OK')
    t.equal(a.headers['content-type'], 'text/plain; charset=utf-8')
    t.equal(a.headers['content-length'], '7')
    t.match(a.headers['last-modified'] ?? '', / GMT$/)
    t.equal(a.body, 'file a\n')
    const index = await fetchOnce(t, port, getClose('/'))
    t.equal(index.headers['content-type'], 'text/html; charset=utf-8')
    t.equal(index.body, '<p>root index</p>\n', '/ is index.html')
    const sub = await fetchOnce(t, port, getClose('/sub/'))
    t.equal(sub.statusLine, 'HTTP/1.1 200 OK')
    t.equal(sub.body, '<p>sub index</p>\n', '/sub/ is sub/index.html')
    t.equal((await fetchOnce(t, port, getClose('/sub'))).body, '<p>sub index</p>\n', '/sub with no slash is served as well (no redirect)')
    const bin = await fetchOnce(t, port, getClose('/data.bin'))
    t.equal(bin.headers['content-type'], 'application/octet-stream')
    t.same(Buffer.from(bin.body, 'latin1'), Buffer.from([0, 1, 2, 0xff]))
    t.equal((await fetchOnce(t, port, getClose('/in.txt'))).body, 'file a\n', 'a link that stays inside the root is followed')
    const head = await fetchOnce(t, port, 'HEAD /a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n', true)
    t.equal(head.headers['content-length'], '7')
    t.ok(head.raw.endsWith('\r\n\r\n'), 'HEAD: no body')
  })

  t.test('a file that is not there, a directory with no index: 404', async t => {
    for (const path of ['/missing.txt', '/empty/', '/empty', '/sub/missing', '//outside.txt', '/a.txt/']) {
      const r = await fetchOnce(t, port, getClose(path))
      t.equal(r.statusLine, 'HTTP/1.1 404 Not Found', path)
    }
  })

  t.test('every way out of the root is refused, never the outside file', async t => {
    const cases: Array<[string, string]> = [
      ['/../outside.txt', '400 Bad Request'],
      ['/%2e%2e/outside.txt', '400 Bad Request'],
      ['/%2E%2E/outside.txt', '400 Bad Request'],
      ['/..%2foutside.txt', '400 Bad Request'],
      ['/sub/../../outside.txt', '400 Bad Request'],
      ['/sub/..%5c..%5coutside.txt', '400 Bad Request'],
      ['/a.txt%00', '400 Bad Request'],
      ['/a.txt%00.html', '400 Bad Request'],
      ['/a.txt%', '400 Bad Request'],
      ['/out', '404 Not Found'],
      ['/outdir/secret.txt', '404 Not Found'],
      ['/outdir/', '404 Not Found']
    ]
    const answers = await Promise.all(cases.map(([path]) => fetchOnce(t, port, getClose(path))))
    for (const [i, [path, status]] of cases.entries()) {
      t.equal(answers[i]!.statusLine, `HTTP/1.1 ${status}`, path)
      t.notMatch(answers[i]!.raw, /SECRET/, `${path}: not one byte of the outside file`)
    }
    // What node:http's parser refuses before any path is looked at.
    const v = await visitor(port)
    v.socket.write('GET /a.txt\0 HTTP/1.1\r\nHost: localhost\r\n\r\n')
    t.equal((await v.closed).bytes.toString('latin1'), BAD_REQUEST, 'a raw NUL in the target is a parse error')
  })

  t.test('requestPath', async t => {
    t.equal(requestPath('/'), '/')
    t.equal(requestPath('/a.txt?x=1#frag'), '/a.txt')
    t.equal(requestPath('/a%20b.txt'), '/a b.txt')
    t.equal(requestPath('/sub/'), '/sub/')
    t.equal(requestPath('/./a.txt'), '/./a.txt', 'a single dot names the same directory')
    t.equal(requestPath('/...'), '/...', 'three dots is an ordinary name')
    t.equal(requestPath('/a..b'), '/a..b')
    t.equal(requestPath('/..a'), '/..a')
    t.equal(requestPath('/a?../..'), '/a', 'the query is not part of the path')
    for (const url of [
      '', 'a.txt', '*', 'http://localhost/a.txt', '?/a',
      '/..', '/../', '/a/../b', '/a/..', '/%2e%2e', '/%2e%2e/x', '/..%2f', '/.%2e/x',
      '/a%00', '/%00', '/a\\..\\b', '/a%5cb',
      '/%', '/%zz', '/%e2%82', '/a%2'
    ]) t.equal(requestPath(url), undefined, JSON.stringify(url))
  })
})

t.test('limits (DecoyVisits)', bounded(), async t => {
  t.test('maxConnections: one visitor more than the limit is closed at once, the others are served', async t => {
    const f = await front(t, siteDecoy({ limits: { maxConnections: 2, maxLifetimeMs: 60_000 } }))
    const first = await visitor(f.port)
    const second = await visitor(f.port)
    await f.handedOver(2)
    const third = await visitor(f.port)
    await f.handedOver(3)
    third.socket.write(get('/'))
    const turnedAway = await third.closed
    t.equal(turnedAway.bytes.length, 0, 'no byte for the visitor over the limit')
    t.ok(turnedAway.afterMs < 1000, `closed at once (${turnedAway.afterMs} ms)`)
    for (const v of [first, second]) {
      v.socket.write(get('/'))
      t.equal((await v.responses(1))[0]!.statusLine, 'HTTP/1.1 200 OK', 'a visitor within the limit is served')
    }
    first.socket.destroy()
    if (!f.sockets[0]!.destroyed) await new Promise(resolve => f.sockets[0]!.once('close', resolve)) // the decoy saw it leave
    const fourth = await visitor(f.port)
    fourth.socket.write(getClose('/'))
    const { bytes } = await fourth.closed
    t.equal(parseResponses(bytes.toString('latin1'))[0]?.statusLine, 'HTTP/1.1 200 OK', 'a closed visit frees its place')
    second.socket.destroy()
  })

  t.test('maxLifetimeMs: a busy keep-alive visitor is closed when its time is up', async t => {
    const f = await front(t, siteDecoy({ limits: { maxConnections: 10, maxLifetimeMs: 300 } }))
    const v = await visitor(f.port)
    let answered = 0
    const ask = setInterval(() => { if (!v.socket.destroyed) v.socket.write(get('/')) }, 40)
    t.teardown(() => clearInterval(ask))
    v.socket.on('data', () => { answered = parseResponses(v.bytes().toString('latin1')).length })
    const { afterMs } = await v.closed
    clearInterval(ask)
    t.ok(answered >= 3, `it was being served until then (${answered} answers)`)
    t.ok(afterMs >= 250 && afterMs < 1500, `closed after ${afterMs} ms (lifetime 300 ms)`)
  })

  t.test('close() ends every visit: idle, mid-request and between requests', async t => {
    const decoy = siteDecoy()
    const f = await front(t, decoy)
    const idle = await visitor(f.port)
    const midRequest = await visitor(f.port)
    const kept = await visitor(f.port)
    await f.handedOver(3)
    midRequest.socket.write('GET / HTTP/1.1\r\nHo')
    kept.socket.write(get('/'))
    await kept.responses(1)
    const started = Date.now()
    await decoy.close()
    const ends = await Promise.all([idle.closed, midRequest.closed, kept.closed])
    t.ok(Date.now() - started < 1000, `all closed within ${Date.now() - started} ms`)
    t.equal(ends[0].bytes.length, 0, 'the idle visitor got nothing')
    t.equal(ends[1].bytes.length, 0, 'the visitor mid-request got nothing')
  })
})

/** A raw TCP web server stand-in that records every byte of every connection. */
async function rawUpstream (t: Test, onConnection: (socket: net.Socket, received: () => Buffer) => void = () => {}) {
  const connections: Array<{ socket: net.Socket, received: () => Buffer, closed: Promise<void> }> = []
  const waiters: Array<() => void> = []
  const server = net.createServer(socket => {
    const chunks: Buffer[] = []
    socket.on('error', () => {})
    socket.on('data', d => chunks.push(d))
    const received = (): Buffer => Buffer.concat(chunks)
    connections.push({ socket, received, closed: new Promise(resolve => socket.once('close', () => resolve())) })
    for (const wake of waiters.splice(0)) wake()
    onConnection(socket, received)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const c of connections) c.socket.destroy(); server.close() })
  const connection = async (index: number) => {
    while (connections.length <= index) await new Promise<void>(resolve => waiters.push(resolve))
    return connections[index]!
  }
  return { port: (server.address() as net.AddressInfo).port, connections, connection }
}

/** A port on 127.0.0.1 with nothing listening. */
async function closedPort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

t.test('forwardingDecoy', bounded(), async t => {
  t.test('to a node:http server: the bytes already read and the rest reach it, its answer comes back byte for byte', async t => {
    const seen: string[] = []
    const upstream = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers['x-probe'] ?? ''}`)
      res.sendDate = false // so that two answers to one request are the same bytes
      res.setHeader('Content-Type', 'text/plain')
      res.end(`${req.method} ${req.url}`)
    })
    await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
    t.teardown(() => { upstream.closeAllConnections(); upstream.close() })
    const upPort = (upstream.address() as net.AddressInfo).port
    const f = await front(t, forwardingDecoy(`http://127.0.0.1:${upPort}`), true)

    const request = 'GET /echo/path?x=1 HTTP/1.1\r\nHost: localhost\r\nX-Probe: 42\r\nConnection: close\r\n\r\n'
    // What the web server answers when asked directly.
    const direct = net.connect(upPort, '127.0.0.1')
    direct.write(request)
    const expected = await new Promise<Buffer>(resolve => { const c: Buffer[] = []; direct.on('data', d => c.push(d)); direct.on('close', () => resolve(Buffer.concat(c))) })
    t.match(expected.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nGET \/echo\/path\?x=1$/)

    const v = await visitor(f.port)
    v.socket.write(request.slice(0, 25))
    const [received] = await f.handedOver(1)
    t.equal(received!.toString('latin1'), request.slice(0, 25), 'the responder had read the first 25 bytes')
    v.socket.write(request.slice(25))
    const { bytes } = await v.closed
    t.same(bytes, expected, 'the visitor got the web server\'s answer, byte for byte')
    t.same(seen, ['GET /echo/path?x=1 42', 'GET /echo/path?x=1 42'], 'the web server saw the whole request, in order')
  })

  t.test('arbitrary bytes both ways, untouched, and the visitor\'s close reaches the web server', async t => {
    const blob = Buffer.alloc(256 * 1024)
    for (let i = 0; i < blob.length; i++) blob[i] = (i * 31 + (i >> 8)) & 0xff
    const first = Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x00, 0x0d, 0x0a])
    const rest = Buffer.alloc(3000, 0xa5)
    const up = await rawUpstream(t, (socket, received) => {
      socket.on('data', () => { if (received().length === first.length + rest.length) socket.write(blob) })
    })
    const f = await front(t, forwardingDecoy(`http://127.0.0.1:${up.port}`), true)
    const v = await visitor(f.port)
    v.socket.write(first)
    await f.handedOver(1)
    v.socket.write(rest)
    t.same(await v.atLeast(blob.length), blob, 'the web server\'s bytes, all and only them')
    const conn = await up.connection(0)
    t.same(conn.received(), Buffer.concat([first, rest]), 'the web server got the bytes already read, then the rest')
    v.socket.destroy()
    await conn.closed
    t.pass('the web server\'s connection closed when the visitor left')
  })

  t.test('a large answer followed by the web server\'s close arrives whole at a slow reader', async t => {
    const big = Buffer.alloc(4 << 20)
    for (let i = 0; i < big.length; i += 4096) big[i] = (i >> 12) & 0xff
    const up = await rawUpstream(t, socket => { socket.once('data', () => socket.end(big)) })
    const f = await front(t, forwardingDecoy(`http://127.0.0.1:${up.port}`))
    const v = await visitor(f.port)
    v.socket.pause()
    v.socket.write('GET / HTTP/1.1\r\n\r\n')
    setTimeout(() => v.socket.resume(), 300)
    const { bytes } = await v.closed
    t.equal(bytes.length, big.length)
    t.ok(bytes.equals(big), 'byte for byte')
  })

  t.test('the web server is down (nothing listening): the visitor is closed at once, with no byte', async t => {
    const port = await closedPort()
    const f = await front(t, forwardingDecoy(`http://127.0.0.1:${port}`, { connectTimeoutMs: 2000 }), true)
    const v = await visitor(f.port)
    v.socket.write(getClose('/'))
    const { bytes, afterMs } = await v.closed
    t.equal(bytes.length, 0)
    t.ok(afterMs < 2000, `closed within the connect timeout (${afterMs} ms)`)
  })

  t.test('the idle timeout closes a visit with no byte either way; traffic keeps it open', async t => {
    const up = await rawUpstream(t) // accepts, reads, never answers
    const f = await front(t, forwardingDecoy(`http://127.0.0.1:${up.port}`, { idleTimeoutMs: 300 }))
    const idle = await visitor(f.port)
    const busy = await visitor(f.port)
    const drip = setInterval(() => { if (!busy.socket.destroyed) busy.socket.write('x') }, 50)
    t.teardown(() => clearInterval(drip))
    idle.socket.write('GET / HTTP/1.1\r\n')
    const gone = await idle.closed
    t.equal(gone.bytes.length, 0)
    t.ok(gone.afterMs >= 250 && gone.afterMs < 2000, `the idle visit closed after ${gone.afterMs} ms`)
    await new Promise(resolve => setTimeout(resolve, 400))
    t.notOk(busy.socket.destroyed, 'a visit with bytes flowing is still open past the idle timeout')
    clearInterval(drip)
    const { afterMs } = await busy.closed
    t.ok(afterMs >= 700, `then closed once idle (${afterMs} ms after it began)`)
    await (await up.connection(0)).closed
    await (await up.connection(1)).closed
    t.pass('and the web server\'s connections with them')
  })

  t.test('maxConnections and close()', async t => {
    const up = await rawUpstream(t)
    const decoy = forwardingDecoy(`http://127.0.0.1:${up.port}`, { limits: { maxConnections: 1, maxLifetimeMs: 60_000 } })
    const f = await front(t, decoy)
    const kept = await visitor(f.port)
    await up.connection(0)
    const turnedAway = await visitor(f.port)
    const { bytes, afterMs } = await turnedAway.closed
    t.equal(bytes.length, 0)
    t.ok(afterMs < 1000, `the visitor over the limit closed at once (${afterMs} ms)`)
    t.equal(up.connections.length, 1, 'and never forwarded')
    await decoy.close()
    await kept.closed
    await up.connections[0]!.closed
    t.pass('close() ended the visit and its connection to the web server')
  })

  t.test('decoyTarget: http://host[:port] only', async t => {
    t.same(decoyTarget('http://127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 })
    t.same(decoyTarget('http://127.0.0.1:8080/'), { host: '127.0.0.1', port: 8080 })
    t.same(decoyTarget('http://example.com'), { host: 'example.com', port: 80 })
    t.same(decoyTarget('http://[::1]:81'), { host: '::1', port: 81 })
    for (const url of ['https://127.0.0.1:8443', 'ftp://127.0.0.1', 'http://127.0.0.1:8080/site', 'http://127.0.0.1/?q=1', 'http://user:pw@127.0.0.1', 'not a url', '127.0.0.1:8080', '']) {
      t.throws(() => decoyTarget(url), RangeError, JSON.stringify(url))
    }
    t.throws(() => forwardingDecoy('https://127.0.0.1:8443'), RangeError, 'forwardingDecoy refuses it too')
  })
})
