/** PieceMap: which file bytes a piece range covers, across file boundaries, empty files and pads. */
import t from 'tap'
import { PieceMap } from '../../src/storage/piece-map.js'
import type { TorrentFile } from '../../src/torrent/metainfo.js'

function files (...spec: Array<[length: number, pad?: boolean]>): TorrentFile[] {
  let offset = 0
  return spec.map(([length, pad], i) => {
    const f = { path: [`f${i}`], length, offset, pad: pad === true }
    offset += length
    return f
  })
}

t.test('a v1 piece spanning three files, one of them empty', async t => {
  // Piece length 10: piece 0 = f0[0..6) + f2[0..4); f1 is empty and owns no bytes.
  const map = new PieceMap(files([6], [0], [7], [5]), 10)
  t.same(map.segments(0, 0, 10), [
    { fileIndex: 0, fileOffset: 0, rangeOffset: 0, length: 6, pad: false },
    { fileIndex: 2, fileOffset: 0, rangeOffset: 6, length: 4, pad: false }
  ])
  t.same(map.segments(1, 0, 8), [
    { fileIndex: 2, fileOffset: 4, rangeOffset: 0, length: 3, pad: false },
    { fileIndex: 3, fileOffset: 0, rangeOffset: 3, length: 5, pad: false }
  ], 'the last, short piece')
  t.same(map.segments(1, 2, 2), [
    { fileIndex: 2, fileOffset: 6, rangeOffset: 0, length: 1, pad: false },
    { fileIndex: 3, fileOffset: 0, rangeOffset: 1, length: 1, pad: false }
  ], 'a block inside a piece')
})

t.test('a hybrid piece: one file, then the pad file that aligns the next', async t => {
  const map = new PieceMap(files([12], [4, true], [16]), 16)
  t.same(map.segments(0, 0, 16), [
    { fileIndex: 0, fileOffset: 0, rangeOffset: 0, length: 12, pad: false },
    { fileIndex: 1, fileOffset: 0, rangeOffset: 12, length: 4, pad: true }
  ])
  t.same(map.segments(1, 0, 16), [{ fileIndex: 2, fileOffset: 0, rangeOffset: 0, length: 16, pad: false }])
})

t.test('ranges past the end of the torrent cover nothing more', async t => {
  const map = new PieceMap(files([10]), 8)
  t.same(map.segments(1, 0, 8), [{ fileIndex: 0, fileOffset: 8, rangeOffset: 0, length: 2, pad: false }])
  t.same(map.segments(5, 0, 8), [])
  t.same(new PieceMap([], 8).segments(0, 0, 8), [], 'no files')
})

t.test('many files: the binary search finds the first one of the range', async t => {
  const many = files(...Array.from({ length: 1000 }, () => [3] as [number]))
  const map = new PieceMap(many, 16)
  const segs = map.segments(100, 5, 7) // bytes 1605..1612
  t.same(segs.map(s => s.fileIndex), [535, 536, 537])
  t.equal(segs.reduce((n, s) => n + s.length, 0), 7)
  t.same(segs[0], { fileIndex: 535, fileOffset: 0, rangeOffset: 0, length: 3, pad: false })
})
