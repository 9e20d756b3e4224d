import t from 'tap'
import { join } from 'node:path'
import { createTorrent } from '../src/torrent/create-torrent.js'
import { parseTorrent } from '../src/torrent/parse-torrent.js'
import { completed, fileSha256, randomFile, session, tempDir } from './helpers/session-pair.js'

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
    t.ok(await leecher.connect(handle, '127.0.0.1', seeder.port))
    await completed(handle.swarm)
    t.equal(await fileSha256(join(dir, 'leech', 'payload.bin')), sum, 'bytes match')
    t.match(links[0], /^tls TLSv1\.3 TLS_/)
    t.equal(handle.swarm.stats().transports.tls.downloaded, metainfo.totalLength - (metainfo.files.filter(f => f.pad).reduce((a, f) => a + f.length, 0)))
  })
}
