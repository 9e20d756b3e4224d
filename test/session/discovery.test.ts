/**
 * Discovery in a running session (issue 7): PEX between sessions on distinct loopback addresses
 * (the 0x20 flag, TLS between peers that only learned of each other by PEX), an HTTP tracker that
 * returns bttls_flags, and the DHT bootstrapped from our own node. Strict swarms: strict-rendezvous.test.ts.
 */
import t, { type Test } from 'tap'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import DHT from 'bittorrent-dht'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { encodeBencode } from '../../src/codec/bencode.js'
import { decodeQuery } from '../../src/codec/query-string.js'
import type { Session } from '../../src/session/session.js'
import type { DiscoveryEvent } from '../../src/session/discovery.js'
import type { PeerLink } from '../../src/wire/peer-link.js'
import { parsePexMessage, type PexMessage } from '../../src/wire/ut-pex.js'
import { completed, fileSha256, randomFile, session, tempDir } from '../helpers/session-pair.js'

async function torrent (t: Test, options: { trackers?: string[], private?: boolean } = {}) {
  const dir = await tempDir(t)
  const sum = await randomFile(join(dir, 'seed'), 'd.bin', 300_000)
  const { bytes } = await createTorrent(join(dir, 'seed', 'd.bin'), { version: 'v1', pieceLength: 32 * 1024, ...options })
  return { dir, sum, metainfo: parseTorrent(bytes) }
}

function linksOf (s: Session): PeerLink[] {
  const links: PeerLink[] = []
  s.on('link', l => links.push(l))
  return links
}

async function until (what: string, test: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

const PEX = { intervalMs: 200 }

t.test('PEX: two leechers that only know the seeder meet over TLS, each told of the other with flag 0x20', async t => {
  const { dir, sum, metainfo } = await torrent(t)
  // Links between seeds stay open: A may finish its 300 kB before B joins, and the seeder can only
  // tell A of B over a link it still has.
  const swarm = { chokeIntervalMs: 200, closeSeedLinks: false }
  const seeder = await session(t, { host: '127.0.0.2', pex: PEX, swarm })
  await seeder.addTorrent(metainfo, join(dir, 'seed'))
  const a = await session(t, { host: '127.0.0.3', pex: PEX, swarm })
  const b = await session(t, { host: '127.0.0.4', pex: PEX, swarm })
  const ha = await a.addTorrent(metainfo, join(dir, 'a'))
  const hb = await b.addTorrent(metainfo, join(dir, 'b'))
  const aLinks = linksOf(a)
  const bLinks = linksOf(b)
  // What the seeder tells each leecher over PEX.
  const told: PexMessage[] = []
  for (const s of [a, b]) s.on('link', l => l.wire.on('extended', (ext: string, buf: Uint8Array) => { if (ext === 'ut_pex' && l.remoteAddress === '127.0.0.2') told.push(parsePexMessage(buf)) }))
  t.ok(await a.connect(ha, '127.0.0.2', seeder.port))
  t.ok(await b.connect(hb, '127.0.0.2', seeder.port))
  // Both ends of the dialer's link: the responder reports its inbound end first, so wait for the outbound.
  await until('a link between the two leechers', () =>
    aLinks.some(l => l.remoteAddress === '127.0.0.4') && bLinks.some(l => l.remoteAddress === '127.0.0.3') &&
    [...aLinks, ...bLinks].some(l => l.direction === 'outbound' && (l.remoteAddress === '127.0.0.3' || l.remoteAddress === '127.0.0.4')))
  // B joined last, so the seeder's first message to B names A (A may connect to B before it hears of B).
  const entry = told.flatMap(m => m.added).find(p => p.host === '127.0.0.3' && p.port === a.port)
  t.ok(entry, 'the seeder told B of A at A\'s listen endpoint (from its `p`), not its source port')
  t.equal(entry!.flags & 0x20, 0x20, 'with the bttls flag (A reached the seeder over TLS)')
  t.equal(entry!.flags & 0x10, 0, 'not "reachable": the seeder did not dial A')
  const ab = [...aLinks, ...bLinks].filter(l => l.remoteAddress === '127.0.0.3' || l.remoteAddress === '127.0.0.4')
  t.ok(ab.length >= 2 && ab.every(l => l.transport === 'tls'), 'the leechers\' link is TLS')
  // Whoever dialed learned the other's listen endpoint from the seeder's PEX with 0x20 (or from its TLS link).
  const outbound = ab.find(l => l.direction === 'outbound')!
  const dialer = outbound.remoteAddress === '127.0.0.4' ? a : b
  const known = dialer.capabilities.knownTls(outbound.remoteAddress, outbound.remotePort)
  t.ok(known, 'the dialer remembers the peer speaks bttls')
  t.ok(outbound.remotePort === (dialer === a ? b.port : a.port), 'dialed at its listen port (from `p`), not its ephemeral source port')
  await completed(ha.swarm)
  await completed(hb.swarm)
  t.equal(await fileSha256(join(dir, 'a', 'd.bin')), sum)
  t.equal(await fileSha256(join(dir, 'b', 'd.bin')), sum)
})

t.test('PEX: a private torrent (BEP 27) exchanges no peers', async t => {
  const { dir, metainfo } = await torrent(t, { private: true })
  const seeder = await session(t, { host: '127.0.0.2', pex: PEX })
  await seeder.addTorrent(metainfo, join(dir, 'seed'))
  const a = await session(t, { host: '127.0.0.3', pex: PEX })
  const b = await session(t, { host: '127.0.0.4', pex: PEX })
  const ha = await a.addTorrent(metainfo, join(dir, 'a'))
  const hb = await b.addTorrent(metainfo, join(dir, 'b'))
  const aLinks = linksOf(a)
  const seen: string[] = []
  a.on('link', l => { l.wire.on('extended', (ext: string, hs: Record<string, unknown>) => { if (ext === 'handshake') seen.push(Object.keys(hs.m ?? {}).join(',')) }) })
  await a.connect(ha, '127.0.0.2', seeder.port)
  await b.connect(hb, '127.0.0.2', seeder.port)
  await new Promise(resolve => setTimeout(resolve, 1000))
  t.notOk(aLinks.some(l => l.remoteAddress === '127.0.0.4'), 'no link between the leechers')
  t.notOk(seen.some(m => m.includes('ut_pex')), 'ut_pex is not even offered')
})

/** A minimal HTTP tracker: remembers announcers, returns them compact with bttls_flags. */
async function fakeTracker (t: Test): Promise<{ url: string, queries: Array<Map<string, Buffer[]>> }> {
  const peers = new Map<string, { host: string, port: number, bttls: boolean }>()
  const queries: Array<Map<string, Buffer[]>> = []
  const server: Server = createServer((req, res) => {
    const q = decodeQuery((req.url ?? '').split('?')[1] ?? '')
    queries.push(q)
    const host = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '')
    const port = Number(q.get('port')?.[0]?.toString())
    const others = [...peers.values()]
    peers.set(`${host}:${port}`, { host, port, bttls: q.get('supportbttls')?.[0]?.toString() === '1' })
    const compact = Buffer.concat(others.map(p => Buffer.from([...p.host.split('.').map(Number), p.port >> 8, p.port & 255])))
    res.end(encodeBencode({ interval: 1, peers: compact, bttls_flags: Buffer.from(others.map(p => p.bttls ? 1 : 0)) }))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/announce`, queries }
}

t.test('trackers: supportbttls announced from the listen address, peers dialed, bttls_flags remembered, stopped on close', async t => {
  const tracker = await fakeTracker(t)
  const { dir, sum, metainfo } = await torrent(t, { trackers: [tracker.url] })
  const seeder = await session(t, { host: '127.0.0.2', trackers: { minIntervalS: 1 }, pex: false })
  const events: DiscoveryEvent[] = []
  seeder.on('discovery', e => events.push(e))
  await seeder.addTorrent(metainfo, join(dir, 'seed'))
  await until('the seeder\'s announce', () => events.some(e => e.kind === 'announced'))
  const leecher = await session(t, { host: '127.0.0.3', policy: 'allow-plain', trackers: { minIntervalS: 1 }, pex: false })
  const h = await leecher.addTorrent(metainfo, join(dir, 'out'))
  await completed(h.swarm)
  t.equal(await fileSha256(join(dir, 'out', 'd.bin')), sum)
  const known = leecher.capabilities.knownTls('127.0.0.2', seeder.port)
  t.ok(known, 'the tracker\'s flag made the seeder known to speak bttls')
  const first = tracker.queries[0]!
  t.equal(first.get('supportbttls')?.[0]?.toString(), '1')
  t.equal(first.get('supportcrypto')?.[0]?.toString(), '1')
  t.equal(first.get('requirebttls'), undefined)
  t.equal(first.get('event')?.[0]?.toString(), 'started')
  t.equal(first.get('port')?.[0]?.toString(), String(seeder.port))
  t.ok(leecher.capabilities.knownTls('127.0.0.2', seeder.port))
  const before = tracker.queries.length
  await leecher.close()
  t.ok(tracker.queries.slice(before).some(q => q.get('event')?.[0]?.toString() === 'stopped'), 'stopped sent on close')
})

t.test('trackers: require-tls asks for bttls peers only', async t => {
  const tracker = await fakeTracker(t)
  const { dir, metainfo } = await torrent(t, { trackers: [tracker.url] })
  const s = await session(t, { policy: 'require-tls', pex: false })
  await s.addTorrent(metainfo, join(dir, 'seed'))
  await until('an announce', () => tracker.queries.length > 0)
  t.equal(tracker.queries[0]!.get('requirebttls')?.[0]?.toString(), '1')
  t.equal(tracker.queries[0]!.get('supportcrypto'), undefined)
})

async function bootstrapNode (t: Test): Promise<string> {
  const node = new DHT({ bootstrap: [] })
  await new Promise<void>(resolve => node.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => new Promise<void>(resolve => node.destroy(() => resolve())))
  return `127.0.0.1:${node.address().port}`
}

t.test('DHT: a leecher finds the seeder through our own bootstrap node, and downloads over TLS', async t => {
  const bootstrap = await bootstrapNode(t)
  const { dir, sum, metainfo } = await torrent(t)
  const dht = { bootstrap: [bootstrap], intervalMs: 500 }
  const seeder = await session(t, { host: '127.0.0.2', dht, pex: false })
  const events: DiscoveryEvent[] = []
  seeder.on('discovery', e => events.push(e))
  await seeder.addTorrent(metainfo, join(dir, 'seed'))
  t.equal(seeder.dhtAddress?.address, '127.0.0.2', 'our node listens on the session address')
  await until('the seeder\'s DHT announce', () => events.some(e => e.source === 'dht' && e.kind === 'announced'))
  const leecher = await session(t, { host: '127.0.0.3', dht, pex: false })
  const links = linksOf(leecher)
  const h = await leecher.addTorrent(metainfo, join(dir, 'out'))
  await completed(h.swarm)
  t.equal(await fileSha256(join(dir, 'out', 'd.bin')), sum)
  t.ok(links.some(l => l.remoteAddress === '127.0.0.2' && l.transport === 'tls'), 'found via the DHT, dialed over TLS first')
})
