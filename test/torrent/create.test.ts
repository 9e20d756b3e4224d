import t from 'tap'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { decodeBencode, type BencodeDict } from '../../src/codec/bencode.js'
import { CREATED_BY, createTorrent, defaultPieceLength } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { expected, torrentBytes, writePayload } from '../fixtures/torrent/fixture-data.js'

t.test('same info dict, so same infohashes, as libtorrent for v1, v2 and hybrid', async t => {
  const dir = t.testdir()
  writePayload(dir)
  for (const [file, e] of Object.entries(expected.torrents)) {
    const path = join(dir, e.kind === 'multi' ? expected.multi.name : expected.single.name)
    const { bytes, metainfo } = await createTorrent(path, { version: e.version, pieceLength: expected.pieceLength, trackers: [expected.tracker] })
    const lt = parseTorrent(torrentBytes(file))
    t.equal(metainfo.infoHashV1?.toString('hex') ?? null, e.infoHashV1, `${file} v1`)
    t.equal(metainfo.infoHashV2?.toString('hex') ?? null, e.infoHashV2, `${file} v2`)
    // Outside the info dict the files differ on purpose: we add `created by`, libtorrent only
    // `creation date`; the info dicts are byte-identical.
    t.ok(metainfo.infoBytes.equals(lt.infoBytes), `${file} info dict bytes`)
    t.same(metainfo.trackers, [expected.tracker])
    const top = decodeBencode(bytes, { maxBytes: 1 << 20 }) as BencodeDict
    t.equal(String(top.get('created by')), CREATED_BY)
    t.type(top.get('creation date'), 'number')
    if (e.version !== 'v1') t.same([...metainfo.pieceLayers!.entries()], [...lt.pieceLayers!.entries()], `${file} piece layers`)
  }
})

t.test('options: name, trackers, private, default piece length', async t => {
  const dir = t.testdir({ 'a.bin': Buffer.alloc(100000, 1) })
  const { metainfo, bytes } = await createTorrent(join(dir, 'a.bin'), { version: 'hybrid', name: 'renamed', trackers: ['udp://a:1', 'udp://b:2'], private: true, creationDate: 1 })
  t.equal(metainfo.name, 'renamed')
  t.equal(metainfo.private, true)
  t.equal(metainfo.pieceLength, 16384)
  t.same(metainfo.trackers, ['udp://a:1', 'udp://b:2'])
  t.match(bytes.toString('latin1'), /13:creation datei1e/)
  t.equal(defaultPieceLength(1), 16384)
  t.equal(defaultPieceLength(2000 * 16384), 16384)
  t.equal(defaultPieceLength(2000 * 16384 + 1), 32768)
  t.equal(defaultPieceLength(2 ** 30), 2 ** 20)
  t.equal(defaultPieceLength(2 ** 50), 16 * 2 ** 20)
  await t.rejects(createTorrent(join(dir, 'a.bin'), { version: 'v2', pieceLength: 3 * 16384 }), RangeError)
})

t.test('directories: nested, sorted, symlinks skipped; errors are typed', async t => {
  const dir = t.testdir({ d: { b: 'bb', A: { z: 'z' }, a: 'a' }, empty: {}, zeros: { e: '' } })
  symlinkSync('/etc/hostname', join(dir, 'd', 'link'))
  const { metainfo } = await createTorrent(join(dir, 'd'), { version: 'v2' })
  t.same(metainfo.files.map(f => f.path.join('/')), ['A/z', 'a', 'b'])
  t.equal(metainfo.singleFile, false)
  await t.rejects(createTorrent(join(dir, 'empty'), { version: 'v1' }), { name: 'TorrentCreationError' })
  await t.rejects(createTorrent(join(dir, 'zeros'), { version: 'v1' }), { name: 'TorrentCreationError', message: /no data/ })
  await t.rejects(createTorrent(join(dir, 'missing'), { version: 'v1' }), { name: 'TorrentCreationError' })
  await t.rejects(createTorrent(join(dir, 'd'), { version: 'v1', name: '..' }), { name: 'TorrentCreationError' })
})

t.test('a file larger than the read buffer streams through both hashers', async t => {
  const dir = t.testdir()
  const data = Buffer.alloc(3 * 1024 * 1024 + 12345)
  for (let i = 0; i < data.length; i += 4096) data[i] = i & 0xff
  mkdirSync(join(dir, 'x'))
  writeFileSync(join(dir, 'x', 'big'), data)
  writeFileSync(join(dir, 'x', 'small'), 'hello')
  const { metainfo } = await createTorrent(join(dir, 'x'), { version: 'hybrid', pieceLength: 65536 })
  t.equal(metainfo.version, 'hybrid')
  t.equal(metainfo.contentLength, data.length + 5)
  t.equal(metainfo.pieceLayers!.size, 1)
})
