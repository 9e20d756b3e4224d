import t from 'tap'
import net from 'node:net'
import { join } from 'node:path'
import { readFile } from 'node:fs/promises'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { parseMagnet, magnetUri } from '../../src/torrent/magnet.js'
import { completed, fileSha256, randomFile, session, tempDir } from '../helpers/session-pair.js'
import type { TransportKind } from '../../src/wire/peer-link.js'

async function torrentOf (dir: string, name: string, size: number, version: 'v1' | 'v2' | 'hybrid' = 'hybrid') {
  const sum = await randomFile(join(dir, 'seed'), name, size)
  const { bytes } = await createTorrent(join(dir, 'seed', name), { version, pieceLength: 32 * 1024 })
  return { metainfo: parseTorrent(bytes), sum }
}

t.test('magnet link over TLS: metadata (BEP 9) and data both inside TLS', async t => {
  const dir = await tempDir(t)
  const { metainfo, sum } = await torrentOf(dir, 'magnet.bin', 700_000)
  const seeder = await session(t, { policy: 'require-tls' })
  const leecher = await session(t, { policy: 'require-tls' })
  await seeder.addTorrent(metainfo, join(dir, 'seed'))
  const magnet = parseMagnet(magnetUri(metainfo))
  t.equal(magnet.trackers.length, 0)
  const handle = leecher.addMagnet(magnet, join(dir, 'leech'))
  const transports: TransportKind[] = []
  leecher.on('link', l => transports.push(l.transport))
  const gotMetadata = new Promise(resolve => handle.swarm.once('metadata', resolve))
  await leecher.connect(handle, '127.0.0.1', seeder.port)
  await gotMetadata
  await completed(handle.swarm)
  t.equal(await fileSha256(join(dir, 'leech', 'magnet.bin')), sum)
  t.same(transports, ['tls'])
})

t.test('two torrents behind one port, each found from the proof alone', async t => {
  const dir = await tempDir(t)
  const a = await torrentOf(join(dir, 'a'), 'a.bin', 300_000, 'v1')
  const b = await torrentOf(join(dir, 'b'), 'b.bin', 400_000, 'v2')
  const seeder = await session(t, { policy: 'require-tls' })
  await seeder.addTorrent(a.metainfo, join(dir, 'a', 'seed'))
  await seeder.addTorrent(b.metainfo, join(dir, 'b', 'seed'))
  const leecher = await session(t, { policy: 'require-tls' })
  const ha = await leecher.addTorrent(a.metainfo, join(dir, 'out'))
  const hb = await leecher.addTorrent(b.metainfo, join(dir, 'out'))
  await Promise.all([leecher.connect(ha, '127.0.0.1', seeder.port), leecher.connect(hb, '127.0.0.1', seeder.port)])
  await Promise.all([completed(ha.swarm), completed(hb.swarm)])
  t.equal(await fileSha256(join(dir, 'out', 'a.bin')), a.sum)
  t.equal(await fileSha256(join(dir, 'out', 'b.bin')), b.sum)
})

t.test('legacy peers on the same port: MSE and plaintext transfers under allow-plain', async t => {
  const dir = await tempDir(t)
  const { metainfo, sum } = await torrentOf(dir, 'legacy.bin', 500_000, 'v1')
  const seeder = await session(t, { policy: 'prefer-tls' })
  await seeder.addTorrent(metainfo, join(dir, 'seed'))
  const seen: TransportKind[] = []
  seeder.on('link', l => seen.push(l.transport))
  // allow-plain dials peers not known to speak TLS with MSE first.
  const mseLeecher = await session(t, { policy: 'allow-plain' })
  const h1 = await mseLeecher.addTorrent(metainfo, join(dir, 'mse'))
  // The MSE leecher is bttls too: once the seeder's extended handshake says "bttls", it re-dials over
  // TLS and drops the MSE link (issue 7's upgrade). The MSE link was still accepted on the shared port.
  const upgraded = new Promise(resolve => mseLeecher.once('upgraded', resolve))
  t.equal((await mseLeecher.connect(h1, '127.0.0.1', seeder.port))?.transport, 'mse')
  t.same(await upgraded, { host: '127.0.0.1', port: seeder.port, from: 'mse' })
  await completed(h1.swarm)
  t.equal(await fileSha256(join(dir, 'mse', 'legacy.bin')), sum)
  // and the same port accepts TLS from a prefer-tls peer at the same time
  const tlsLeecher = await session(t, { policy: 'prefer-tls' })
  const h2 = await tlsLeecher.addTorrent(metainfo, join(dir, 'tls'))
  t.equal((await tlsLeecher.connect(h2, '127.0.0.1', seeder.port))?.transport, 'tls')
  await completed(h2.swarm)
  t.equal(await fileSha256(join(dir, 'tls', 'legacy.bin')), sum)
  t.same(seen, ['mse', 'tls', 'tls'], 'MSE, its TLS upgrade, then the prefer-tls leecher')
})

t.test('policy both ways: a require-tls seeder refuses a legacy-only leecher; a require-tls leecher never dials in the clear', async t => {
  const dir = await tempDir(t)
  const { metainfo } = await torrentOf(dir, 'p.bin', 100_000, 'v1')
  const strictSeeder = await session(t, { policy: 'require-tls' })
  await strictSeeder.addTorrent(metainfo, join(dir, 'seed'))
  const refused: string[] = []
  strictSeeder.on('refused', r => refused.push(`${r.transport}:${r.error.name}`))
  const legacy = await session(t, { policy: 'allow-plain' })
  const h = await legacy.addTorrent(metainfo, join(dir, 'legacy'))
  const legacyLink = await legacy.connect(h, '127.0.0.1', strictSeeder.port)
  // Under require-tls every byte goes to the TLS stack: MSE's Ya and the BEP 3 handshake both fail there.
  if (legacyLink) await legacyLink.closed
  await new Promise(resolve => setTimeout(resolve, 100))
  t.same(refused, ['tls:TlsHandshakeError', 'tls:TlsHandshakeError'], 'MSE and plaintext both refused by the TLS stack, as by any HTTPS server')
  t.equal(h.swarm.stats().piecesDone, 0)

  // A plaintext-only peer (closes on anything but a BEP 3 handshake, as a client without MSE does)
  // cannot lure a require-tls dialer into plaintext: TLS fails and nothing else is tried.
  const plainOnly = net.createServer(s => { s.once('data', d => { if (d[0] !== 0x13) s.destroy() }); s.on('error', () => {}) })
  await new Promise<void>(resolve => plainOnly.listen(0, '127.0.0.1', resolve))
  t.teardown(() => plainOnly.close())
  const strictLeecher = await session(t, { policy: 'require-tls' })
  const failures: string[][] = []
  strictLeecher.on('dial-failed', f => failures.push(f.error.attempts.map(a => `${a.transport}:${a.error.name}`)))
  const h2 = await strictLeecher.addTorrent(metainfo, join(dir, 'strict'))
  t.equal(await strictLeecher.connect(h2, '127.0.0.1', (plainOnly.address() as net.AddressInfo).port), undefined)
  t.same(failures, [['tls:TlsHandshakeError']], 'only TLS was tried')
  // the same peer under prefer-tls falls back to plaintext (the policy allows it)
  const relaxed = await session(t, { policy: 'prefer-tls' })
  const h3 = await relaxed.addTorrent(metainfo, join(dir, 'relaxed'))
  const link = await relaxed.connect(h3, '127.0.0.1', (plainOnly.address() as net.AddressInfo).port)
  t.equal(link?.transport, 'plain', 'prefer-tls: TLS, then MSE, then plaintext')
  link?.close()
})

t.test('--keylog writes SSLKEYLOGFILE lines for both ends', async t => {
  const dir = await tempDir(t)
  const { metainfo } = await torrentOf(dir, 'k.bin', 100_000, 'v1')
  const seeder = await session(t, { policy: 'require-tls', keylogFile: join(dir, 'seed.keys') })
  await seeder.addTorrent(metainfo, join(dir, 'seed'))
  const leecher = await session(t, { policy: 'require-tls', keylogFile: join(dir, 'leech.keys') })
  const h = await leecher.addTorrent(metainfo, join(dir, 'out'))
  await leecher.connect(h, '127.0.0.1', seeder.port)
  await completed(h.swarm)
  await leecher.close(); await seeder.close()
  for (const f of ['seed.keys', 'leech.keys']) {
    const text = await readFile(join(dir, f), 'utf8')
    t.match(text, /^CLIENT_TRAFFIC_SECRET_0 [0-9a-f]{64} [0-9a-f]{64,}$/m, `${f} has TLS 1.3 traffic secrets`)
  }
})

t.test('a session that dials itself (a tracker listed our own address) closes the link with SelfConnectionError', async t => {
  const dir = await tempDir(t)
  const { metainfo } = await torrentOf(dir, 'self.bin', 100_000, 'v1')
  const s = await session(t, { policy: 'prefer-tls' })
  const h = await s.addTorrent(metainfo, join(dir, 'seed'))
  // Dial our own address directly, as a peer list naming us would (connect bypasses addPeers' shortcut).
  const link = await s.connect(h, '127.0.0.1', s.port)
  t.ok(link, 'TCP and TLS succeed: our own proof verifies')
  t.equal((await link!.closed)?.name, 'SelfConnectionError')
  // The inbound half closes when the TCP close reaches it.
  for (let i = 0; i < 50 && h.swarm.stats().peers > 0; i++) await new Promise(resolve => setTimeout(resolve, 20))
  t.equal(h.swarm.stats().peers, 0, 'neither half of the self-connection stays in the swarm')
})
