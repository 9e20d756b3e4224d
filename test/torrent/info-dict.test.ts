/**
 * parseInfoDict on its own: the rules test/torrent/parse.test.ts does not reach through a whole .torrent
 * file — v2 piece space (files aligned on piece boundaries, empty files, keys in byte order), piece
 * sizes, the hybrid reconciliations, ssl-cert, a magnet's unknown piece layers, and the bounds on sizes.
 * Every rule broken is an InvalidTorrentError asserted by name, instanceof and code.
 */
import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import { type BencodeDict, decodeBencode, encodeBencode, type Encodable } from '../../src/codec/bencode.js'
import { MAX_PIECE_LENGTH, parseInfoDict, requireBytes, requireInt } from '../../src/torrent/info-dict.js'
import { InvalidTorrentError } from '../../src/torrent/errors.js'
import { FileMerkleHasher } from '../../src/torrent/merkle.js'
import { createSwarmCa } from '../../src/pki/certificate-profile.js'
import { createResponderCertificate } from '../../src/pki/responder-certificate.js'
import { sha1Pieces, type Dict } from '../fixtures/torrent/craft.js'
import { assertTyped } from '../helpers/typed-error.js'

const P = 16384

function parse (info: Dict, pieceLayers?: Map<Uint8Array, Buffer> | null | number) {
  const infoBytes = encodeBencode(info as Encodable)
  const decoded = decodeBencode(infoBytes, { maxBytes: 1 << 24 }) as BencodeDict
  const layers = pieceLayers === undefined || pieceLayers === null || typeof pieceLayers === 'number'
    ? pieceLayers
    : decodeBencode(encodeBencode(pieceLayers), { maxBytes: 1 << 24 })
  return parseInfoDict({ info: decoded, infoBytes, pieceLayers: layers === undefined ? undefined : layers, trackers: ['http://t.example/a'] })
}

function refused (t: Test, info: Dict, message: RegExp, pieceLayers?: Map<Uint8Array, Buffer> | null | number): void {
  try {
    parse(info, pieceLayers)
  } catch (err) {
    assertTyped(t, err, InvalidTorrentError, 'ERR_INVALID_TORRENT', message)
    return
  }
  t.fail(`accepted; expected ${String(message)}`)
}

/** A v2 leaf for `data`, and its piece layer (empty for a file of one piece or less). */
function leaf (data: Buffer): { node: Dict, root?: Buffer, layer?: Buffer } {
  if (data.length === 0) return { node: { '': { length: 0 } } }
  const h = new FileMerkleHasher(P)
  h.update(data)
  const { root, pieceLayer } = h.digest()
  return { node: { '': { length: data.length, 'pieces root': root } }, root: root!, ...(pieceLayer.length > 0 ? { layer: Buffer.concat(pieceLayer) } : {}) }
}

/** A v2 info dict over files given in any order, and the piece layers it needs. */
function v2 (files: Record<string, Buffer>, name = 'dir'): { info: Dict, layers: Map<Uint8Array, Buffer> } {
  const tree: Dict = {}
  const layers = new Map<Uint8Array, Buffer>()
  for (const [path, data] of Object.entries(files)) {
    const l = leaf(data)
    let node = tree
    const parts = path.split('/')
    for (const p of parts.slice(0, -1)) node = node[p] ??= {}
    node[parts.at(-1)!] = l.node
    // Keyed by the root's bytes: identical files have one entry, as in a real .torrent.
    if (l.layer !== undefined && ![...layers.keys()].some(k => Buffer.from(k).equals(l.root!))) layers.set(l.root!, l.layer)
  }
  return { info: { name, 'piece length': P, 'meta version': 2, 'file tree': tree }, layers }
}

const bytes = (n: number, fill = 1): Buffer => Buffer.alloc(n, fill)

t.test('v2 piece space: files in byte order of their names, each starting on a piece boundary', async t => {
  // Inserted out of order: B < a < b in byte order.
  const { info, layers } = v2({ b: bytes(P + 10, 2), 'sub/x': bytes(0), a: bytes(100, 3), B: bytes(2 * P, 4) })
  const m = parse(info, layers)
  t.equal(m.version, 'v2')
  t.same(m.files.map(f => [f.path.join('/'), f.offset, f.length]), [['B', 0, 2 * P], ['a', 2 * P, 100], ['b', 3 * P, P + 10], ['sub/x', 5 * P, 0]])
  t.equal(m.pieceCount, 5)
  t.equal(m.totalLength, 4 * P + 10, 'up to the end of the last file with bytes')
  t.equal(m.contentLength, 3 * P + 110)
  t.same(Array.from({ length: 5 }, (_, i) => m.pieceSize(i)), [P, P, 100, P, 10], 'the last piece of every file is short')
  t.equal(m.singleFile, false)
  t.equal(m.infoHashV1, undefined)
  t.same(m.infoHashV2, createHash('sha256').update(m.infoBytes).digest())
  t.same(m.wireInfoHash, m.infoHashV2!.subarray(0, 20), 'the wire carries the v2 hash truncated to 20 bytes')
  t.equal(m.pieceLayers!.size, 2, 'layers only for files longer than a piece')
  t.same(m.trackers, ['http://t.example/a'])
})

t.test('v2 single file: one file at the top named as the torrent', async t => {
  t.equal(parse(v2({ f: bytes(10) }, 'f').info).singleFile, true)
  t.equal(parse(v2({ g: bytes(10) }, 'f').info).singleFile, false, 'a different name is a directory of one file')
  t.equal(parse(v2({ 'f/f': bytes(10) }, 'f').info).singleFile, false, 'not at the top')
})

t.test('identical files share one piece layer', async t => {
  const { info, layers } = v2({ a: bytes(3 * P, 9), b: bytes(3 * P, 9) })
  t.equal(layers.size, 1)
  const m = parse(info, layers)
  t.equal(m.pieceLayers!.size, 1)
  t.same(m.files[0]!.piecesRoot, m.files[1]!.piecesRoot)
})

t.test('a magnet (piece layers null): no layers, and no error for files larger than a piece', async t => {
  const { info } = v2({ a: bytes(3 * P) })
  const m = parse(info, null)
  t.equal(m.pieceLayers, undefined)
  refused(t, info, /piece layers missing \(needed for 1 files/, undefined)
})

t.test('v2 file tree rules', async t => {
  const ok = v2({ a: bytes(10) }).info
  refused(t, { ...ok, 'file tree': { '': { length: 10, 'pieces root': bytes(32) } } }, /file entry \(""\) must be the only key/)
  refused(t, { ...ok, 'file tree': { a: 5 } }, /file tree\/a is not a dict/)
  refused(t, { ...ok, 'file tree': { a: { '': 5 } } }, /file tree\/a\."" is not a dict/)
  refused(t, { ...ok, 'file tree': {} }, /file tree is empty/)
  refused(t, { ...ok, 'file tree': { d: { a: { '': { length: -1 } } } } }, /file tree\/d\/a\.length is negative/)
  refused(t, { ...ok, 'file tree': { a: { '': { length: 10 } } } }, /pieces root must be 32 bytes/)
  refused(t, { ...ok, 'file tree': { e: { '': { length: 0 } } } }, /no data \(total length 0\)/) // only empty files
  refused(t, { ...ok, 'file tree': { a: { '': { length: 2 ** 53 - 1, 'pieces root': bytes(32) } } } }, /too large/) // offset past 2^53
})

t.test('piece length bounds', async t => {
  const data = bytes(100)
  const v1 = (pieceLength: number): Dict => ({ name: 'f', 'piece length': pieceLength, length: 100, pieces: sha1Pieces(data, pieceLength) })
  t.equal(parse(v1(MAX_PIECE_LENGTH)).pieceLength, MAX_PIECE_LENGTH, 'the largest accepted')
  t.equal(parse(v1(1)).pieceCount, 100, 'v1 accepts any positive piece length')
  refused(t, v1(MAX_PIECE_LENGTH + 1), /piece length 268435457 is outside 1\.\.268435456/)
  refused(t, { ...v1(P), 'piece length': 0 }, /piece length 0 is outside/)
  const v2info = v2({ a: bytes(10) }).info
  t.equal(parse({ ...v2info, 'piece length': MAX_PIECE_LENGTH }).pieceLength, MAX_PIECE_LENGTH)
})

t.test('v1 details: pad attribute, private flag, pieceSize bounds', async t => {
  const a = bytes(10)
  const pad = bytes(P - 10, 0)
  const b = bytes(20)
  const all = Buffer.concat([a, pad, b])
  const info = { name: 'd', 'piece length': P, pieces: sha1Pieces(all, P), private: 1, files: [{ length: 10, path: ['a'] }, { length: P - 10, path: ['.pad', String(P - 10)], attr: 'p' }, { length: 20, path: ['b'], attr: 'x' }] }
  const m = parse(info)
  t.same(m.files.map(f => f.pad), [false, true, false])
  t.equal(m.contentLength, 30, 'pad files are not content')
  t.equal(m.totalLength, P + 20)
  t.equal(m.private, true)
  t.equal(parse({ ...info, private: 2 }).private, false, 'private is 1 or not private')
  t.equal(m.pieceSize(1), 20)
  t.throws(() => m.pieceSize(0.5), RangeError)
  t.throws(() => m.pieceSize(2), RangeError)
  refused(t, { ...info, files: [{ length: 10, path: ['a'], attr: 5 }] }, /files\[0\]\.attr is not a string/)
  refused(t, { ...info, files: [{ length: 2 ** 52, path: ['a'] }, { length: 2 ** 52, path: ['b'] }] }, /too large/) // total past 2^53
  refused(t, { ...info, files: [{ length: 10, path: ['a', 5] }] }, /files\[0\]\.path\[1\] is not a string/)
})

t.test('hybrid: both halves must describe the same files in the same piece space', async t => {
  const a = bytes(P + 5, 1)
  const b = bytes(100, 2)
  const pad = bytes(P - 5, 0)
  const { info: v2info, layers } = v2({ a, b })
  const v1files = [{ length: a.length, path: ['a'] }, { length: P - 5, path: ['.pad', String(P - 5)], attr: 'p' }, { length: b.length, path: ['b'] }]
  const info = { ...v2info, files: v1files, pieces: sha1Pieces(Buffer.concat([a, pad, b]), P) }
  const m = parse(info, layers)
  t.equal(m.version, 'hybrid')
  t.ok(m.infoHashV1 !== undefined && m.infoHashV2 !== undefined)
  t.same(m.wireInfoHash, m.infoHashV1, 'the wire carries the v1 hash')
  t.same(m.files.map(f => [f.path.join('/'), f.offset, f.pad]), [['a', 0, false], ['.pad/' + String(P - 5), P + 5, true], ['b', 2 * P, false]])
  t.ok(m.files[2]!.piecesRoot !== undefined, 'v2 roots kept on the reconciled files')
  t.same([0, 1, 2].map(i => m.pieceSize(i)), [P, P, 100], 'one contiguous piece space')

  refused(t, { ...info, pieces: sha1Pieces(Buffer.concat([a, pad, b, bytes(P)]), P), files: [...v1files, { length: P, path: ['.pad', 'x'], attr: 'p' }] },
    /pad file of 16384 bytes is not shorter than a piece/)
  refused(t, { ...info, files: [v1files[0], v1files[1]], pieces: sha1Pieces(Buffer.concat([a, pad]), P) }, /file tree has 2 files, v1 files list 1/)
  refused(t, { ...info, files: [...v1files, { length: 1, path: ['c'] }], pieces: sha1Pieces(Buffer.concat([a, pad, b, bytes(1)]), P) }, /v1 file c is not in the file tree/)
  const single = v2({ f: bytes(10) }, 'f')
  refused(t, { ...single.info, files: [{ length: 10, path: ['f'] }], pieces: sha1Pieces(bytes(10), P) }, /disagree on single-file vs directory/)
  const one = v2({ a: bytes(10) }, 'a')
  refused(t, { ...one.info, length: 10 + P, pieces: sha1Pieces(bytes(10 + P), P) }, /differs from v2 file a/)
  // Trailing pad files, each shorter than a piece, that give v1 a piece v2 does not have.
  const padded = [{ length: 10, path: ['a'] }, { length: P - 10, path: ['.pad', '1'], attr: 'p' }, { length: P - 1, path: ['.pad', '2'], attr: 'p' }]
  refused(t, { ...v2({ a: bytes(10) }).info, files: padded, pieces: sha1Pieces(bytes(2 * P - 1), P) }, /hybrid torrent: v1 has 2 pieces, v2 has 1/)
})

t.test('ssl-cert: a PEM CA certificate, or refused', async t => {
  const info = { name: 'f', 'piece length': P, length: 100, pieces: sha1Pieces(bytes(100), P) }
  const ca = await createSwarmCa('info-dict test CA')
  t.equal(parse({ ...info, 'ssl-cert': ca.certPem }).sslCert, ca.certPem)
  refused(t, { ...info, 'ssl-cert': 5 }, /ssl-cert is not a string/)
  refused(t, { ...info, 'ssl-cert': 'not a certificate' }, /ssl-cert is not a PEM X\.509 certificate/)
  const leafCert = await createResponderCertificate()
  refused(t, { ...info, 'ssl-cert': leafCert.cert }, /ssl-cert is not a CA certificate/)
})

t.test('requireBytes and requireInt name the key and where it is', async t => {
  const d = decodeBencode(encodeBencode({ s: 'x', n: 5, big: 2n ** 64n, l: [] }), { maxBytes: 100 }) as BencodeDict
  t.same(requireBytes(d, 's', 'info'), Buffer.from('x'))
  t.equal(requireInt(d, 'n', 'info'), 5)
  for (const [fn, message] of [
    [() => requireBytes(d, 'missing', 'info.files[3]'), /^info\.files\[3\]\.missing is missing$/],
    [() => requireBytes(d, 'n', 'info'), /^info\.n is not a string$/],
    [() => requireInt(d, 's', 'info'), /^info\.s is not an integer$/],
    [() => requireInt(d, 'l', 'info'), /^info\.l is not an integer$/],
    [() => requireInt(d, 'big', 'info'), /^info\.big is out of range$/],
    [() => requireInt(d, 'missing', 'info'), /^info\.missing is missing$/]
  ] as Array<[() => unknown, RegExp]>) {
    try { fn(); t.fail('accepted') } catch (err) { assertTyped(t, err, InvalidTorrentError, 'ERR_INVALID_TORRENT', message) }
  }
})
