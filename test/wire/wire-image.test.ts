/**
 * The wire image (BEP: "Wire image"): what a censor sees of a bttls connection and of a bttls port.
 *
 * Every active probe of the wire-image lab is sent to a bttls listener in the probe-resistant posture
 * (require-tls) and to a stock Node HTTPS server, over real sockets, and the answers must be of the same
 * class: handshake or not, negotiated version and ALPN, HTTP status line back, closed or still open.
 * Then: the initiator's ClientHello is Node's own HTTPS client's; the responder's certificate is an
 * ordinary one; the AuthReply leaves in one record with the first BitTorrent messages; and a prober does
 * not spoil the port for real peers.
 */
import t, { type Test } from 'tap'
import https from 'node:https'
import net from 'node:net'
import tls from 'node:tls'
import { randomBytes, type X509Certificate } from 'node:crypto'
import { join } from 'node:path'
import { parseClientHello } from '../../src/protocol/client-hello.js'
import { CERTIFICATE_VALIDITY_S, createResponderCertificate } from '../../src/pki/responder-certificate.js'
import { openTls, secureOutbound } from '../../src/handshake/secure-outbound.js'
import { TlsResponder } from '../../src/handshake/secure-inbound.js'
import { captureClientHello, stockClientHello } from '../../src/demo/capture-hello.js'
import { basicLevel } from '../../src/levels/basic.js'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { dial } from '../../src/wire/dialer.js'
import { PeerListener, type Refusal } from '../../src/wire/listener.js'
import { randomFile, session, tempDir } from '../helpers/session-pair.js'
import { tcpPair } from '../helpers/tcp.js'
import { answerLinks } from '../helpers/link-pair.js'
import { messageIds } from '../helpers/peer-messages.js'
import { RECORD_LAYER_PROBES } from '../../bench/wire-image/probes.js'

const ih = randomBytes(20)
/** How long a probe waits for more after its last byte: long enough for any answer on loopback. */
const SETTLE_MS = 400

interface Answer {
  /** The TLS handshake completed. */
  readonly handshake: boolean
  readonly protocol?: string
  readonly alpn?: string | false
  /** The first line of what came back (inside TLS when there was a handshake), or '' for nothing. */
  readonly firstLine: string
  /** The server closed the connection within SETTLE_MS of the last byte sent. */
  readonly closed: boolean
}

async function targets (t: Test): Promise<{ bttls: number, stock: number, refusals: Refusal[] }> {
  const listener = await PeerListener.listen({ policy: 'require-tls', swarms: () => [{ wireInfoHashes: [ih], level: basicLevel([ih]) }] })
  const refusals: Refusal[] = []
  listener.on('refused', r => refusals.push(r))
  answerLinks(listener)
  const stock = https.createServer(await createResponderCertificate(), (_req, res) => res.end('ok'))
  await new Promise<void>(resolve => stock.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { stock.closeAllConnections(); stock.close(); await listener.close() })
  return { bttls: listener.port, stock: (stock.address() as net.AddressInfo).port, refusals }
}

/**
 * A TLS client with `options`; after the handshake it sends `send` (if any), half-closing after it with
 * `halfClose`, and watches what comes back.
 */
function tlsProbe (port: number, options: tls.ConnectionOptions, send?: Buffer, halfClose = false): Promise<Answer> {
  return new Promise(resolve => {
    let back = Buffer.alloc(0)
    let handshake = false
    let protocol: string | undefined
    let alpn: string | false | undefined
    let settle: NodeJS.Timeout | undefined
    const done = (closed: boolean): void => {
      clearTimeout(settle)
      socket.destroy()
      resolve({ handshake, protocol, alpn, firstLine: back.toString('latin1').split('\r\n')[0]!, closed })
    }
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => {
      handshake = true
      protocol = socket.getProtocol() ?? undefined
      alpn = socket.alpnProtocol ?? undefined
      if (send) socket.write(send)
      if (halfClose) socket.end()
      settle = setTimeout(() => done(false), SETTLE_MS)
    })
    socket.on('data', (d: Buffer) => { back = Buffer.concat([back, d]) })
    socket.on('error', () => {})
    socket.on('close', () => done(true))
  })
}

/** Raw bytes to the port, no TLS. */
function rawProbe (port: number, bytes: Buffer): Promise<Answer> {
  return new Promise(resolve => {
    let back = Buffer.alloc(0)
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes))
    const settle = setTimeout(() => done(false), SETTLE_MS)
    const done = (closed: boolean): void => {
      clearTimeout(settle)
      socket.destroy()
      resolve({ handshake: false, firstLine: back.toString('latin1').split('\r\n')[0]!, closed })
    }
    socket.on('data', (d: Buffer) => { back = Buffer.concat([back, d]) })
    socket.on('error', () => {})
    socket.on('close', () => done(true))
  })
}

const GET = Buffer.from('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n')
const ALPN = { ALPNProtocols: ['h2', 'http/1.1'] }
const authLike = (flags: number, length: number): Buffer => {
  const b = Buffer.concat([Buffer.from([1, 1, flags >> 8, flags & 0xff]), randomBytes(length - 4)])
  return b
}

// Each probe's bytes are drawn once, so both targets get the same bytes: 200 random bytes that happen
// to look like a TLS record header get an alert or a wait depending on the length they announce.
const RANDOM_200 = Buffer.concat([Buffer.from([0x42]), randomBytes(199)])
const RANDOM_16 = Buffer.concat([Buffer.from([0x42]), randomBytes(15)])
const PLAIN_BT = Buffer.concat([Buffer.from('\x13BitTorrent protocol', 'latin1'), Buffer.alloc(8), ih, randomBytes(20)])

const probes: Array<{ name: string, run: (port: number) => Promise<Answer>, alert?: true }> = [
  { name: 'SNI example.com, ALPN h2/http1.1, then GET', run: p => tlsProbe(p, { servername: 'example.com', ...ALPN }, GET) },
  { name: 'SNI naming the infohash (as libtorrent sends it), then GET', run: p => tlsProbe(p, { servername: ih.toString('hex') }, GET) },
  { name: 'SNI example.com, GET, then a half-close', run: p => tlsProbe(p, { servername: 'example.com' }, GET, true) },
  { name: 'TLS 1.2 only, then GET', run: p => tlsProbe(p, { maxVersion: 'TLSv1.2' }, GET) },
  { name: 'TLS 1.3 offering only P-384 (HelloRetryRequest)', run: p => tlsProbe(p, { minVersion: 'TLSv1.3', ecdhCurve: 'P-384' }, GET) },
  { name: 'browser signature algorithms (no ed25519)', run: p => tlsProbe(p, { sigalgs: 'ecdsa_secp256r1_sha256:rsa_pss_rsae_sha256:rsa_pkcs1_sha256' }, GET) },
  { name: 'ChaCha20 only', run: p => tlsProbe(p, { minVersion: 'TLSv1.3', ciphers: 'TLS_CHACHA20_POLY1305_SHA256' }, GET) },
  { name: 'TLS, then silence', run: p => tlsProbe(p, {}) },
  { name: 'TLS, then 1 byte', run: p => tlsProbe(p, {}, Buffer.from([1])) },
  { name: 'TLS, then 35 zero bytes', run: p => tlsProbe(p, {}, Buffer.alloc(35)) },
  { name: 'TLS, then 36 bytes 01 01 00 00 + random', run: p => tlsProbe(p, {}, authLike(0, 36)) },
  { name: 'TLS, then a well-formed AuthHello with a wrong proof', run: p => tlsProbe(p, {}, Buffer.concat([authLike(0, 36), Buffer.alloc(2)])) },
  { name: 'TLS, then 36 bytes with flag 0x0001', run: p => tlsProbe(p, {}, authLike(1, 36)) },
  { name: 'TLS, then 100 bytes with flag 0x0001', run: p => tlsProbe(p, {}, authLike(1, 100)) },
  { name: 'TLS, then 36 bytes with flag 0x0002', run: p => tlsProbe(p, {}, authLike(2, 36)) },
  { name: 'TLS, then a partial HTTP request', run: p => tlsProbe(p, {}, Buffer.from('GET / HTTP/1.1\r\nHost: exa')) },
  { name: 'plain HTTP GET (no TLS)', run: p => rawProbe(p, GET) },
  { name: '200 random bytes', run: p => rawProbe(p, RANDOM_200) },
  { name: '16 random bytes', run: p => rawProbe(p, RANDOM_16) },
  { name: 'a plaintext BitTorrent handshake', run: p => rawProbe(p, PLAIN_BT) },
  ...RECORD_LAYER_PROBES.map(({ title, bytes }) => ({ name: title, run: (p: number) => rawProbe(p, bytes), alert: true as const }))
]

t.test('every probe gets the same class of answer from a require-tls bttls port as from a stock Node HTTPS server', async t => {
  const { bttls, stock, refusals } = await targets(t)
  for (const probe of probes) {
    const [ours, theirs] = await Promise.all([probe.run(bttls), probe.run(stock)])
    // The status line, not the page: the sites differ, their kind of answer must not.
    const status = (a: Answer): string => a.firstLine.replace(/^(HTTP\/1\.1 \d{3}).*/, '$1')
    t.same({ ...ours, firstLine: status(ours) }, { ...theirs, firstLine: status(theirs) }, probe.name)
    // The record-layer probes reach the TLS stack's error path: a fatal alert, the same one.
    if (probe.alert) t.equal(ours.firstLine.slice(0, 6), '\x15\x03\x03\x00\x02\x02', `${probe.name}: a fatal alert`)
  }
  t.ok(refusals.length >= probes.length - 3, 'the listener logged the probes as refusals')
  t.ok(refusals.every(r => r.error.name !== undefined), 'each with a typed reason')
})

t.test('the answers themselves: a web page, a 400 to garbage, and no answer outside TLS', async t => {
  const { bttls } = await targets(t)
  const page = await tlsProbe(bttls, { servername: 'example.com', ...ALPN }, GET)
  t.equal(page.protocol, 'TLSv1.3')
  t.equal(page.alpn, 'http/1.1', 'ALPN selected as Node\'s https.Server selects it')
  t.equal(page.firstLine, 'HTTP/1.1 200 OK')
  t.equal(page.closed, false, 'kept alive, as a web server does')
  t.same(await tlsProbe(bttls, {}, authLike(0, 36)), { handshake: true, protocol: 'TLSv1.3', alpn: false, firstLine: 'HTTP/1.1 400 Bad Request', closed: true })
  t.same(await tlsProbe(bttls, { maxVersion: 'TLSv1.2' }, GET), { handshake: true, protocol: 'TLSv1.2', alpn: false, firstLine: 'HTTP/1.1 200 OK', closed: false })
  t.same(await rawProbe(bttls, GET), { handshake: false, firstLine: '', closed: true })
})

t.test('a prober does not spoil the port: a real peer dialing after the probes gets in', async t => {
  const { bttls } = await targets(t)
  await tlsProbe(bttls, {}, Buffer.concat([authLike(0, 36), Buffer.alloc(2)]))
  await rawProbe(bttls, randomBytes(200))
  const link = await dial({ host: '127.0.0.1', port: bttls, level: basicLevel([ih]), wireInfoHash: ih, policy: 'require-tls' })
  t.equal(link.transport, 'tls')
  t.equal(link.tls?.protocol, 'TLSv1.3')
  link.close()
})

const helloSources: Array<[string, (port: number) => net.Socket]> = [
  ['over a connected TCP socket', port => {
    const raw = net.connect(port, '127.0.0.1')
    void secureOutbound(raw, basicLevel([ih]), { tlsTimeoutMs: 1000 }).catch(() => {})
    return raw
  }],
  // The dialer's way (dialer.ts): node:tls connects by itself, to read through the shared buffer.
  ['opened by node:tls (the dialer)', port => openTls({ host: '127.0.0.1', port }).on('error', () => {})]
]

for (const [how, source] of helloSources) t.test(`the initiator's ClientHello, ${how}, is Node's own HTTPS client's, with ALPN h2,http/1.1 and no SNI`, async t => {
  const ours = parseClientHello(await captureClientHello(source))
  const stock = parseClientHello(await stockClientHello())
  t.same(ours.cipherSuites, stock.cipherSuites, 'the same cipher suites, in the same order')
  t.same(ours.extensions, stock.extensions, 'the same extensions, in the same order')
  t.same(ours.alpn, ['h2', 'http/1.1'])
  t.equal(ours.serverName, undefined, 'no SNI: peers are dialed by address')
  t.ok(ours.supportedVersions?.includes(0x0303) && ours.supportedVersions.includes(0x0304), 'TLS 1.2 offered next to 1.3, as every HTTPS client does')
  t.ok(ours.cipherSuites.length > 4, `${ours.cipherSuites.length} suites offered, not the 4 that gave bttls away`)
})

t.test('the responder\'s certificate is an ordinary one: ECDSA P-256, a SAN, a 90-day window not tied to the start, rotated', async t => {
  const responder = await TlsResponder.create()
  t.teardown(() => responder.close())
  const certOf = async (): Promise<X509Certificate> => {
    const { client, server } = await tcpPair()
    const pending = responder.handshake(server)
    const socket = tls.connect({ socket: client, rejectUnauthorized: false })
    await new Promise(resolve => socket.once('secureConnect', resolve))
    const cert = socket.getPeerX509Certificate()!
    const accepted = await pending
    socket.destroy(); accepted.destroy()
    return cert
  }
  const first = await certOf()
  t.equal(first.publicKey.asymmetricKeyType, 'ec')
  t.equal(first.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1')
  t.equal(first.subjectAltName, 'DNS:localhost')
  const notBefore = Date.parse(first.validFrom)
  const notAfter = Date.parse(first.validTo)
  t.equal((notAfter - notBefore) / 1000, CERTIFICATE_VALIDITY_S, '90 days')
  t.ok(Date.now() - notBefore >= 3600_000, 'issued at least an hour ago, not at start-up')
  t.equal((await certOf()).fingerprint256, first.fingerprint256, 'one certificate between rotations')
  await responder.rotateCertificate()
  t.not((await certOf()).fingerprint256, first.fingerprint256, 'a new key and certificate after a rotation')
})

t.test('the AuthReply leaves in one record with the responder\'s BitTorrent handshake, extension handshake, bitfield and unchoke', async t => {
  const dir = await tempDir(t)
  await randomFile(join(dir, 'seed'), 'r.bin', 100_000)
  const { bytes } = await createTorrent(join(dir, 'seed', 'r.bin'), { version: 'v1', pieceLength: 32 * 1024 })
  const metainfo = parseTorrent(bytes)
  const seeder = await session(t, { policy: 'require-tls' })
  await seeder.addTorrent(metainfo, join(dir, 'seed'))
  for (let i = 0; i < 3; i++) {
    const raw = net.connect(seeder.port, '127.0.0.1')
    await new Promise(resolve => raw.once('connect', resolve))
    raw.pause()
    const channel = await secureOutbound(raw, basicLevel([metainfo.infoHashV1!]))
    // TLS delivers whole records: what shared the AuthReply's record is already here, before any read.
    const buffered = channel.socket.read() as Buffer | null
    t.ok(buffered !== null && buffered.length >= 68, `the BitTorrent handshake arrived with the AuthReply (${buffered?.length ?? 0} bytes buffered)`)
    t.equal(buffered?.subarray(0, 20).toString('latin1'), '\x13BitTorrent protocol')
    const ids = messageIds(buffered?.subarray(68) ?? Buffer.alloc(0))
    t.ok(ids.some(m => m.id === 20 && m.ext === 0), `the extension handshake is in the same record (messages: ${JSON.stringify(ids)})`)
    t.ok(ids.some(m => m.id === 5), 'so is the bitfield')
    t.ok(ids.some(m => m.id === 1), 'and the unchoke')
    channel.socket.destroy()
  }
})
