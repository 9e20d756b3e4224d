/** What a user names on the command line: --peer endpoints, magnet links and .torrent files. */
import t from 'tap'
import { join } from 'node:path'
import { BttlsError } from '../../src/errors.js'
import { UsageError } from '../../src/cli/errors.js'
import { parsePeer, readTorrentInput } from '../../src/cli/torrent-input.js'
import { torrentBytes } from '../fixtures/torrent/fixture-data.js'
import { writeFileSync } from 'node:fs'

t.test('--peer takes host:port and [v6]:port', async t => {
  t.same(parsePeer('127.0.0.1:6881'), { host: '127.0.0.1', port: 6881 })
  t.same(parsePeer('[::1]:6881'), { host: '::1', port: 6881 })
  t.same(parsePeer('example.org:1'), { host: 'example.org', port: 1 })
  for (const bad of ['127.0.0.1', '127.0.0.1:0', '127.0.0.1:65536', '::1:6881', ':6881', 'host:port']) {
    t.throws(() => parsePeer(bad), { name: 'UsageError', code: 'ERR_USAGE' }, bad)
    t.throws(() => parsePeer(bad), UsageError)
  }
  t.ok(new UsageError('x') instanceof BttlsError)
})

t.test('a magnet link or a .torrent file; a bad one is a typed error', async t => {
  const hash = '0123456789abcdef0123456789abcdef01234567'
  const magnet = await readTorrentInput(`magnet:?xt=urn:btih:${hash}`)
  t.equal(magnet.kind, 'magnet')
  const dir = t.testdir()
  const file = join(dir, 'x.torrent')
  writeFileSync(file, torrentBytes('single-v1.torrent'))
  const torrent = await readTorrentInput(file)
  t.equal(torrent.kind, 'torrent')
  await t.rejects(readTorrentInput('magnet:?xt=urn:nothing'), { name: 'InvalidMagnetError', code: 'ERR_INVALID_MAGNET' })
  writeFileSync(file, 'not bencode')
  await t.rejects(readTorrentInput(file), { name: 'InvalidTorrentError', code: 'ERR_INVALID_TORRENT', cause: { name: 'MalformedBencodeError' } })
})
