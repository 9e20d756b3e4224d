/**
 * makePieceVerifier: SHA-1 for v1, BEP 52 merkle hashes for v2, both for a hybrid, over torrents made by
 * createTorrent from real files; a magnet's v2 torrent without piece layers, refused with a typed error
 * when a file spans several pieces; a short last piece, and an index outside the torrent.
 */
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { makePieceVerifier } from '../../src/storage/piece-verifier.js'
import { PieceLayersUnavailableError } from '../../src/storage/errors.js'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { metainfoFromInfoDict } from '../../src/torrent/parse-torrent.js'
import type { ParsedTorrent } from '../../src/torrent/parsed-torrent.js'
import type { TorrentVersion } from '../../src/torrent/metainfo.js'
import { tempDir } from '../helpers/session-pair.js'
import { assertTyped } from '../helpers/typed-error.js'

const P = 16384
const dir = await tempDir(t)
// Files in byte order of their names (the v2 piece space order): big spans 3 pieces and a bit, small fits one.
const big = randomBytes(3 * P + 100)
const small = randomBytes(1000)
await mkdir(join(dir, 'content'))
await writeFile(join(dir, 'content', 'a-big'), big)
await writeFile(join(dir, 'content', 'b-small'), small)

const torrents = new Map<TorrentVersion, ParsedTorrent>()
for (const version of ['v1', 'v2', 'hybrid'] as const) {
  torrents.set(version, (await createTorrent(join(dir, 'content'), { version, pieceLength: P })).metainfo)
}

/** The bytes of piece `index` as the torrent lays them out (v1: contiguous; v2 and hybrid: each file from a piece boundary). */
function piece (m: ParsedTorrent, index: number): Buffer {
  // A hybrid ends with a pad file to the piece boundary; v2 pieces end with their file.
  const all = m.version === 'v1' ? Buffer.concat([big, small]) : Buffer.concat([big, Buffer.alloc(P - 100), small, Buffer.alloc(P - 1000)])
  return all.subarray(index * P, index * P + m.pieceSize(index))
}

function flip (b: Buffer, at: number): Buffer {
  const c = Buffer.from(b)
  c[at] = c[at]! ^ 1
  return c
}

t.test('every piece of each version verifies, and one flipped bit anywhere does not', async t => {
  for (const [version, m] of torrents) {
    const verify = makePieceVerifier(m)
    const expected = version === 'v1' ? 'SHA-1 mismatch' : version === 'v2' ? 'SHA-256 merkle mismatch' : 'SHA-1 mismatch'
    for (let i = 0; i < m.pieceCount; i++) {
      const data = piece(m, i)
      t.equal(verify(i, data), undefined, `${version} piece ${i} (${data.length} bytes)`)
      t.equal(verify(i, flip(data, 0)), expected, `${version} piece ${i}, first byte flipped`)
      t.equal(verify(i, flip(data, data.length - 1)), expected, `${version} piece ${i}, last byte flipped`)
    }
    t.not(verify(0, piece(m, 1)), undefined, `${version}: another piece's bytes`)
    const last = piece(m, m.pieceCount - 1)
    t.equal(verify(m.pieceCount - 1, Buffer.concat([last, Buffer.alloc(1)])), `${last.length + 1} bytes, the piece has ${last.length}`, `${version}: a last piece one byte too long`)
    t.equal(verify(m.pieceCount - 1, last.subarray(1)), `${last.length - 1} bytes, the piece has ${last.length}`, `${version}: one byte short`)
  }
})

t.test('a hybrid piece must satisfy both hash sets', async t => {
  const m = torrents.get('hybrid')!
  const forged = randomBytes(P)
  // v1 hashes that vouch for forged data as piece 0: the v2 merkle hash still refuses it.
  const v1Forged = Buffer.from(m.pieceHashesV1!)
  createHash('sha1').update(forged).digest().copy(v1Forged, 0)
  const verify = makePieceVerifier({ ...m, pieceHashesV1: v1Forged })
  t.equal(verify(0, forged), 'SHA-256 merkle mismatch')
  t.equal(verify(0, piece(m, 0)), 'SHA-1 mismatch')
})

t.test('a v2 magnet: no piece layers', async t => {
  const v2 = torrents.get('v2')!
  const fromMagnet = metainfoFromInfoDict(v2.infoBytes, { infoHashV2: v2.infoHashV2! })
  t.equal(fromMagnet.pieceLayers, undefined)
  try {
    makePieceVerifier(fromMagnet)
    t.fail('a verifier was made for files it cannot verify')
  } catch (err) {
    assertTyped(t, err, PieceLayersUnavailableError, 'ERR_PIECE_LAYERS_UNAVAILABLE', /1 files larger than one piece \(e\.g\. a-big\)/)
  }

  // The same, but every file fits in a piece: the pieces root is the piece's hash, so it verifies.
  const smallDir = join(dir, 'small')
  await mkdir(smallDir)
  await writeFile(join(smallDir, 'x'), small)
  await writeFile(join(smallDir, 'y'), big.subarray(0, P))
  const s = (await createTorrent(smallDir, { version: 'v2', pieceLength: P })).metainfo
  const verify = makePieceVerifier(metainfoFromInfoDict(s.infoBytes, { infoHashV2: s.infoHashV2! }))
  t.equal(verify(0, small), undefined)
  t.equal(verify(1, big.subarray(0, P)), undefined)
  t.equal(verify(0, flip(small, 10)), 'SHA-256 merkle mismatch')
})

t.test('a hybrid magnet: no layers, the SHA-1 hashes verify its large files', async t => {
  const hy = torrents.get('hybrid')!
  const fromMagnet = metainfoFromInfoDict(hy.infoBytes, { infoHashV1: hy.infoHashV1! })
  t.equal(fromMagnet.pieceLayers, undefined)
  const verify = makePieceVerifier(fromMagnet)
  t.equal(verify(1, piece(hy, 1)), undefined)
  t.equal(verify(1, flip(piece(hy, 1), 5)), 'SHA-1 mismatch')
  t.equal(verify(4, piece(hy, 4)), undefined, 'the small file')
  // SHA-1 vouches for the whole piece; the pieces root of the small file is checked as well.
  const forged = Buffer.concat([flip(small, 3), Buffer.alloc(P - 1000)])
  const v1Forged = Buffer.from(fromMagnet.pieceHashesV1!)
  createHash('sha1').update(forged).digest().copy(v1Forged, 4 * 20)
  t.equal(makePieceVerifier({ ...fromMagnet, pieceHashesV1: v1Forged })(4, forged), 'SHA-256 merkle mismatch')
})

t.test('an index outside the torrent is a reason, not a throw, for every version', async t => {
  for (const [version, m] of torrents) {
    const verify = makePieceVerifier(m)
    for (const index of [m.pieceCount, -1, 0.5, Number.NaN]) {
      t.equal(verify(index, piece(m, 0)), 'piece index out of range', `${version} index ${index}`)
    }
  }
})
