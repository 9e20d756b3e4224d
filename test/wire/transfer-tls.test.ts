import type { PeerLink } from '../../src/wire/peer-link.js'
import t from 'tap'
import { join } from 'node:path'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { completed, fileSha256, randomFile, session, tempDir } from '../helpers/session-pair.js'
import { messageIds } from '../helpers/peer-messages.js'
import { borrowedReadCount } from '../../src/handshake/borrowed-reads.js'
import { lentToNextLink } from '../helpers/lent-reads.js'

for (const version of ['v1', 'v2', 'hybrid'] as const) {
  t.test(`Basic TLS transfer seeder -> leecher (${version})`, async t => {
    const dir = await tempDir(t)
    const sum = await randomFile(join(dir, 'seed'), 'payload.bin', 3 * 1024 * 1024 + 12345)
    const { bytes } = await createTorrent(join(dir, 'seed', 'payload.bin'), { version, pieceLength: 64 * 1024 })
    const metainfo = parseTorrent(bytes)
    const seeder = await session(t, { policy: 'require-tls' })
    const leecher = await session(t, { policy: 'require-tls' })
    await seeder.addTorrent(metainfo, join(dir, 'seed'))
    const handle = await leecher.addTorrent(metainfo, join(dir, 'leech'))
    const links: string[] = []
    leecher.on('link', l => links.push(`${l.transport} ${l.tls?.protocol} ${l.tls?.cipher}`))
    const lent = lentToNextLink(leecher)
    const lentBefore = borrowedReadCount()
    t.ok(await leecher.connect(handle, '127.0.0.1', seeder.port))
    await completed(handle.swarm)
    // The dialed link's records went to its wire through the shared read buffer (borrowed-reads.ts).
    t.ok(lent.bytes() >= metainfo.totalLength, `${lent.bytes()} bytes lent to the leecher's wire for ${metainfo.totalLength}`)
    t.ok(borrowedReadCount() - lentBefore >= metainfo.totalLength / 16_384, `${borrowedReadCount() - lentBefore} records lent for ${metainfo.totalLength} bytes`)
    t.equal(await fileSha256(join(dir, 'leech', 'payload.bin')), sum, 'bytes match')
    t.match(links[0], /^tls TLSv1\.3 TLS_/)
    t.equal(handle.swarm.stats().transports.tls.downloaded, metainfo.totalLength - (metainfo.files.filter(f => f.pad).reduce((a, f) => a + f.length, 0)))
  })
}

t.test('the seeder dials: the leecher\'s accepted link reads its records through the shared buffer too', async t => {
  const dir = await tempDir(t)
  const sum = await randomFile(join(dir, 'seed'), 'in.bin', 2 * 1024 * 1024 + 777)
  const metainfo = parseTorrent((await createTorrent(join(dir, 'seed', 'in.bin'), { version: 'v1', pieceLength: 64 * 1024 })).bytes)
  const seeder = await session(t, { policy: 'require-tls' })
  const leecher = await session(t, { policy: 'require-tls' })
  const seeding = await seeder.addTorrent(metainfo, join(dir, 'seed'))
  const handle = await leecher.addTorrent(metainfo, join(dir, 'leech'))
  const lent = lentToNextLink(leecher)
  const lentBefore = borrowedReadCount()
  t.ok(await seeder.connect(seeding, '127.0.0.1', leecher.port))
  t.equal((await lent.link).direction, 'inbound')
  await completed(handle.swarm)
  t.equal(await fileSha256(join(dir, 'leech', 'in.bin')), sum, 'bytes match')
  // This wire's own count: the process-wide one also counts the seeder's wire reading requests.
  t.ok(lent.bytes() >= metainfo.totalLength, `${lent.bytes()} bytes lent to the leecher's accepted wire for ${metainfo.totalLength}`)
  t.ok(borrowedReadCount() - lentBefore >= metainfo.totalLength / 16_384, `${borrowedReadCount() - lentBefore} records lent for ${metainfo.totalLength} bytes`)
})

t.test('hybrid: the BT handshakes carry the 20-byte form of the infohash whose key verified', async t => {
  const dir = await tempDir(t)
  await randomFile(join(dir, 'seed'), 'h.bin', 200_000)
  const { bytes } = await createTorrent(join(dir, 'seed', 'h.bin'), { version: 'hybrid', pieceLength: 32 * 1024 })
  const metainfo = parseTorrent(bytes)
  const seeder = await session(t, { policy: 'require-tls' })
  const leecher = await session(t, { policy: 'require-tls' })
  await seeder.addTorrent(metainfo, join(dir, 'seed'))
  const handle = await leecher.addTorrent(metainfo, join(dir, 'leech'))
  const inbound = new Promise<PeerLink>(resolve => seeder.once('link', resolve))
  const link = await leecher.connect(handle, '127.0.0.1', seeder.port)
  const v2Form = metainfo.infoHashV2!.subarray(0, 20)
  t.same(link!.infoHash, v2Form, 'initiator proved with the v2 key, so its handshake names the truncated v2 infohash')
  t.same((await inbound).infoHash, v2Form, 'the responder expects the same form')
  t.same((await link!.remoteHandshake).infoHash, v2Form)
  await completed(handle.swarm)
})

t.test('the responder speaks first: handshake, bitfield and unchoke arrive before we send a byte of BitTorrent', async t => {
  const { secureOutbound } = await import('../../src/handshake/secure-outbound.js')
  const { basicLevel } = await import('../../src/levels/basic.js')
  const net = await import('node:net')
  const dir = await tempDir(t)
  await randomFile(join(dir, 'seed'), 'first.bin', 100_000)
  const { bytes } = await createTorrent(join(dir, 'seed', 'first.bin'), { version: 'v1', pieceLength: 32 * 1024 })
  const metainfo = parseTorrent(bytes)
  const seeder = await session(t, { policy: 'require-tls' })
  await seeder.addTorrent(metainfo, join(dir, 'seed'))
  const raw = net.connect(seeder.port, '127.0.0.1')
  await new Promise(resolve => raw.once('connect', resolve))
  const channel = await secureOutbound(raw, basicLevel([metainfo.infoHashV1!]))
  // 68-byte handshake, then the extension handshake, bitfield (id 5, 4+1+1 bytes for 4 pieces) and unchoke (id 1): one flight.
  let got = Buffer.alloc(0)
  while (messageIds(got.subarray(68)).length < 3) got = Buffer.concat([got, await new Promise<Buffer>(resolve => channel.socket.once('data', resolve))])
  t.equal(got.subarray(1, 20).toString('latin1'), 'BitTorrent protocol')
  t.same(messageIds(got.subarray(68)), [{ id: 20, ext: 0 }, { id: 5 }, { id: 1 }],
    'the extension handshake, the bitfield, and the unchoke: the authenticated peer gets a slot without asking')
  channel.socket.destroy()
})
