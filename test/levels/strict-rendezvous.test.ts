/**
 * Strict rendezvous (issue 16): a Strict swarm is announced to trackers (UDP and HTTP, Debian's
 * opentracker) and to the DHT (our own nodes on 127.0.0.x) under a hash only holders of the strict
 * input can compute. Every UDP datagram the test process sends (DHT and UDP tracker) and every byte
 * sent to the HTTP tracker is recorded; the torrent's infohash must appear in none of them, raw, in
 * hex or URL-encoded, while the rendezvous does (so the recording is known to see the announces).
 */
import t, { type Test } from 'tap'
import dgram from 'node:dgram'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import DHT from 'bittorrent-dht'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { magnetUri, parseMagnet } from '../../src/torrent/magnet.js'
import { levelFor, strictRendezvousOf } from '../../src/session/torrent-level.js'
import { secretCommitment, strictRendezvous } from '../../src/levels/strict-keys.js'
import { rawPublisherKey } from '../../src/levels/strict.js'
import { encodeQuery } from '../../src/codec/query-string.js'
import type { PeerLink } from '../../src/wire/peer-link.js'
import type { Session } from '../../src/session/session.js'
import { completed, fileSha256, randomFile, session, tempDir } from '../helpers/session-pair.js'
import { opentrackerMissing, startOpentracker } from '../helpers/opentracker.js'
import { generateKeyPairSync } from 'node:crypto'

function rendezvousOf (level: ReturnType<typeof levelFor>): Buffer {
  if (level.announce !== 'rendezvous') throw new Error(`announce mode ${level.announce}`)
  return level.announceHash()
}

t.test('the rendezvous: 20 bytes, per swarm and per strict input, the same from the .torrent and from the magnet link', async t => {
  const dir = await tempDir(t)
  await randomFile(dir, 'f.bin', 50_000)
  const secret = randomBytes(32)
  const made = await createTorrent(join(dir, 'f.bin'), { version: 'hybrid', pieceLength: 16 * 1024, strict: { info: { mode: 'secret', commitment: secretCommitment(secret) }, secret } })
  const m = parseTorrent(made.bytes)
  const fromTorrent = rendezvousOf(levelFor(m, { secret }))
  t.equal(fromTorrent.length, 20)
  t.same(fromTorrent, strictRendezvous(m.infoHashV1!, secret), 'derived from the v1 infohash of a hybrid torrent')
  t.notSame(fromTorrent, m.infoHashV1)
  const magnet = parseMagnet(magnetUri(m, { secret }))
  t.same(rendezvousOf(levelFor(magnet)), fromTorrent, 'a magnet link with x.bttls.secret is enough to compute it')
  t.notSame(strictRendezvous(m.infoHashV1!, randomBytes(32)), fromTorrent, 'another secret, another rendezvous')
  t.notSame(strictRendezvous(m.infoHashV2!, secret), fromTorrent, 'another infohash, another rendezvous')

  const { publicKey } = generateKeyPairSync('ed25519')
  const pk = rawPublisherKey(publicKey)
  const pub = parseTorrent((await createTorrent(join(dir, 'f.bin'), { version: 'v2', pieceLength: 16 * 1024, strict: { info: { mode: 'publisher', publisherKey: pk } } })).bytes)
  const pubMagnet = parseMagnet(magnetUri(pub))
  t.same(rendezvousOf(levelFor(pubMagnet)), strictRendezvous(pub.infoHashV2!, pk), 'publisher mode, v2-only: from the full v2 infohash and the public key')
  t.same(rendezvousOf(levelFor(pub)), rendezvousOf(levelFor(pubMagnet)))
})

t.test('strictRendezvousOf (bttls create and inspect show it): when the torrent or link and the credentials give it', async t => {
  const dir = await tempDir(t)
  await randomFile(dir, 'f.bin', 20_000)
  const secret = randomBytes(32)
  const strictInfo = { mode: 'secret' as const, commitment: secretCommitment(secret) }
  const carried = parseTorrent((await createTorrent(join(dir, 'f.bin'), { version: 'v1', pieceLength: 16 * 1024, strict: { info: strictInfo, secret } })).bytes)
  t.same(strictRendezvousOf(carried), strictRendezvous(carried.infoHashV1!, secret), 'the .torrent carries the secret')
  t.same(strictRendezvousOf(parseMagnet(magnetUri(carried, { secret }))), strictRendezvous(carried.infoHashV1!, secret), 'the link carries it')
  const bare = parseMagnet(magnetUri(carried))
  t.equal(strictRendezvousOf(bare), undefined, 'a link without the secret: unknown')
  t.same(strictRendezvousOf(bare, { secret }), strictRendezvous(carried.infoHashV1!, secret), 'unless the secret is given')
  t.throws(() => strictRendezvousOf(carried, { secret: randomBytes(32) }), { name: 'StrictSecretMismatchError' }, 'a secret the commitment refuses is an error, not "unknown"')
  const passphrase = parseMagnet(`magnet:?xt=urn:btih:${carried.infoHashV1!.toString('hex')}&x.bttls=strict-passphrase`)
  t.equal(strictRendezvousOf(passphrase), undefined, 'passphrase mode without the passphrase: unknown')
  const basic = parseTorrent((await createTorrent(join(dir, 'f.bin'), { version: 'v1', pieceLength: 16 * 1024 })).bytes)
  t.equal(strictRendezvousOf(basic), undefined, 'a Basic torrent has none')
})

/** Every UDP payload sent from this process (our DHT nodes, the UDP tracker client). */
function recordUdp (t: Test): Buffer[] {
  const sent: Buffer[] = []
  const original = dgram.Socket.prototype.send
  dgram.Socket.prototype.send = function (this: dgram.Socket, msg: unknown, ...rest: unknown[]) {
    if (Buffer.isBuffer(msg) || msg instanceof Uint8Array) sent.push(Buffer.from(msg))
    else if (Array.isArray(msg)) sent.push(Buffer.concat(msg.map(m => Buffer.from(m as Uint8Array))))
    return (original as (...a: unknown[]) => void).call(this, msg, ...rest)
  } as typeof original
  t.teardown(() => { dgram.Socket.prototype.send = original })
  return sent
}

/** A TCP relay in front of the HTTP tracker that records what clients send; it dials from the client's address, so the tracker sees the peer's. */
async function recordingProxy (t: Test, port: number): Promise<{ port: number, sent: Buffer[] }> {
  const sent: Buffer[] = []
  const server = net.createServer(client => {
    const upstream = net.connect({ port, host: '127.0.0.1', localAddress: client.remoteAddress!.replace(/^::ffff:/, '') })
    client.on('data', d => { sent.push(d); upstream.write(d) })
    upstream.on('data', d => client.write(d))
    client.on('end', () => upstream.end())
    upstream.on('end', () => client.end())
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  return { port: (server.address() as net.AddressInfo).port, sent }
}

/** Every form in which an infohash could leak: raw, hex (either case), percent-encoded (either case, or as our query encoder writes it). */
function leakForms (ih: Buffer): Buffer[] {
  const hex = ih.toString('hex')
  const pct = [...ih].map(b => '%' + b.toString(16).padStart(2, '0')).join('')
  return [
    ih, Buffer.from(hex), Buffer.from(hex.toUpperCase()), Buffer.from(pct), Buffer.from(pct.toUpperCase()),
    Buffer.from(encodeQuery([['info_hash', ih]]).slice('info_hash='.length))
  ]
}

function containsAny (haystack: readonly Buffer[], needles: readonly Buffer[]): boolean {
  const all = Buffer.concat(haystack)
  return needles.some(n => all.includes(n)) || haystack.some(h => needles.some(n => h.includes(n)))
}

async function bootstrapNode (t: Test): Promise<string> {
  const node = new DHT({ bootstrap: [] })
  await new Promise<void>(resolve => node.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => new Promise<void>(resolve => node.destroy(() => resolve())))
  return `127.0.0.1:${node.address().port}`
}

function linksOf (s: Session): PeerLink[] {
  const links: PeerLink[] = []
  s.on('link', l => links.push(l))
  return links
}

const missing = opentrackerMissing()

t.test('a Strict swarm forms through opentracker (UDP and HTTP) and the DHT, and the infohash is never sent', { skip: missing ?? false }, async t => {
  const udpSent = recordUdp(t)
  const dir = await tempDir(t)
  const sum = await randomFile(join(dir, 'seed'), 's.bin', 200_000)
  const secret = randomBytes(32)
  const strict = { info: { mode: 'secret' as const, commitment: secretCommitment(secret) }, secret }
  // The trackers' URLs go into the torrent, and opentracker's whitelist needs the rendezvous: two passes.
  const draft = parseTorrent((await createTorrent(join(dir, 'seed', 's.bin'), { version: 'v1', pieceLength: 32 * 1024, strict })).bytes)
  const rendezvous = strictRendezvous(draft.infoHashV1!, secret)
  const ot = await startOpentracker(t, [rendezvous.toString('hex')])
  const proxy = await recordingProxy(t, ot.port)
  const httpUrl = `http://127.0.0.1:${proxy.port}/announce`
  const metainfo = parseTorrent((await createTorrent(join(dir, 'seed', 's.bin'), { version: 'v1', pieceLength: 32 * 1024, strict, trackers: [ot.udpUrl, httpUrl] })).bytes)
  t.same(strictRendezvous(metainfo.infoHashV1!, secret), rendezvous, 'the trackers are outside the info dict: same infohash')
  const infoHash = metainfo.infoHashV1!
  const magnet = parseMagnet(magnetUri(metainfo, { secret }))

  const bootstrap = await bootstrapNode(t)
  const udp = { retransmitBaseMs: 500, maxRetransmits: 3 }
  const dht = { bootstrap: [bootstrap], intervalMs: 500 }
  const seeder = await session(t, { host: '127.0.0.2', trackers: { minIntervalS: 1, udp }, dht, pex: false })
  const announced = new Set<string>()
  seeder.on('discovery', e => { if (e.kind === 'announced') announced.add(e.source === 'tracker' ? e.tracker : 'dht') })
  await seeder.addTorrent(metainfo, join(dir, 'seed'))
  await until('the seeder\'s announces to both trackers and the DHT', () => announced.size === 3)

  // A leecher that knows only the trackers, and one that knows only the DHT; both start from the magnet link.
  const byTracker = await session(t, { host: '127.0.0.3', trackers: { minIntervalS: 1, udp }, pex: false })
  const byDht = await session(t, { host: '127.0.0.4', trackers: false, dht, pex: false })
  const links = [linksOf(byTracker), linksOf(byDht)]
  const ha = byTracker.addMagnet(magnet, join(dir, 'a'))
  const hb = byDht.addMagnet(magnet, join(dir, 'b'))
  await completed(ha.swarm)
  await completed(hb.swarm)
  t.equal(await fileSha256(join(dir, 'a', 's.bin')), sum)
  t.equal(await fileSha256(join(dir, 'b', 's.bin')), sum)
  for (const [i, name] of [[0, 'tracker'], [1, 'DHT']] as const) {
    t.ok(links[i]!.some(l => l.remoteAddress === '127.0.0.2' && l.transport === 'tls'), `the ${name} leecher reached the seeder over TLS`)
  }
  await Promise.all([seeder.close(), byTracker.close(), byDht.close()])

  const http = proxy.sent
  t.ok(http.length > 0 && udpSent.length > 0, `recorded ${http.length} HTTP writes and ${udpSent.length} UDP datagrams`)
  t.ok(containsAny(http, leakForms(rendezvous)), 'the HTTP announces carry the rendezvous')
  t.ok(udpSent.some(d => d.length >= 98 && d.readUInt32BE(8) === 1 && d.subarray(16, 36).equals(rendezvous)), 'a UDP announce carries the rendezvous')
  t.ok(udpSent.some(d => d.includes(Buffer.from('get_peers')) && d.includes(rendezvous)), 'a DHT get_peers asks for the rendezvous')
  t.ok(udpSent.some(d => d.includes(Buffer.from('announce_peer')) && d.includes(rendezvous)), 'a DHT announce_peer announces it')
  t.notOk(containsAny(http, leakForms(infoHash)), 'no HTTP announce names the infohash, raw, hex or URL-encoded')
  t.notOk(containsAny(udpSent, leakForms(infoHash)), 'no UDP datagram (tracker or DHT) names the infohash')
})

async function until (what: string, test: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}
