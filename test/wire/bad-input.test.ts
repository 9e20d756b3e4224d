import t, { type Test } from 'tap'
import net from 'node:net'
import tls from 'node:tls'
import { randomBytes } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import {
  AuthPaddingError, type BttlsError, DecoyAnswerError, HandshakeTimeoutError, LevelMismatchError, MalformedAuthMessageError, MalformedMessageError, MseHandshakeError, OversizedBencodeError,
  OversizedMessageError, TlsHandshakeError, UnknownSwarmError, UnrecognizedProtocolError
} from '../../src/errors.js'
import { secureOutbound } from '../../src/handshake/secure-outbound.js'
import { createResponderCertificate } from '../../src/pki/responder-certificate.js'
import { initiatorOptions, responderContextOptions } from '../../src/handshake/tls-profile.js'
import { basicLevel } from '../../src/levels/basic.js'
import type { Session } from '../../src/session/session.js'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import type { Refusal } from '../../src/wire/listener.js'
import type { Decoy } from '../../src/wire/decoy.js'
import { siteDecoy } from '../../src/wire/decoy-site.js'
import { MAX_AUTH_PADDING } from '../../src/protocol/constants.js'
import { MAX_EXTENDED_HANDSHAKE_LENGTH, MAX_MESSAGE_LENGTH } from '../../src/wire/message-limits.js'
import type { PeerLink } from '../../src/wire/peer-link.js'
import { btHandshake, clientHello, message } from '../fixtures/fuzz/seeds.js'
import { prng } from '../fixtures/fuzz/mutate.js'
import { completed, fileSha256, randomFile, session, tempDir } from '../helpers/session-pair.js'

/**
 * Issue #2, "Bad input": each kind of bad peer gets a typed error, its connection is closed within a
 * bound, and neither the process, the listener nor a transfer running at the same time notice. Every
 * case runs at once against two sessions: the seeder that also serves a good TLS transfer, and a
 * leecher that sees nothing but bad input (and so must write nothing to disk).
 */

/** Every handshake step's bound in these sessions (sniff, TLS, AuthHello, legacy handshake). */
const TIMEOUT_MS = 1000
/** A bad connection must be closed by the peer this soon after its bad input (or its silence) began. */
// Generous against a loaded 2-core CI machine (the CLI tests spawn processes alongside), still far
// below the 10 s defaults: a connection the code forgot to bound would fail this.
const CLOSE_BOUND_MS = 6 * TIMEOUT_MS
const timeouts = { sniffMs: TIMEOUT_MS, tlsMs: TIMEOUT_MS, authMs: TIMEOUT_MS }

type ErrorClass = new (message: string) => BttlsError

/** What a case saw: the error the listener (or the link, or our own initiator) reported, and when the socket closed. */
interface Observation {
  readonly error: Error
  readonly transport?: string
  /** ms from the start of the bad input (or silence) to the peer closing the socket. */
  readonly closedAfterMs: number
  /** The error our own side saw, for the cases where we are the initiator talking to the listener. */
  readonly initiatorError?: Error
  /** The listener handed the connection to its decoy web site. */
  readonly decoy?: boolean
  /** What came back inside TLS (the decoy's answer), as latin1. */
  readonly answer?: string
}

/** Collects a session's refusals and links so a case can find its own by its local port. */
class Watch {
  private readonly refusals = new Map<number, Refusal>()
  private readonly links = new Map<number, PeerLink>()
  private readonly waiters = new Set<() => void>()
  constructor (session: Session) {
    session.on('refused', r => { this.refusals.set(r.remotePort, r); this.wake() })
    session.on('link', l => { this.links.set(l.remotePort, l); this.wake() })
  }

  refusal (port: number): Promise<Refusal> { return this.until(() => this.refusals.get(port), `refusal of :${port}`) }
  link (port: number): Promise<PeerLink> { return this.until(() => this.links.get(port), `link from :${port}`) }
  refusalCount (): number { return this.refusals.size }

  private wake (): void { for (const w of this.waiters) w() }
  private until<T> (get: () => T | undefined, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const v = get()
        if (v === undefined) return
        clearTimeout(timer); this.waiters.delete(check); resolve(v)
      }
      const timer = setTimeout(() => { this.waiters.delete(check); reject(new Error(`no ${what} within ${CLOSE_BOUND_MS + 2000} ms`)) }, CLOSE_BOUND_MS + 2000)
      this.waiters.add(check)
      check()
    })
  }
}

interface Target { readonly name: string, readonly port: number, readonly watch: Watch }

/** A raw TCP connection that reads (so it sees the peer's FIN) and reports when it is closed. */
async function rawConnect (port: number): Promise<{ socket: net.Socket, closed: (since: number) => Promise<number> }> {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {}) // a refused peer may be reset; the close is what is asserted
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  socket.resume()
  const closedAt = new Promise<number>(resolve => socket.once('close', () => resolve(Date.now())))
  return { socket, closed: async since => (await closedAt) - since }
}

/**
 * Sends `bytes` (possibly nothing) on a raw connection, then `more.chunks` one every `more.everyMs`
 * while the socket is open (starting once the peer first answers, with `afterReply`), and expects
 * the listener to refuse it.
 */
async function refusedRaw (target: Target, bytes: Buffer, more?: { everyMs: number, chunks: Buffer[], afterReply?: boolean }): Promise<Observation> {
  const { socket, closed } = await rawConnect(target.port)
  const since = Date.now()
  socket.write(bytes)
  const pending = [...(more?.chunks ?? [])]
  let timer: NodeJS.Timeout | undefined
  const trickle = (): void => {
    timer = setInterval(() => {
      const chunk = pending.shift()
      if (chunk && !socket.destroyed) socket.write(chunk)
      else clearInterval(timer)
    }, more?.everyMs ?? 1000)
  }
  if (more?.afterReply) socket.once('data', trickle)
  else trickle()
  try {
    const refusal = await target.watch.refusal(socket.localPort!)
    const closedAfterMs = await closed(since)
    return { error: refusal.error, transport: refusal.transport, closedAfterMs }
  } finally {
    clearInterval(timer)
    socket.destroy()
  }
}

/** One chunk per byte: a slowloris peer that keeps every step busy but never finishes it. */
const byteByByte = (bytes: Buffer): Buffer[] => [...bytes].map(b => Buffer.from([b]))

/**
 * A TLS initiator to the listener that, once TLS is up, sends `auth` (possibly nothing) instead of a
 * real AuthHello; with `everyMs`, one byte at a time.
 */
async function refusedAfterTls (target: Target, auth: Buffer, everyMs?: number): Promise<Observation> {
  const { socket: raw, closed } = await rawConnect(target.port)
  raw.pause() // the TLS socket reads it
  const secure = tls.connect({ socket: raw, ...initiatorOptions() })
  secure.on('error', () => {})
  let answer = ''
  secure.on('data', (d: Buffer) => { answer += d.toString('latin1') })
  await new Promise<void>(resolve => secure.once('secureConnect', resolve))
  const since = Date.now()
  const pending = everyMs === undefined ? [auth] : byteByByte(auth)
  const send = (): void => { const chunk = pending.shift(); if (chunk?.length && !secure.destroyed) secure.write(chunk) }
  send()
  const timer = setInterval(send, everyMs ?? 1000)
  try {
    const refusal = await target.watch.refusal(raw.localPort!)
    const closedAfterMs = await closed(since)
    return { error: refusal.error, transport: refusal.transport, closedAfterMs, decoy: refusal.decoy, answer }
  } finally {
    clearInterval(timer)
  }
}

/** A plain peer with a valid handshake for the torrent, whose link is accepted; then it sends `bad`. */
async function linkClosedBy (target: Target, infoHash: Buffer, bad: Buffer): Promise<Observation> {
  const { socket, closed } = await rawConnect(target.port)
  socket.write(btHandshake(infoHash, randomBytes(20)))
  const link = await target.watch.link(socket.localPort!)
  const since = Date.now()
  socket.write(bad)
  const error = await link.closed
  const closedAfterMs = await closed(since)
  return { error: error ?? new Error('link closed without an error'), transport: link.transport, closedAfterMs }
}

/** Our own initiator against a responder that misbehaves at some step. */
async function initiatorAgainst (serve: (socket: net.Socket) => void): Promise<Observation> {
  const server = net.createServer(socket => { socket.on('error', () => {}); serve(socket) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  try {
    const { socket: raw, closed } = await rawConnect((server.address() as net.AddressInfo).port)
    raw.pause()
    const since = Date.now()
    const level = basicLevel([randomBytes(20)])
    const error = await secureOutbound(raw, level, { tlsTimeoutMs: TIMEOUT_MS, authTimeoutMs: TIMEOUT_MS }).then(
      channel => { channel.socket.destroy(); return new Error('secureOutbound resolved') },
      (err: Error) => err)
    // The initiator closes its own socket on failure: measure that it did so in time.
    return { error, closedAfterMs: await closed(since) }
  } finally {
    server.close()
  }
}

// --- the swarm: a seeder, a leecher that downloads over TLS meanwhile, and a victim leecher ---

const dir = await tempDir(t)
const sum = await randomFile(join(dir, 'seed'), 'payload.bin', 2 * 1024 * 1024 + 777)
const { bytes: torrentBytes } = await createTorrent(join(dir, 'seed', 'payload.bin'), { version: 'v1', pieceLength: 64 * 1024 })
const metainfo = parseTorrent(torrentBytes)
const infoHash = metainfo.infoHashV1!

// The decoy's header timeout shortened like the handshake bounds, so a silent visitor is closed in time.
const decoy = (): Decoy => siteDecoy({ headersTimeoutMs: TIMEOUT_MS, keepAliveTimeoutMs: TIMEOUT_MS })
const seeder = await session(t, { timeouts, decoy: decoy() })
await seeder.addTorrent(metainfo, join(dir, 'seed'))
const victim = await session(t, { timeouts, decoy: decoy() })
await victim.addTorrent(metainfo, join(dir, 'victim'))
const good = await session(t, { policy: 'require-tls', timeouts })
const goodHandle = await good.addTorrent(metainfo, join(dir, 'good'))

const targets: Target[] = [
  { name: 'seeder', port: seeder.port, watch: new Watch(seeder) },
  { name: 'victim', port: victim.port, watch: new Watch(victim) }
]

const rng = prng(0xbad)
/** Bytes that are neither TLS (0x16) nor BitTorrent (0x13): the listener hands them to MSE. */
const garbage = (n: number): Buffer => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = Math.floor(rng() * 256); b[0] = 0x42; return b }
const hello = clientHello(rng)
/** An auth message with a random proof, the given header, and `padding` zero bytes announced and sent. */
const authHello = (version: number, level: number, flags: number, padding = 0): Buffer => {
  const b = Buffer.concat([Buffer.alloc(4), randomBytes(32), Buffer.alloc(2), Buffer.alloc(padding)])
  b[0] = version; b[1] = level; b.writeUInt16BE(flags, 2); b.writeUInt16BE(padding, 36)
  return b
}

interface Case {
  readonly name: string
  readonly expect: ErrorClass
  readonly transport?: string
  readonly run: (target: Target) => Promise<Observation>
  /** Extra checks on the observation. */
  readonly also?: (t: Test, o: Observation) => void
}

const listenerCases: Case[] = [
  {
    name: 'no byte at all (stall before sniffing)',
    expect: HandshakeTimeoutError,
    run: target => refusedRaw(target, Buffer.alloc(0))
  },
  {
    name: 'garbage, then silence (MSE never completes)',
    expect: HandshakeTimeoutError,
    transport: 'mse',
    run: target => refusedRaw(target, garbage(40))
  },
  {
    name: 'garbage beyond the MSE sync window (the MSE responder gives up)',
    expect: MseHandshakeError,
    transport: 'mse',
    // bittorrent-protocol checks the sync window only when bytes arrive after it has taken Ya and
    // answered with Yb: so the second write waits for that answer (a timer raced a busy event loop).
    run: target => refusedRaw(target, garbage(700), { everyMs: 10, chunks: [garbage(700)], afterReply: true })
  },
  {
    name: 'TLS record header, garbage ClientHello body',
    expect: TlsHandshakeError,
    transport: 'tls',
    run: target => refusedRaw(target, Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00, 0x3c]), randomBytes(60)]))
  },
  {
    name: 'truncated ClientHello, then silence',
    expect: HandshakeTimeoutError,
    transport: 'tls',
    run: target => refusedRaw(target, hello.subarray(0, hello.length >> 1))
  },
  {
    name: 'ClientHello trickled a byte at a time (the TLS bound is absolute, not idle time)',
    expect: HandshakeTimeoutError,
    transport: 'tls',
    run: target => refusedRaw(target, hello.subarray(0, 9), { everyMs: TIMEOUT_MS / 4, chunks: byteByByte(hello.subarray(9)) })
  },
  {
    name: 'oversized ClientHello (announced length over MAX_CLIENT_HELLO_LENGTH)',
    expect: UnrecognizedProtocolError,
    run: target => refusedRaw(target, Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x01, 0x00, 0x00]))
  },
  {
    name: 'TLS handshake, then no AuthHello: a silent web visitor, closed by the decoy\'s header timeout',
    expect: HandshakeTimeoutError,
    transport: 'tls',
    run: target => refusedAfterTls(target, Buffer.alloc(0)),
    also: (t, o) => t.equal(o.decoy, true, 'handed to the decoy')
  },
  {
    name: 'AuthHello split across records (a byte at a time): only the first record counts, a web visit',
    expect: MalformedAuthMessageError,
    transport: 'tls',
    run: target => refusedAfterTls(target, authHello(0x01, 0x01, 0), TIMEOUT_MS / 4),
    also: (t, o) => { t.equal(o.decoy, true, 'handed to the decoy'); t.match(o.answer ?? '', /^HTTP\/1\.1 400 /, 'and answered as a web server answers a bad request') }
  },
  {
    name: 'AuthHello with padding longer than MAX_AUTH_PADDING',
    expect: AuthPaddingError,
    transport: 'tls',
    run: target => refusedAfterTls(target, authHello(0x01, 0x01, 0, MAX_AUTH_PADDING + 1)),
    also: (t, o) => t.equal(o.decoy, true, 'handed to the decoy')
  },
  {
    name: 'AuthHello with non-zero padding',
    expect: AuthPaddingError,
    transport: 'tls',
    run: target => refusedAfterTls(target, Buffer.concat([authHello(0x01, 0x01, 0, 4).subarray(0, -1), Buffer.from([1])]))
  },
  {
    name: 'AuthHello followed by more bytes in its record',
    expect: MalformedAuthMessageError,
    transport: 'tls',
    run: target => refusedAfterTls(target, Buffer.concat([authHello(0x01, 0x01, 0), Buffer.alloc(5)]))
  },
  {
    name: 'AuthHello with an unknown version',
    expect: MalformedAuthMessageError,
    transport: 'tls',
    run: target => refusedAfterTls(target, authHello(0x02, 0x01, 0))
  },
  {
    name: 'AuthHello with unknown reserved/flag bits',
    expect: MalformedAuthMessageError,
    transport: 'tls',
    run: target => refusedAfterTls(target, authHello(0x01, 0x01, 0x8000))
  },
  {
    name: 'AuthHello with an unknown level',
    expect: MalformedAuthMessageError,
    transport: 'tls',
    run: target => refusedAfterTls(target, authHello(0x01, 0x7f, 0))
  },
  {
    name: 'a valid proof for another infohash',
    expect: UnknownSwarmError,
    transport: 'tls',
    run: async target => {
      const { socket: raw, closed } = await rawConnect(target.port)
      raw.pause()
      const port = raw.localPort! // gone once secureOutbound destroys the socket
      const since = Date.now()
      const initiatorError = await secureOutbound(raw, basicLevel([randomBytes(20)]), { tlsTimeoutMs: TIMEOUT_MS, authTimeoutMs: TIMEOUT_MS })
        .then(() => new Error('secureOutbound resolved'), (err: Error) => err)
      const refusal = await target.watch.refusal(port)
      return { error: refusal.error, transport: refusal.transport, closedAfterMs: await closed(since), initiatorError, decoy: refusal.decoy }
    },
    also: (t, o) => {
      t.equal(o.initiatorError?.name, DecoyAnswerError.name, 'the initiator learns only that a web site answered')
      t.equal(o.decoy, true, 'the responder handed it to the decoy, as any other visitor')
    }
  },
  {
    name: 'plain BitTorrent handshake for an unknown infohash',
    expect: UnknownSwarmError,
    transport: 'plain',
    run: target => refusedRaw(target, btHandshake(randomBytes(20), randomBytes(20)))
  },
  {
    name: 'plain BitTorrent handshake cut short, then silence',
    expect: HandshakeTimeoutError,
    transport: 'plain',
    run: target => refusedRaw(target, btHandshake(infoHash, randomBytes(20)).subarray(0, 40))
  },
  {
    name: 'plain BitTorrent handshake trickled a byte at a time',
    expect: HandshakeTimeoutError,
    transport: 'plain',
    run: target => {
      const handshake = btHandshake(infoHash, randomBytes(20))
      return refusedRaw(target, handshake.subarray(0, 20), { everyMs: TIMEOUT_MS / 4, chunks: byteByByte(handshake.subarray(20)) })
    }
  }
]

const linkCases: Case[] = [
  {
    name: 'accepted plain peer: length prefix over MAX_MESSAGE_LENGTH',
    expect: OversizedMessageError,
    transport: 'plain',
    run: target => {
      const prefix = Buffer.alloc(4)
      prefix.writeUInt32BE(MAX_MESSAGE_LENGTH + 1)
      return linkClosedBy(target, infoHash, prefix)
    }
  },
  {
    name: 'accepted plain peer: have message of the wrong length',
    expect: MalformedMessageError,
    transport: 'plain',
    run: target => linkClosedBy(target, infoHash, message(4, Buffer.from([0, 7])))
  },
  {
    name: 'accepted plain peer: extended handshake over MAX_EXTENDED_HANDSHAKE_LENGTH',
    expect: OversizedBencodeError,
    transport: 'plain',
    run: target => linkClosedBy(target, infoHash, message(20, Buffer.from([0]), Buffer.alloc(MAX_EXTENDED_HANDSHAKE_LENGTH + 1, 0x65)))
  }
]

const initiatorCases: Case[] = [
  {
    name: 'responder accepts TCP and never answers the ClientHello',
    expect: HandshakeTimeoutError,
    run: () => initiatorAgainst(() => {})
  },
  {
    name: 'responder answers the ClientHello with garbage',
    expect: TlsHandshakeError,
    run: () => initiatorAgainst(socket => socket.once('data', () => socket.write(randomBytes(300))))
  },
  ...await (async (): Promise<Case[]> => {
    const { cert, key } = await createResponderCertificate()
    const context = { ...responderContextOptions(), cert, key }
    // A real TLS 1.3 responder that then misbehaves in the bttls step.
    const tlsResponder = (after: (secure: tls.TLSSocket) => void) => (socket: net.Socket): void => {
      const secure = new tls.TLSSocket(socket, { ...context, isServer: true })
      secure.on('error', () => {})
      secure.once('secure', () => after(secure))
    }
    return [
      {
        name: 'responder finishes TLS, then never sends its AuthReply',
        expect: HandshakeTimeoutError,
        run: () => initiatorAgainst(tlsResponder(() => {}))
      },
      {
        name: 'responder sends a malformed AuthReply',
        expect: MalformedAuthMessageError,
        run: () => initiatorAgainst(tlsResponder(secure => secure.write(authHello(0x09, 0x01, 0))))
      },
      {
        // BEP: the initiator checks version, level and flags in the first 36 bytes and closes at once,
        // rather than waiting for the 64 bytes a publisher signature flag announces.
        name: 'responder answers at another level, with a flag that announces more bytes',
        expect: LevelMismatchError,
        run: () => initiatorAgainst(tlsResponder(secure => secure.write(authHello(0x01, 0x02, 0x0001).subarray(0, 36))))
      },
      {
        name: 'responder announces more padding than MAX_AUTH_PADDING',
        expect: AuthPaddingError,
        run: () => initiatorAgainst(tlsResponder(secure => secure.write(authHello(0x01, 0x01, 0, MAX_AUTH_PADDING + 1))))
      },
      {
        name: 'responder answers as a web server',
        expect: DecoyAnswerError,
        run: () => initiatorAgainst(tlsResponder(secure => secure.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')))
      }
    ]
  })()
]

// --- run everything at once: bad connections on both listeners while the good transfer runs ---

type Settled = { ok: true, o: Observation } | { ok: false, err: unknown }
const settle = (p: Promise<Observation>): Promise<Settled> => p.then(o => ({ ok: true as const, o }), err => ({ ok: false as const, err }))

const runs: Array<{ name: string, c: Case, result: Promise<Settled> }> = []
for (const c of [...listenerCases, ...linkCases]) {
  for (const target of targets) runs.push({ name: `${c.name} -> ${target.name}`, c, result: settle(c.run(target)) })
}
for (const c of initiatorCases) runs.push({ name: `initiator: ${c.name}`, c, result: settle(c.run(targets[0]!)) })

// Started after the bad connections are open, so its TLS handshake and pieces cross the seeder's
// listener while stalled bad peers are still waiting out their time bounds.
const goodLink = await good.connect(goodHandle, '127.0.0.1', seeder.port)
const refusedWhenGoodConnected = targets[0]!.watch.refusalCount()
const goodDone = completed(goodHandle.swarm, 20_000)

for (const run of runs) {
  t.test(run.name, async t => {
    const settled = await run.result
    if (!settled.ok) { t.fail(String(settled.err)); return }
    const { error, transport, closedAfterMs } = settled.o
    t.equal(error.name, run.c.expect.name, `${error.name}: ${error.message}`)
    t.ok(error instanceof run.c.expect, 'is an instance of the named class')
    t.equal((error as BttlsError).code, new run.c.expect('').code, 'carries its code')
    if (run.c.transport !== undefined) t.equal(transport, run.c.transport)
    t.ok(closedAfterMs <= CLOSE_BOUND_MS, `connection closed after ${closedAfterMs} ms (bound ${CLOSE_BOUND_MS} ms)`)
    run.c.also?.(t, settled.o)
  })
}

t.test('a TLS transfer through the same listener completes meanwhile, with the right bytes', async t => {
  t.ok(goodLink, 'the good peer connected while bad connections were pending')
  t.equal(goodLink?.transport, 'tls')
  // The stalls take TIMEOUT_MS to be refused; a loopback TLS handshake takes a few ms.
  t.ok(refusedWhenGoodConnected < listenerCases.length, `bad connections still pending when it connected (${refusedWhenGoodConnected} of ${listenerCases.length} refused)`)
  await goodDone
  t.equal(await fileSha256(join(dir, 'good', 'payload.bin')), sum, 'bytes match')
})

t.test('the victim listener still accepts a good peer afterwards, and wrote nothing to disk', async t => {
  await Promise.all(runs.map(r => r.result))
  const victimLevel = basicLevel([infoHash])
  const { socket: raw } = await rawConnect(victim.port)
  raw.pause()
  const channel = await secureOutbound(raw, victimLevel, { tlsTimeoutMs: TIMEOUT_MS * 5, authTimeoutMs: TIMEOUT_MS * 5 })
  t.equal(channel.details.protocol, 'TLSv1.3', 'proof accepted after all that')
  channel.socket.destroy()
  const files = await readdir(join(dir, 'victim'), { recursive: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return []
    throw err
  })
  t.same(files, [], 'no file under the victim\'s download directory')
})
