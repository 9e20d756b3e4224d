/**
 * Whole transfers over plaintext links, dialed by either side: the leecher's wire takes its reads
 * through the process's shared buffer (src/handshake/borrowed-reads.ts; the dialer's `opener`, the
 * listener's plaintext accept), and the bytes are intact. MSE links are not lent (dialer.ts `opener`
 * says why) and still transfer.
 */
import t from 'tap'
import { join } from 'node:path'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import type { TransportKind } from '../../src/wire/peer-link.js'
import { borrowedReadCount } from '../../src/handshake/borrowed-reads.js'
import { lentToNextLink } from '../helpers/lent-reads.js'
import { completed, fileSha256, randomFile, session, tempDir } from '../helpers/session-pair.js'

async function swarmOver (transport: TransportKind, size: number) {
  const dir = await tempDir(t)
  const sum = await randomFile(join(dir, 'seed'), 'f.bin', size)
  const metainfo = parseTorrent((await createTorrent(join(dir, 'seed', 'f.bin'), { version: 'v1', pieceLength: 64 * 1024 })).bytes)
  const seeder = await session(t, { host: '127.0.0.2', forceTransport: transport, pex: false, trackers: false })
  const seeding = await seeder.addTorrent(metainfo, join(dir, 'seed'))
  const leecher = await session(t, { host: '127.0.0.3', forceTransport: transport, pex: false, trackers: false })
  const handle = await leecher.addTorrent(metainfo, join(dir, 'get'))
  return { dir, sum, metainfo, seeder, seeding, leecher, handle }
}

for (const dialer of ['leecher', 'seeder'] as const) {
  t.test(`plaintext transfer, the ${dialer} dials: the leecher's reads are lent to its wire, and the bytes are intact`, async t => {
    const { dir, sum, metainfo, seeder, seeding, leecher, handle } = await swarmOver('plain', 3 * 1024 * 1024 + 12345)
    const lent = lentToNextLink(leecher)
    const lentBefore = borrowedReadCount()
    if (dialer === 'leecher') t.ok(await leecher.connect(handle, '127.0.0.2', seeder.port))
    else t.ok(await seeder.connect(seeding, '127.0.0.3', leecher.port))
    const link = await lent.link
    t.equal(link.transport, 'plain')
    t.equal(link.direction, dialer === 'leecher' ? 'outbound' : 'inbound')
    await completed(handle.swarm)
    t.equal(await fileSha256(join(dir, 'get', 'f.bin')), sum, 'bytes match')
    t.ok(lent.bytes() >= metainfo.totalLength, `${lent.bytes()} bytes lent to the leecher's wire for ${metainfo.totalLength}`)
    // A read holds at most the shared buffer's 64 KiB.
    t.ok(borrowedReadCount() - lentBefore >= metainfo.totalLength / 65_536, `${borrowedReadCount() - lentBefore} reads lent`)
  })
}

t.test('MSE transfer: no read is lent, and the bytes are intact', async t => {
  const { dir, sum, metainfo, seeder, leecher, handle } = await swarmOver('mse', 1024 * 1024 + 777)
  const lent = lentToNextLink(leecher)
  const lentBefore = borrowedReadCount()
  t.ok(await leecher.connect(handle, '127.0.0.2', seeder.port))
  t.equal((await lent.link).transport, 'mse')
  await completed(handle.swarm)
  t.equal(await fileSha256(join(dir, 'get', 'f.bin')), sum, 'bytes match')
  t.equal(lent.bytes(), 0, `MSE reads went through the stream (${metainfo.totalLength} bytes)`)
  t.equal(borrowedReadCount() - lentBefore, 0, 'on neither side')
})
