import t from 'tap'
import { createHash } from 'node:crypto'
import { parseTorrent, metainfoFromInfoDict } from '../../src/torrent/parse-torrent.js'
import { pieceHashV1 } from '../../src/torrent/parsed-torrent.js'
import { expected, torrentBytes, content } from '../fixtures/torrent/fixture-data.js'
import { encode, v1Multi, v1Single, v2Single, type Dict } from '../fixtures/torrent/craft.js'
import { createSwarmCa } from '../../src/pki/certificate-profile.js'
import { encodeBencode } from '../../src/codec/bencode.js'

const hex = (b: Uint8Array | undefined) => b === undefined ? null : Buffer.from(b).toString('hex')

t.test('reads libtorrent 2.0.8 torrents with the infohashes libtorrent reports', async t => {
  for (const [file, e] of Object.entries(expected.torrents)) {
    const m = parseTorrent(torrentBytes(file))
    t.equal(m.version, e.version, file)
    t.equal(hex(m.infoHashV1), e.infoHashV1, `${file} v1 infohash`)
    t.equal(hex(m.infoHashV2), e.infoHashV2, `${file} v2 infohash`)
    t.equal(hex(m.wireInfoHash), (e.infoHashV1 ?? e.infoHashV2!).slice(0, 40), `${file} wire infohash`)
    t.equal(m.pieceCount, e.pieceCount, `${file} piece count`)
    t.equal(m.pieceLength, expected.pieceLength)
    t.same(m.trackers, [expected.tracker])
    t.equal(m.singleFile, e.kind === 'single')
    t.equal(m.private, false)
    t.equal(createHash(m.infoHashV1 !== undefined ? 'sha1' : 'sha256').update(m.infoBytes).digest('hex'), e.infoHashV1 ?? e.infoHashV2)
    // libtorrent lists v2 implicit padding as pad files; we list real files and hybrid (BEP 47) pads.
    const real = <F extends { pad: boolean }>(fs: F[]) => fs.filter(f => !f.pad)
    const ours = m.files.map(f => ({ ...f, path: m.singleFile ? f.path.join('/') : [m.name, ...f.path].join('/') }))
    t.same(real(ours).map(f => [f.path, f.length, f.offset, hex(f.piecesRoot) ?? null]),
      real(e.files).map(f => [f.path, f.length, f.offset, f.piecesRoot]), `${file} files`)
    if (e.version === 'hybrid') {
      t.same(ours.filter(f => f.pad).map(f => [f.offset, f.length]), e.files.filter(f => f.pad).map(f => [f.offset, f.length]), `${file} pad files`)
    }
    t.equal(m.contentLength, real(e.files).reduce((s, f) => s + f.length, 0))
    if (e.version !== 'v1') t.ok(m.pieceLayers !== undefined)
    if (e.version !== 'v2') t.equal(m.pieceHashesV1!.length, 20 * m.pieceCount)
  }
})

t.test('pieceSize: v1 only the last piece is short, v2 the last piece of every file, hybrid none but the last', async t => {
  const v1 = parseTorrent(torrentBytes('multi-v1.torrent'))
  const sizes1 = Array.from({ length: v1.pieceCount }, (_, i) => v1.pieceSize(i))
  t.equal(sizes1.reduce((a, b) => a + b, 0), v1.totalLength)
  t.ok(sizes1.slice(0, -1).every(s => s === 32768))
  const v2 = parseTorrent(torrentBytes('multi-v2.torrent'))
  const sizes2 = Array.from({ length: v2.pieceCount }, (_, i) => v2.pieceSize(i))
  t.equal(sizes2.reduce((a, b) => a + b, 0), v2.contentLength)
  // Z-70000 is pieces 0..2 (32768, 32768, 4464); big-300000 starts at piece 3.
  t.same(sizes2.slice(0, 4), [32768, 32768, 70000 - 65536, 32768])
  const hy = parseTorrent(torrentBytes('multi-hybrid.torrent'))
  t.ok(Array.from({ length: hy.pieceCount }, (_, i) => hy.pieceSize(i)).every(s => s === 32768), 'trailing pad file fills the last piece')
  t.throws(() => v1.pieceSize(v1.pieceCount), RangeError)
  t.throws(() => v1.pieceSize(-1), RangeError)
})

t.test('v1 piece hashes are reachable for storage', async t => {
  const m = parseTorrent(torrentBytes('single-v1.torrent'))
  const data = content('single.bin', 100000)
  t.same(pieceHashV1(m, 0), createHash('sha1').update(data.subarray(0, 32768)).digest())
})

t.test('the infohash is over the info bytes as written, not a re-encoding', async t => {
  // Unsorted keys: a re-encoding would sort them and hash differently.
  const body = 'd4:infod6:lengthi3e4:name1:x12:piece lengthi16384e6:pieces20:' + 'a'.repeat(20) + 'ee'
  const m = parseTorrent(Buffer.from(body, 'latin1'))
  const info = body.slice(7, -1)
  t.equal(m.infoHashV1!.toString('hex'), createHash('sha1').update(info, 'latin1').digest('hex'))
})

t.test('announce-list, private flag', async t => {
  const d = v1Single(Buffer.alloc(10))
  d['announce-list'] = [['udp://a:1'], ['http://b/announce', 'udp://a:1']]
  d.info.private = 1
  const m = parseTorrent(encode(d))
  t.same(m.trackers, ['udp://a:1', 'http://b/announce', 'http://tracker.example/announce'])
  t.equal(m.private, true)
})

t.test('multi-file v1 layout', async t => {
  const m = parseTorrent(encode(v1Multi([[['a'], Buffer.alloc(5)], [['d', 'b'], Buffer.alloc(20000)], [['e'], Buffer.alloc(0)]])))
  t.equal(m.singleFile, false)
  t.same(m.files.map(f => [f.path, f.offset, f.length]), [[['a'], 0, 5], [['d', 'b'], 5, 20000], [['e'], 20005, 0]])
  t.equal(m.pieceCount, 2)
  t.equal(m.pieceSize(1), 20005 - 16384)
})

// Each case: a mutation of a valid torrent and the message it must produce.
const small = Buffer.alloc(40000, 7)
const invalidCases: Array<[string, () => Dict | Buffer, RegExp]> = [
  ['not a dict', () => Buffer.from('li1ee'), /bencoded dict/],
  ['not bencode', () => Buffer.from('hello'), /not valid bencode/],
  ['truncated file', () => encode(v1Single(small)).subarray(0, 50), /not valid bencode/],
  ['trailing garbage', () => Buffer.concat([encode(v1Single(small)), Buffer.from('x')]), /trailing bytes/],
  ['no info', () => ({ announce: 'x' }), /no info dict/],
  ['info not a dict', () => ({ info: 3 }), /no info dict/],
  ['nesting bomb', () => Buffer.from('d4:info' + 'l'.repeat(5000) + 'e'.repeat(5000) + 'e'), /nesting deeper/],
  ['missing name', () => { const d = v1Single(small); delete d.info.name; return d }, /info\.name is missing/],
  ['name not a string', () => { const d = v1Single(small); d.info.name = 5; return d }, /info\.name is not a string/],
  ['name ".."', () => v1Single(small, 16384, '..'), /info\.name is "\.\."/],
  ['name with "/"', () => v1Single(small, 16384, 'a/b'), /contains "\/"/],
  ['name empty', () => v1Single(small, 16384, ''), /is empty/],
  ['name not UTF-8', () => { const d = v1Single(small); d.info.name = Buffer.from([0xc3, 0x28]); return d }, /not valid UTF-8/],
  ['path traversal ".."', () => v1Multi([[['..', 'etc', 'passwd'], small]]), /path\[0\] is "\.\."/],
  ['path component with "/"', () => v1Multi([[['a/../../b'], small]]), /contains "\/"/],
  ['path component with "\\"', () => v1Multi([[['..\\x'], small]]), /contains "\\"/],
  ['absolute path component', () => v1Multi([[['/etc'], small]]), /contains "\/"/],
  ['empty path component', () => v1Multi([[['a', ''], small]]), /path\[1\] is empty/],
  ['"." component', () => v1Multi([[['.'], small]]), /is "\."/],
  ['NUL in component', () => v1Multi([[['a\0b'], small]]), /NUL/],
  ['empty path', () => v1Multi([[[], small]]), /path is empty/],
  ['path not a list', () => { const d = v1Multi([[['a'], small]]); d.info.files[0].path = 'a'; return d }, /path is not a list/],
  ['duplicate paths', () => v1Multi([[['a'], small], [['a'], small]]), /two entries for the path a/],
  ['file is also a directory', () => v1Multi([[['a'], small], [['a', 'b'], small]]), /a is both a file and a directory/],
  ['symlink', () => { const d = v1Multi([[['a'], small]]); d.info.files[0].attr = 'l'; return d }, /symlink/],
  ['empty files list', () => { const d = v1Multi([[['a'], small]]); d.info.files = []; return d }, /info\.files is empty/],
  ['files not a list', () => { const d = v1Multi([[['a'], small]]); d.info.files = 1; return d }, /info\.files is not a list/],
  ['file entry not a dict', () => { const d = v1Multi([[['a'], small]]); d.info.files = [1]; return d }, /files\[0\] is not a dict/],
  ['both length and files', () => { const d = v1Multi([[['a'], small]]); d.info.length = 1; return d }, /exactly one of length/],
  ['neither length nor files', () => { const d = v1Single(small); delete d.info.length; return d }, /exactly one of length/],
  ['negative length', () => { const d = v1Single(small); d.info.length = -1; return d }, /negative/],
  ['length not an integer', () => { const d = v1Single(small); d.info.length = '5'; return d }, /info\.length is not an integer/],
  ['huge length', () => { const d = v1Single(small); d.info.length = 2n ** 64n; return d }, /out of range/],
  ['zero total length', () => v1Single(Buffer.alloc(0)), /no data/],
  ['piece length 0', () => { const d = v1Single(small); d.info['piece length'] = 0; return d }, /piece length 0 is outside/],
  ['piece length negative', () => { const d = v1Single(small); d.info['piece length'] = -16384; return d }, /is outside/],
  ['piece length too large', () => { const d = v1Single(small); d.info['piece length'] = 2 ** 30; return d }, /is outside/],
  ['missing piece length', () => { const d = v1Single(small); delete d.info['piece length']; return d }, /piece length is missing/],
  ['pieces not a multiple of 20', () => { const d = v1Single(small); d.info.pieces = d.info.pieces.subarray(1); return d }, /not a multiple of 20/],
  ['too few piece hashes', () => { const d = v1Single(small); d.info.pieces = d.info.pieces.subarray(20); return d }, /holds 2 hashes, the files need 3/],
  ['too many piece hashes', () => { const d = v1Single(small); d.info.pieces = Buffer.concat([d.info.pieces, Buffer.alloc(20)]); return d }, /holds 4 hashes/],
  ['pieces not a string', () => { const d = v1Single(small); d.info.pieces = 1; return d }, /pieces is not a string/],
  ['announce not a string', () => { const d = v1Single(small); d.announce = 1; return d }, /announce is not a UTF-8 string/],
  ['announce-list ill-typed', () => { const d = v1Single(small); d['announce-list'] = ['x']; return d }, /announce-list\[0\] is not a list/],
  ['unknown meta version', () => { const d = v2Single(small); d.info['meta version'] = 3; return d }, /meta version is 3/],
  ['file tree without meta version', () => { const d = v2Single(small); delete d.info['meta version']; return d }, /file tree without meta version/],
  ['v2 without file tree', () => { const d = v2Single(small); delete d.info['file tree']; return d }, /file tree is missing/],
  ['v2 piece length not a power of two', () => { const d = v2Single(small); d.info['piece length'] = 3 * 16384; return d }, /power of two >= 16 KiB/],
  ['v2 piece length below 16 KiB', () => { const d = v2Single(small); d.info['piece length'] = 8192; return d }, /power of two >= 16 KiB/],
  ['v2 pieces root wrong size', () => { const d = v2Single(small); d.info['file tree']['file.bin'][''].length = 10; d.info['file tree']['file.bin']['']['pieces root'] = Buffer.alloc(31); return d }, /pieces root must be 32 bytes/],
  ['v2 pieces root on empty file', () => { const d = v2Single(small); d.info['file tree'].e = { '': { length: 0, 'pieces root': Buffer.alloc(32) } }; return d }, /empty file has no pieces root/],
  ['v2 file and directory at once', () => { const d = v2Single(small); d.info['file tree']['file.bin'].x = { '': { length: 0 } }; return d }, /both a file and a directory/],
  ['v2 traversal in file tree', () => { const d = v2Single(small); d.info['file tree']['..'] = { '': { length: 0 } }; return d }, /is "\.\."/],
  ['v2 empty directory', () => { const d = v2Single(small); d.info['file tree'].x = {}; return d }, /empty directory/],
  ['v2 piece layers missing', () => { const d = v2Single(small); delete d['piece layers']; return d }, /piece layers missing/],
  ['v2 piece layers not a dict', () => { const d = v2Single(small); d['piece layers'] = 1; return d }, /piece layers is not a dict/],
  ['v2 piece layer for a file missing', () => { const d = v2Single(small); d['piece layers'] = new Map(); return d }, /piece layers entry for file\.bin is missing/],
  ['v2 piece layer wrong size', () => { const d = v2Single(small); const [k, v] = [...d['piece layers']][0]; d['piece layers'] = new Map([[k, v.subarray(32)]]); return d }, /has 64 bytes, expected 96/],
  ['v2 piece layer does not hash to the root', () => { const d = v2Single(small); const [k, v] = [...d['piece layers']][0]; d['piece layers'] = new Map([[k, Buffer.alloc(v.length)]]); return d }, /does not hash to the file's pieces root/]
]

t.test('InvalidTorrentError for every broken rule', async t => {
  for (const [what, make, message] of invalidCases) {
    const made = make()
    const bytes = Buffer.isBuffer(made) ? made : encode(made)
    t.throws(() => parseTorrent(bytes), { name: 'InvalidTorrentError', message }, what)
  }
})

t.test('hybrid torrents whose v1 and v2 halves disagree are rejected', async t => {
  const base = parseTorrent(torrentBytes('multi-hybrid.torrent'))
  t.equal(base.version, 'hybrid')
  // Rebuild the lt hybrid info dict as an object we can edit.
  const { decodeBencode } = await import('../../src/codec/bencode.js')
  // A decoded bencode tree edited in place: its values are of every shape.
  type Tree = Map<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  const load = () => decodeBencode(torrentBytes('multi-hybrid.torrent'), { maxBytes: 1 << 20 }) as Tree
  const cases: Array<[string, (info: Tree) => void, RegExp]> = [
    ['lengths differ', info => { info.get('files')[0].set('length', 69999) }, /differs from v2 file/],
    ['pad file missing', info => { info.get('files').splice(1, 1) }, /starts at 70000 in v1 but at 98304 in v2/],
    ['file missing in v1', info => { info.get('files').splice(-2, 2) }, /file tree has 9 files, v1 files list 8/],
    ['pad as long as a piece', info => { info.get('files')[1].set('length', 32768) }, /pad file of 32768 bytes/]
  ]
  for (const [what, edit, message] of cases) {
    const root = load()
    edit(root.get('info'))
    t.throws(() => parseTorrent(encode(Object.fromEntries(root))), { name: 'InvalidTorrentError', message }, what)
  }
})

t.test('size limit: OversizedTorrentError', async t => {
  const bytes = torrentBytes('multi-hybrid.torrent')
  t.throws(() => parseTorrent(bytes, { maxBytes: 1000 }), { name: 'OversizedTorrentError' })
  t.ok(parseTorrent(bytes, { maxBytes: bytes.length }))
})

t.test('metainfoFromInfoDict verifies the metadata against the magnet infohashes', async t => {
  for (const [file, e] of Object.entries(expected.torrents)) {
    const full = parseTorrent(torrentBytes(file))
    const expectedHashes = {
      ...(e.infoHashV1 !== null ? { infoHashV1: Buffer.from(e.infoHashV1, 'hex') } : {}),
      ...(e.infoHashV2 !== null ? { infoHashV2: Buffer.from(e.infoHashV2, 'hex') } : {})
    }
    const m = metainfoFromInfoDict(full.infoBytes, expectedHashes, ['udp://t:1'])
    t.equal(hex(m.wireInfoHash), hex(full.wireInfoHash), file)
    t.same(m.files.map(f => [f.path, f.offset, f.length]), full.files.map(f => [f.path, f.offset, f.length]))
    t.same(m.trackers, ['udp://t:1'])
    t.equal(m.pieceLayers, undefined, 'piece layers are not part of the info dict')
    const wrong = Buffer.from(full.infoBytes)
    wrong[wrong.length - 2] = wrong[wrong.length - 2]! ^ 1
    t.throws(() => metainfoFromInfoDict(wrong, expectedHashes), { name: 'MetadataMismatchError' }, `${file} tampered`)
  }
  const v1 = parseTorrent(torrentBytes('multi-v1.torrent'))
  t.throws(() => metainfoFromInfoDict(v1.infoBytes, { infoHashV1: Buffer.alloc(20) }), { name: 'MetadataMismatchError' })
  // Right hash, wrong version: the magnet asked for v2 too.
  const hy = parseTorrent(torrentBytes('multi-hybrid.torrent'))
  t.ok(metainfoFromInfoDict(hy.infoBytes, { infoHashV1: hy.infoHashV1! }).infoHashV2, 'a v1 magnet may find a hybrid')
  t.throws(() => metainfoFromInfoDict(v1.infoBytes, {}), RangeError)
  t.throws(() => metainfoFromInfoDict(Buffer.from('li1ee'), { infoHashV1: createHash('sha1').update('li1ee').digest() }), { name: 'InvalidTorrentError' })
})

t.test('a torrent with both info.bttls and info.ssl-cert is refused, as a file and as metadata', async t => {
  const d = v1Single(Buffer.alloc(1000, 7))
  d.info['ssl-cert'] = (await createSwarmCa('both levels CA')).certPem
  d.info.bttls = { level: 'strict', mode: 'passphrase' }
  t.throws(() => parseTorrent(encode(d)), { name: 'InvalidTorrentError', message: /not both/ }, 'a .torrent file')
  const infoBytes = encodeBencode(d.info as Parameters<typeof encodeBencode>[0])
  t.throws(() => metainfoFromInfoDict(infoBytes, { infoHashV1: createHash('sha1').update(infoBytes).digest() }),
    { name: 'InvalidTorrentError', message: /not both/ }, 'metadata received over BEP 9')
})
