import t from 'tap'
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { openFileStore } from '../../src/storage/file-store.js'
import { PieceHashMismatchError } from '../../src/storage/errors.js'
import { decodeBencode, encodeBencode, type BencodeDict, type Encodable } from '../../src/codec/bencode.js'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { metainfoFromInfoDict, parseTorrent } from '../../src/torrent/parse-torrent.js'
import type { ParsedTorrent } from '../../src/torrent/parsed-torrent.js'
import { content, expected, torrentBytes, writePayload } from '../fixtures/torrent/fixture-data.js'
import { encode, v1Multi } from '../fixtures/torrent/craft.js'

/** Every piece of `m`, read from a seed of the fixture payload. */
async function piecesOf (m: ParsedTorrent, payloadDir: string): Promise<Buffer[]> {
  const seed = await openFileStore(m, payloadDir)
  t.equal(await seed.verifyExisting(), m.pieceCount)
  const pieces: Buffer[] = []
  for (let i = 0; i < m.pieceCount; i++) pieces.push(await seed.readBlock(i, 0, m.pieceSize(i)))
  await seed.close()
  return pieces
}

const payload = t.testdir()
writePayload(payload)

t.test('every fixture: the seed verifies every piece, a leecher rebuilds the files byte for byte', async t => {
  for (const [file, e] of Object.entries(expected.torrents)) {
    const m = parseTorrent(torrentBytes(file))
    const pieces = await piecesOf(m, payload)
    const dir = t.testdir()
    const store = await openFileStore(m, dir)
    t.equal(store.complete, false)
    // Out of order, as a swarm delivers them.
    for (const i of [...pieces.keys()].reverse()) await store.writePiece(i, pieces[i]!)
    t.equal(store.complete, true, file)
    await store.close()
    const files = e.kind === 'multi' ? expected.multi.files.map(([rel, size]) => [join('multi', rel), `multi/${rel}`, size] as const)
      : [[expected.single.name, expected.single.name, expected.single.files[0]![1]] as const]
    for (const [path, key, size] of files) {
      t.ok(readFileSync(join(dir, path)).equals(content(key, size)), `${file}: ${path}`)
    }
    // Pad files never reach the disk.
    t.notOk(existsSync(join(dir, 'multi', '.pad')), `${file}: no .pad directory`)
  }
})

t.test('a corrupted piece is refused and nothing of it is written', async t => {
  for (const file of ['multi-v1.torrent', 'multi-v2.torrent', 'multi-hybrid.torrent']) {
    const m = parseTorrent(torrentBytes(file))
    const pieces = await piecesOf(m, payload)
    const dir = t.testdir()
    const store = await openFileStore(m, dir)
    // Piece 0 is the start of Z-70000 in every version.
    const bad = Buffer.from(pieces[0]!)
    bad[100] = bad[100]! ^ 0xff
    await t.rejects(store.writePiece(0, bad), { name: 'PieceHashMismatchError', index: 0 }, file)
    t.notOk(existsSync(join(dir, 'multi')), `${file}: no file or directory created`)
    await store.writePiece(1, pieces[1]!)
    const before = readFileSync(join(dir, 'multi', 'Z-70000'))
    await t.rejects(store.writePiece(0, bad), { name: 'PieceHashMismatchError', code: 'ERR_PIECE_HASH_MISMATCH' })
    await t.rejects(store.writePiece(0, bad), PieceHashMismatchError, 'the class the swarm checks with instanceof')
    t.ok(readFileSync(join(dir, 'multi', 'Z-70000')).equals(before), `${file}: file bytes unchanged`)
    t.same([...store.have], [1])
    await t.rejects(store.writePiece(1, pieces[1]!.subarray(1)), { name: 'PieceOutOfRangeError' })
    await t.rejects(store.writePiece(m.pieceCount, pieces[1]!), { name: 'PieceOutOfRangeError' })
    await t.rejects(store.writePiece(-1, pieces[1]!), { name: 'PieceOutOfRangeError' })
    await store.close()
  }
})

t.test('hybrid: a piece must satisfy both the v1 and the v2 hash', async t => {
  // Forge a hybrid whose v2 root for one small file is wrong while its v1 piece hashes stay right.
  const dir = t.testdir({ src: { a: 'hello', b: Buffer.alloc(40000, 2) } })
  const { bytes } = await createTorrent(join(dir, 'src'), { version: 'hybrid' })
  const root = decodeBencode(bytes, { maxBytes: 1 << 20 }) as BencodeDict
  const leaf = ((root.get('info') as BencodeDict).get('file tree') as BencodeDict).get('a') as BencodeDict
  ;(leaf.get('') as BencodeDict).set('pieces root', Buffer.alloc(32, 9))
  const forged = parseTorrent(encodeBencode(root as unknown as Encodable))
  const store = await openFileStore(forged, join(dir, 'out'))
  const piece0 = Buffer.alloc(16384)
  piece0.write('hello')
  await t.rejects(store.writePiece(0, piece0), { name: 'PieceHashMismatchError', message: /SHA-256 merkle/ })
  await store.close()
})

t.test('resume: verifyExisting finds exactly the pieces on disk', async t => {
  for (const file of ['multi-v1.torrent', 'multi-v2.torrent', 'multi-hybrid.torrent', 'single-v2.torrent']) {
    const m = parseTorrent(torrentBytes(file))
    const pieces = await piecesOf(m, payload)
    const dir = t.testdir()
    const first = await openFileStore(m, dir)
    const written = [...pieces.keys()].filter(i => i % 3 !== 1)
    for (const i of written) await first.writePiece(i, pieces[i]!)
    await first.close()
    const again = await openFileStore(m, dir)
    t.equal(await again.verifyExisting(), written.length, file)
    t.same([...again.have].sort((a, b) => a - b), written)
    t.equal(again.complete, false)
    await again.close()
  }
})

t.test('resume notices damage done on disk', async t => {
  const m = parseTorrent(torrentBytes('single-v1.torrent'))
  const dir = t.testdir()
  writeFileSync(join(dir, 'single.bin'), content('single.bin', 100000))
  const store = await openFileStore(m, dir)
  t.equal(await store.verifyExisting(), 4)
  const buf = readFileSync(join(dir, 'single.bin'))
  buf[40000] = buf[40000]! ^ 1
  writeFileSync(join(dir, 'single.bin'), buf.subarray(0, 90000))
  t.equal(await store.verifyExisting(), 1, 'piece 1 damaged, pieces 2 and 3 truncated away')
  t.same([...store.have], [0])
  await store.close()
})

t.test('empty files appear when the torrent completes; pad files never', async t => {
  const m = parseTorrent(torrentBytes('multi-hybrid.torrent'))
  const pieces = await piecesOf(m, payload)
  const dir = t.testdir()
  const store = await openFileStore(m, dir)
  for (const [i, p] of pieces.entries()) {
    t.equal(existsSync(join(dir, 'multi', 'empty')), false)
    await store.writePiece(i, p)
  }
  t.equal(statSync(join(dir, 'multi', 'empty')).size, 0)
  t.same(readdirSync(join(dir, 'multi')).sort(), ['Z-70000', 'big-300000', 'empty', 'f-40000', 'one', 'sub', 'zz-tail'])
  await store.close()
})

t.test('readBlock: bounds, availability, pad bytes are zeros', async t => {
  const m = parseTorrent(torrentBytes('multi-hybrid.torrent'))
  const store = await openFileStore(m, payload)
  t.equal(await store.verifyExisting(), m.pieceCount)
  // Piece 2 holds the end of Z-70000 (4464 bytes) then pad.
  const block = await store.readBlock(2, 4000, 1000)
  t.ok(block.subarray(0, 464).equals(content('multi/Z-70000', 70000).subarray(69536)))
  t.ok(block.subarray(464).equals(Buffer.alloc(536)))
  for (const [i, o, l] of [[0, 0, 0], [0, -1, 10], [0, 32760, 16], [0, 0.5, 1], [m.pieceCount, 0, 1], [-1, 0, 1], [1.5, 0, 1]] as const) {
    await t.rejects(store.readBlock(i, o, l), { name: 'PieceOutOfRangeError' }, `${i} ${o} ${l}`)
  }
  await store.close()
  await t.rejects(store.readBlock(0, 0, 1), { name: 'StorageError' }, 'closed')
  const empty = await openFileStore(m, t.testdir())
  await t.rejects(empty.readBlock(0, 0, 16384), { name: 'PieceNotAvailableError', index: 0 })
  await empty.close()
})

t.test('from a magnet: hybrid falls back to SHA-1, v2 needs piece layers', async t => {
  const hy = parseTorrent(torrentBytes('multi-hybrid.torrent'))
  const pieces = await piecesOf(hy, payload)
  const fromMagnet = metainfoFromInfoDict(hy.infoBytes, { infoHashV1: hy.infoHashV1!, infoHashV2: hy.infoHashV2! })
  const store = await openFileStore(fromMagnet, t.testdir())
  for (const [i, p] of pieces.entries()) await store.writePiece(i, p)
  t.equal(store.complete, true)
  const bad = Buffer.from(pieces[3]!)
  bad[0] = bad[0]! ^ 1
  await t.rejects(store.writePiece(3, bad), { name: 'PieceHashMismatchError' })
  await store.close()

  const v2 = parseTorrent(torrentBytes('multi-v2.torrent'))
  const v2Magnet = metainfoFromInfoDict(v2.infoBytes, { infoHashV2: v2.infoHashV2! })
  await t.rejects(openFileStore(v2Magnet, t.testdir()), { name: 'PieceLayersUnavailableError' })

  // A v2 torrent whose files all fit in one piece verifies against the pieces roots alone.
  const dir = t.testdir({ s: { a: 'x'.repeat(20000), b: 'y' } })
  const small = (await createTorrent(join(dir, 's'), { version: 'v2', pieceLength: 32768 })).metainfo
  const smallMagnet = metainfoFromInfoDict(small.infoBytes, { infoHashV2: small.infoHashV2! })
  const s = await openFileStore(smallMagnet, join(dir, 'out'))
  await t.rejects(s.writePiece(0, Buffer.alloc(20000, 0x78 ^ 1)), { name: 'PieceHashMismatchError' })
  await s.writePiece(0, Buffer.alloc(20000, 0x78))
  await s.writePiece(1, Buffer.from('y'))
  t.equal(s.complete, true)
  t.equal(readFileSync(join(dir, 'out', 's', 'b'), 'utf8'), 'y')
  await s.close()
})

t.test('a plain Metainfo (not ours) is re-derived from its info bytes', async t => {
  const m = parseTorrent(torrentBytes('single-v1.torrent'))
  const { singleFile: _s, pieceHashesV1: _p, ...plain } = m
  const store = await openFileStore(plain, payload)
  t.equal(await store.verifyExisting(), 4)
  await store.close()
})

t.test('never writes outside the directory: planted symlinks are refused', async t => {
  const dir = t.testdir({ outside: {}, dl: { dir: {} } })
  symlinkSync(join(dir, 'outside'), join(dir, 'dl', 'dir', 'sub'))
  const data = Buffer.alloc(100, 5)
  const m = parseTorrent(encode(v1Multi([[['sub', 'x'], data]], 16384, 'dir')))
  const store = await openFileStore(m, join(dir, 'dl'))
  await t.rejects(store.writePiece(0, data), { name: 'UnsafePathError' })
  t.same(readdirSync(join(dir, 'outside')), [])
  await store.close()

  // The file itself as a symlink: O_NOFOLLOW.
  mkdirSync(join(dir, 'dl2', 'dir'), { recursive: true })
  writeFileSync(join(dir, 'target'), 'keep')
  symlinkSync(join(dir, 'target'), join(dir, 'dl2', 'dir', 'f'))
  const m2 = parseTorrent(encode(v1Multi([[['f'], data]], 16384, 'dir')))
  const store2 = await openFileStore(m2, join(dir, 'dl2'))
  await t.rejects(store2.writePiece(0, data), { name: 'UnsafePathError' })
  t.equal(readFileSync(join(dir, 'target'), 'utf8'), 'keep')
  await store2.close()
})

t.test('many files with a small handle cap', async t => {
  const files: Array<[string[], Buffer]> = Array.from({ length: 40 }, (_, i) => [[`f${String(i).padStart(2, '0')}`], Buffer.alloc(1000 + i, i)])
  const m = parseTorrent(encode(v1Multi(files, 16384, 'many')))
  const all = Buffer.concat(files.map(f => f[1]))
  const dir = t.testdir()
  const store = await openFileStore(m, dir, { maxOpenFiles: 4 })
  await Promise.all(Array.from({ length: m.pieceCount }, async (_, i) => await store.writePiece(i, all.subarray(i * 16384, i * 16384 + m.pieceSize(i)))))
  t.equal(store.complete, true)
  for (const [[name], d] of files) t.ok(readFileSync(join(dir, 'many', name!)).equals(d))
  await store.close()
})
