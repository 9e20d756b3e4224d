/**
 * The hostile side of `npm run hostile`, one attack per process (bench/hostile/run.ts spawns it):
 *
 *   node dist/bench/hostile/attacker.js '<json AttackArgs>'
 *
 * Every attack is bounded in time, reports JSON lines on stdout (bench/json-child.ts's `emit`) and
 * exits when done; the long-running ones (the bad seeders) run until SIGTERM and report their totals
 * then. Insiders speak plaintext BitTorrent through bittorrent-protocol's Wire (the seeder's policy
 * accepts it for a Basic torrent), the bad seeders are real Sessions (TLS like any bttls peer) whose
 * links answer requests wrongly or not at all, the prober runs the real TLS initiator with wrong
 * infohashes (and the held insiders with the right one), the tracker attacks use the real announce client.
 * The choke churners and the rejecter write and parse raw peer-wire bytes, so that every message they send is the one meant.
 */
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import net from 'node:net'
import Wire from 'bittorrent-protocol'
import { secureOutbound } from '../../src/handshake/secure-outbound.js'
import { basicLevel } from '../../src/levels/basic.js'
import { createPeerKeyAndCsr } from '../../src/pki/certificate-profile.js'
import { Session } from '../../src/session/session.js'
import { encodeBencode } from '../../src/codec/bencode.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { CSR_PARAM, readBttlsFields } from '../../src/tracker/announce-keys.js'
import { announce } from '../../src/tracker/client/client.js'
import { UT_PEX } from '../../src/wire/ut-pex.js'
import { emit } from '../json-child.js'

export type AttackArgs =
  | { attack: 'deaf-flood', host: string, port: number, infoHash: string, from: string, links: number, bytesPerLink: number, seconds: number }
  | { attack: 'bad-seeder', behaviour: 'wrong-blocks' | 'silent', torrent: string, data: string, host: string, port: number }
  | { attack: 'pex-reflection', host: string, port: number, infoHash: string, from: string, sinkPrefix: string, sinkPort: number, addresses: number, seconds: number }
  | { attack: 'handshake-flood', host: string, port: number, realInfoHash: string, from: string, seconds: number, concurrency: number }
  | { attack: 'issuance-flood', url: string, caPem: string, infoHash: string, passkey: string, seconds: number, concurrency: number }
  | { attack: 'announce-size', url: string, caPem: string, infoHash: string, passkey: string }
  | { attack: 'silent-tcp', host: string, port: number, from: string, connections: number, seconds: number }
  | { attack: 'held-insiders', host: string, port: number, infoHash: string, from: string, connections: number, concurrency: number, seconds: number }
  | { attack: 'choke-churn', host: string, port: number, infoHash: string, from: string, links: number, pieces: number, pairsPerSecond: number, seconds: number }
  | { attack: 'reject-all', host: string, port: number, infoHash: string, from: string, pieces: number, seconds: number }

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
const since = (t0: number): number => Math.round(performance.now() - t0)

function connectFrom (host: string, port: number, from: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, localAddress: from })
    s.once('connect', () => { s.removeListener('error', reject); resolve(s) })
    s.once('error', reject)
  })
}

/** A plaintext BitTorrent link (extension protocol and Fast on), resolved once the peer's handshake arrived. */
async function plainPeer (host: string, port: number, from: string, infoHash: string, extensions: Array<new (wire: Wire) => unknown> = []): Promise<{ socket: net.Socket, wire: Wire }> {
  const socket = await connectFrom(host, port, from)
  socket.on('error', () => {})
  const wire = new Wire()
  for (const e of extensions) wire.use(e as never)
  socket.pipe(wire as unknown as NodeJS.WritableStream)
  wire.pipe(socket)
  const theirs = new Promise<void>((resolve, reject) => {
    wire.once('handshake', () => resolve())
    socket.once('close', () => reject(new Error('closed before its handshake')))
    setTimeout(() => reject(new Error('no handshake within 10 s')), 10_000).unref()
  })
  wire.handshake(infoHash, randomBytes(20), { dht: false, fast: true, extended: true })
  await theirs
  return { socket, wire }
}

const INTERESTED_PAIR = Buffer.from([0, 0, 0, 1, 2, 0, 0, 0, 1, 3])

/** Insiders that never read: each floods interested/not-interested pairs (each earns two replies). */
async function deafFlood (a: Extract<AttackArgs, { attack: 'deaf-flood' }>): Promise<void> {
  const t0 = performance.now()
  const deadline = t0 + a.seconds * 1000
  const chunk = Buffer.concat(Array.from({ length: 2000 }, () => INTERESTED_PAIR))
  const links = await Promise.all(Array.from({ length: a.links }, () => plainPeer(a.host, a.port, a.from, a.infoHash)))
  emit('flooding', { links: links.length })
  const results = await Promise.all(links.map(async ({ socket }) => {
    socket.unpipe()
    socket.pause()
    let closedAtMs: number | undefined
    let error: string | undefined
    socket.on('error', (err: NodeJS.ErrnoException) => { error ??= err.code ?? err.message })
    const closed = new Promise<void>(resolve => socket.once('close', () => { closedAtMs = since(t0); resolve() }))
    let sent = 0
    while (sent < a.bytesPerLink && closedAtMs === undefined && performance.now() < deadline) {
      sent += chunk.length
      if (!socket.write(chunk)) await Promise.race([new Promise(resolve => socket.once('drain', resolve)), closed, sleep(Math.max(0, deadline - performance.now()))])
    }
    const finishedSendingMs = since(t0)
    // Still never reading: wait for the seeder to give up on us, or the time bound.
    await Promise.race([closed, sleep(Math.max(0, deadline - performance.now()))])
    socket.destroy()
    return { sentBytes: sent, finishedSendingMs, closedBySeederAtMs: closedAtMs, ourSocketError: error }
  }))
  emit('done', { links: results, seconds: since(t0) / 1000 })
}

/** A real seeder whose links send random bytes for every block, or never answer a request at all. */
async function badSeeder (a: Extract<AttackArgs, { attack: 'bad-seeder' }>): Promise<void> {
  const session = await Session.start({ port: a.port, host: a.host, policy: 'prefer-tls', pex: false, trackers: false })
  const handle = await session.addTorrent(parseTorrent(await readFile(a.torrent)), a.data)
  let requests = 0
  let links = 0
  session.on('link', link => {
    links++
    // bittorrent-protocol answers a request through wire.piece (its `respond`): replace it on this link.
    const wire = link.wire as unknown as { piece: (index: number, offset: number, block: Uint8Array) => void }
    const piece = wire.piece.bind(wire)
    wire.piece = a.behaviour === 'silent'
      ? () => { requests++ }
      : (index, offset, block) => { requests++; piece(index, offset, randomBytes(block.length)) }
  })
  const report = (): void => { emit('totals', { behaviour: a.behaviour, links, requests, pieces: handle.swarm.stats().piecesDone }) }
  process.once('SIGTERM', () => { report(); void session.close().finally(() => process.exit(0)) })
  emit('ready', { pieces: handle.swarm.stats().piecesDone })
}

/** A ut_pex extension that sends nothing by itself: the attack sends its one message by hand. */
class QuietPex {
  /** bittorrent-protocol reads the name from the prototype, hence a getter. */
  get name (): string { return UT_PEX }
  onMessage (): void {}
}

/** One ut_pex message naming `addresses` listening endpoints; counts who dials them within the window. */
async function pexReflection (a: Extract<AttackArgs, { attack: 'pex-reflection' }>): Promise<void> {
  const dials = new Map<string, number[]>()
  const servers = await Promise.all(Array.from({ length: a.addresses }, (_, i) => new Promise<net.Server>((resolve, reject) => {
    const host = `${a.sinkPrefix}.${i + 1}`
    const server = net.createServer(s => {
      const at = dials.get(host) ?? []
      at.push(performance.now())
      dials.set(host, at)
      s.destroy()
    })
    server.once('error', reject)
    server.listen(a.sinkPort, host, () => resolve(server))
  })))
  const { socket, wire } = await plainPeer(a.host, a.port, a.from, a.infoHash, [QuietPex as never])
  const mapping = await new Promise<number | undefined>(resolve => {
    const theirs = (wire as unknown as { peerExtendedHandshake?: { m?: Record<string, number> } }).peerExtendedHandshake?.m?.[UT_PEX]
    if (theirs !== undefined) { resolve(theirs); return }
    wire.on('extended', (ext: string, hs: { m?: Record<string, number> }) => { if (ext === 'handshake') resolve(hs.m?.[UT_PEX]) })
    setTimeout(() => resolve(undefined), 5000).unref()
  })
  if (mapping === undefined) throw new Error('the target did not offer ut_pex')
  // Raw compact entries: our own codec caps what it sends at 50 per message, a hostile peer does not.
  const added = Buffer.concat(Array.from({ length: a.addresses }, (_, i) => {
    const entry = Buffer.alloc(6)
    Buffer.from(`${a.sinkPrefix}.${i + 1}`.split('.').map(Number)).copy(entry)
    entry.writeUInt16BE(a.sinkPort, 4)
    return entry
  }))
  const message = encodeBencode({ added, 'added.f': Buffer.alloc(a.addresses, 0) })
  const t0 = performance.now()
  wire.extended(mapping, message)
  await sleep(a.seconds * 1000)
  const within = [...dials.values()].map(times => times.filter(t => t - t0 <= a.seconds * 1000)).filter(times => times.length > 0)
  const firsts = within.map(times => times[0]! - t0).sort((x, y) => x - y)
  emit('done', {
    messageBytes: message.length,
    addressesDialed: within.length,
    connections: within.reduce((n, times) => n + times.length, 0),
    firstDialMs: firsts.length > 0 ? Math.round(firsts[0]!) : null,
    lastFirstDialMs: firsts.length > 0 ? Math.round(firsts[firsts.length - 1]!) : null,
    linkOpen: !socket.destroyed
  })
  socket.destroy()
  await Promise.all(servers.map(s => new Promise(resolve => s.close(resolve))))
}

/** TLS handshakes with wrong proofs (random infohashes) from one address, then one right proof from it. */
async function handshakeFlood (a: Extract<AttackArgs, { attack: 'handshake-flood' }>): Promise<void> {
  const outcomes = new Map<string, number>()
  const t0 = performance.now()
  const deadline = t0 + a.seconds * 1000
  const attempt = async (infoHash: Buffer): Promise<string> => {
    try {
      const raw = await connectFrom(a.host, a.port, a.from)
      const channel = await secureOutbound(raw, basicLevel([infoHash]))
      channel.socket.destroy()
      return 'peer'
    } catch (err) {
      return (err as Error).name
    }
  }
  let count = 0
  await Promise.all(Array.from({ length: a.concurrency }, async () => {
    while (performance.now() < deadline) {
      const outcome = await attempt(randomBytes(20))
      count++
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
    }
  }))
  const seconds = since(t0) / 1000
  const rightProofAfter = await attempt(Buffer.from(a.realInfoHash, 'hex'))
  emit('done', { handshakes: count, seconds, perSecond: count / seconds, outcomes: Object.fromEntries(outcomes), rightProofAfter })
}

async function csrParam (): Promise<[string, string]> {
  const { csrDer } = await createPeerKeyAndCsr('hostile')
  return [CSR_PARAM, csrDer.toString('base64url')]
}

/** One user asks for certificates as fast as it can. */
async function issuanceFlood (a: Extract<AttackArgs, { attack: 'issuance-flood' }>): Promise<void> {
  const csr = await csrParam()
  const refused = new Map<string, number>()
  let issued = 0
  const t0 = performance.now()
  const deadline = t0 + a.seconds * 1000
  await Promise.all(Array.from({ length: a.concurrency }, async () => {
    while (performance.now() < deadline) {
      try {
        const r = await announce(a.url, { infoHash: Buffer.from(a.infoHash, 'hex'), peerId: randomBytes(20), port: 6881, passkey: a.passkey, params: [csr] }, { ca: a.caPem })
        if (readBttlsFields(r.dict).certificateDer !== undefined) issued++
        else refused.set('no certificate', (refused.get('no certificate') ?? 0) + 1)
      } catch (err) {
        const code = (err as { code?: string }).code ?? (err as Error).name
        refused.set(code, (refused.get(code) ?? 0) + 1)
      }
    }
  }))
  emit('done', { issued, refused: Object.fromEntries(refused), seconds: since(t0) / 1000 })
}

/** One announce by another user: how large the tracker's answer is (revoked serials included). */
async function announceSize (a: Extract<AttackArgs, { attack: 'announce-size' }>): Promise<void> {
  const r = await announce(a.url, { infoHash: Buffer.from(a.infoHash, 'hex'), peerId: randomBytes(20), port: 6882, passkey: a.passkey }, { ca: a.caPem })
  // The response is canonical bencode, so re-encoding the decoded dict gives its size on the wire.
  emit('done', { responseBytes: encodeBencode(r.dict).length, revokedSerials: readBttlsFields(r.dict).revokedSerials?.length ?? 0 })
}

/** TCP connections that never send a byte: when does the server close each? */
async function silentTcp (a: Extract<AttackArgs, { attack: 'silent-tcp' }>): Promise<void> {
  const t0 = performance.now()
  const closedAt: number[] = []
  const sockets = await Promise.all(Array.from({ length: a.connections }, async () => {
    const s = await connectFrom(a.host, a.port, a.from)
    s.on('error', () => {})
    s.once('close', () => closedAt.push(since(t0)))
    s.resume()
    return s
  }))
  emit('opened', { connections: sockets.length, ms: since(t0) })
  const deadline = t0 + a.seconds * 1000
  while (closedAt.length < sockets.length && performance.now() < deadline) await sleep(100)
  const open = sockets.length - closedAt.length
  for (const s of sockets) s.destroy()
  closedAt.sort((x, y) => x - y)
  emit('done', {
    connections: sockets.length,
    closedByServer: closedAt.length,
    stillOpenAtEnd: open,
    firstClosedS: closedAt.length > 0 ? closedAt[0]! / 1000 : null,
    lastClosedS: closedAt.length > 0 ? closedAt[closedAt.length - 1]! / 1000 : null,
    boundS: a.seconds
  })
}

/**
 * Insiders from one address, each through the real TLS handshake with the right proof and the BitTorrent
 * handshake, then holding the link open (reading, sending nothing): how many does the peer keep?
 */
async function heldInsiders (a: Extract<AttackArgs, { attack: 'held-insiders' }>): Promise<void> {
  const t0 = performance.now()
  const outcomes = new Map<string, number>()
  const held: net.Socket[] = []
  let closedBySeeder = 0
  const attempt = async (): Promise<void> => {
    let outcome = 'peer'
    try {
      const raw = await connectFrom(a.host, a.port, a.from)
      raw.on('error', () => {})
      const channel = await secureOutbound(raw, basicLevel([Buffer.from(a.infoHash, 'hex')]))
      const socket = channel.socket
      socket.on('error', () => {})
      const wire = new Wire()
      socket.pipe(wire as unknown as NodeJS.WritableStream)
      wire.pipe(socket)
      await new Promise<void>((resolve, reject) => {
        wire.once('handshake', () => resolve())
        socket.once('close', () => reject(new Error('closed before its BitTorrent handshake')))
        setTimeout(() => reject(new Error('no BitTorrent handshake within 10 s')), 10_000).unref()
        wire.handshake(a.infoHash, randomBytes(20), { dht: false, fast: true, extended: true })
      })
      held.push(socket)
      socket.once('close', () => { closedBySeeder++ })
    } catch (err) {
      outcome = (err as Error).name === 'Error' ? (err as Error).message : (err as Error).name
    }
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
  }
  let started = 0
  await Promise.all(Array.from({ length: a.concurrency }, async () => {
    while (started < a.connections) {
      started++
      await attempt()
    }
  }))
  const openedMs = since(t0)
  emit('holding', { attempts: started, held: held.length, outcomes: Object.fromEntries(outcomes), ms: openedMs })
  await sleep(Math.max(0, a.seconds * 1000 - openedMs))
  const stillOpen = held.filter(s => !s.destroyed).length
  const closedDuringHold = closedBySeeder
  for (const s of held) s.destroy()
  emit('done', { attempts: started, held: held.length, outcomes: Object.fromEntries(outcomes), openedMs, closedBySeeder: closedDuringHold, stillOpenAtEnd: stillOpen, seconds: since(t0) / 1000 })
}

/** BEP 3 handshake with the Fast (BEP 6) and extension protocol (BEP 10) bits. */
function rawHandshake (infoHash: string): Buffer {
  const reserved = Buffer.alloc(8)
  reserved[5] = 0x10
  reserved[7] = 0x04
  return Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), reserved, Buffer.from(infoHash, 'hex'), randomBytes(20)])
}

const rawMessage = (id: number, payload: Buffer = Buffer.alloc(0)): Buffer => {
  const head = Buffer.alloc(5)
  head.writeUInt32BE(1 + payload.length)
  head[4] = id
  return Buffer.concat([head, payload])
}

/**
 * Peers that each claim one piece (its own), get it requested, then churn choke/unchoke at a steady
 * rate under the message budget. The piece is asked for already, so nothing else can be picked from
 * them: what does each unchoke cost the downloader?
 */
async function chokeChurn (a: Extract<AttackArgs, { attack: 'choke-churn' }>): Promise<void> {
  // Reset when the churn starts: closes are timed from then.
  let t0 = performance.now()
  const links = await Promise.all(Array.from({ length: a.links }, async (_, piece) => {
    const socket = await connectFrom(a.host, a.port, a.from)
    const bits = Buffer.alloc(Math.ceil(a.pieces / 8))
    bits[piece >> 3]! |= 0x80 >> (piece & 7)
    let requests = 0
    let closedAtMs: number | undefined
    let pending = Buffer.alloc(0)
    let handshakeSeen = false
    const requested = new Promise<void>((resolve, reject) => {
      socket.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk])
        if (!handshakeSeen) {
          if (pending.length < 68) return
          handshakeSeen = true
          pending = pending.subarray(68)
          // Only now: what arrives with the handshake itself is not seen by the swarm of an inbound link.
          socket.write(Buffer.concat([rawMessage(5, bits), rawMessage(2), rawMessage(1)]))
        }
        while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
          const length = pending.readUInt32BE(0)
          if (length > 0 && pending[4] === 6) { requests++; resolve() }
          pending = pending.subarray(4 + length)
        }
      })
      socket.once('close', () => reject(new Error('closed before requesting its piece')))
      setTimeout(() => reject(new Error('no request within 20 s')), 20_000).unref()
    })
    socket.on('error', () => {})
    socket.once('close', () => { closedAtMs ??= since(t0) })
    socket.write(rawHandshake(a.infoHash))
    await requested
    return { socket, requests: () => requests, closedAtMs: () => closedAtMs }
  }))
  t0 = performance.now()
  emit('ready', { links: links.length })
  const pair = Buffer.concat([rawMessage(0), rawMessage(1)])
  const tickMs = 50
  const deadline = t0 + a.seconds * 1000
  let pairs = 0
  while (performance.now() < deadline) {
    const due = Math.floor((performance.now() - t0) / 1000 * a.pairsPerSecond)
    if (due > pairs) {
      const chunk = Buffer.concat(Array.from({ length: due - pairs }, () => pair))
      for (const l of links) if (!l.socket.destroyed) l.socket.write(chunk)
      pairs = due
    }
    await sleep(tickMs)
  }
  const seconds = since(t0) / 1000
  emit('done', {
    links: links.length,
    pairsPerLink: pairs,
    seconds,
    requests: links.map(l => l.requests()),
    closedAtS: links.map(l => l.closedAtMs()).filter((x): x is number => x !== undefined).map(x => x / 1000)
  })
  for (const l of links) l.socket.destroy()
}

/**
 * A peer that claims every piece (have-all) and unchokes, then rejects (BEP 6) every request it gets;
 * when the target closes its link it connects again, until the time is up.
 */
async function rejectAll (a: Extract<AttackArgs, { attack: 'reject-all' }>): Promise<void> {
  const t0 = performance.now()
  const deadline = t0 + a.seconds * 1000
  const links: Array<{ rejects: number, closedAtS: number | null }> = []
  const claim = Buffer.concat([rawMessage(0x0e), rawMessage(1)])
  while (performance.now() < deadline) {
    const link: { rejects: number, closedAtS: number | null } = { rejects: 0, closedAtS: null }
    links.push(link)
    const socket = await connectFrom(a.host, a.port, a.from)
    socket.on('error', () => {})
    const closed = new Promise<void>(resolve => socket.once('close', () => resolve()))
    let pending: Buffer = Buffer.alloc(0)
    let handshakeSeen = false
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      if (!handshakeSeen) {
        if (pending.length < 68) return
        handshakeSeen = true
        pending = pending.subarray(68)
        // Only now: what arrives with the handshake itself is not seen by the swarm of an inbound link.
        socket.write(claim)
      }
      const rejects: Buffer[] = []
      while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
        const length = pending.readUInt32BE(0)
        // A request (id 6: index, begin, length) is answered by a reject (id 0x10) of the same three fields.
        if (length === 13 && pending[4] === 6) {
          rejects.push(rawMessage(0x10, Buffer.from(pending.subarray(5, 17))))
          link.rejects++
        }
        pending = pending.subarray(4 + length)
      }
      if (rejects.length > 0) socket.write(Buffer.concat(rejects))
    })
    socket.write(rawHandshake(a.infoHash))
    if (links.length === 1) emit('ready', {})
    await Promise.race([closed, sleep(Math.max(0, deadline - performance.now()))])
    if (socket.destroyed) link.closedAtS = since(t0) / 1000
    else socket.destroy()
  }
  emit('done', { links, seconds: since(t0) / 1000 })
}

async function main (): Promise<void> {
  const a = JSON.parse(process.argv[2] ?? '') as AttackArgs
  switch (a.attack) {
    case 'deaf-flood': await deafFlood(a); break
    case 'bad-seeder': await badSeeder(a); return // runs until SIGTERM
    case 'pex-reflection': await pexReflection(a); break
    case 'handshake-flood': await handshakeFlood(a); break
    case 'issuance-flood': await issuanceFlood(a); break
    case 'announce-size': await announceSize(a); break
    case 'silent-tcp': await silentTcp(a); break
    case 'held-insiders': await heldInsiders(a); break
    case 'choke-churn': await chokeChurn(a); break
    case 'reject-all': await rejectAll(a); break
  }
  process.exit(0)
}

main().catch(err => {
  emit('error', { message: (err as Error).stack ?? String(err) })
  process.exit(1)
})
