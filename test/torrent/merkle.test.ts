import t from 'tap'
import { createHash } from 'node:crypto'
import { BLOCK_SIZE, FileMerkleHasher, merkleRoot, padHash, pieceMerkleHash, rootFromPieceLayer } from '../../src/torrent/merkle.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { content, expected, torrentBytes } from '../fixtures/torrent/fixture-data.js'

const sha256 = (...parts: Uint8Array[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest()

t.test('pad hashes: zero leaves, then hashes of pairs', async t => {
  t.same(padHash(0), Buffer.alloc(32))
  t.same(padHash(1), sha256(Buffer.alloc(32), Buffer.alloc(32)))
  t.same(padHash(2), sha256(padHash(1), padHash(1)))
})

t.test('small trees by hand', async t => {
  const a = Buffer.alloc(BLOCK_SIZE, 1)
  const b = Buffer.from('tail')
  // One block: the root is the block hash. Partial blocks are hashed as they are (not zero-filled).
  t.same(pieceMerkleHash(b, 32768, 4), sha256(b))
  // Three blocks in a file of one 64 KiB piece: padded to 4 leaves, not to the piece width.
  const three = Buffer.concat([a, a, b])
  const h3 = [sha256(a), sha256(a), sha256(b)]
  t.same(pieceMerkleHash(three, 65536 * 2, three.length), sha256(sha256(h3[0]!, h3[1]!), sha256(h3[2]!, Buffer.alloc(32))))
  // In a file longer than a piece, each piece is padded to the full piece width (here 4 leaves of 2).
  t.same(pieceMerkleHash(b, 65536, 65536 + 4), merkleRoot([sha256(b)], 4))
  t.same(rootFromPieceLayer([h3[0]!, h3[1]!, h3[2]!], 65536), sha256(sha256(h3[0]!, h3[1]!), sha256(h3[2]!, padHash(2))))
  t.throws(() => merkleRoot([a, a, a], 2), RangeError)
})

t.test('FileMerkleHasher gives libtorrent\'s pieces roots and piece layers, whatever the chunking', async t => {
  const torrent = parseTorrent(torrentBytes('multi-v2.torrent'))
  const pl = expected.pieceLength
  for (const [rel, size] of expected.multi.files) {
    const data = content(`multi/${rel}`, size)
    const want = expected.torrents['multi-v2.torrent']!.files.find(f => f.path === `multi/${rel}`)!
    for (const chunk of [size || 1, 1000, BLOCK_SIZE, 65537]) {
      const h = new FileMerkleHasher(pl)
      for (let off = 0; off < size; off += chunk) h.update(data.subarray(off, off + chunk))
      const { root, pieceLayer } = h.digest()
      t.equal(root?.toString('hex') ?? null, want.piecesRoot, `${rel} root, chunk ${chunk}`)
      if (size > pl) t.same(Buffer.concat(pieceLayer), torrent.pieceLayers!.get(want.piecesRoot!), `${rel} layer`)
      else t.equal(pieceLayer.length, 0)
    }
  }
  const single = expected.torrents['single-v2.torrent']!.files[0]!
  const h = new FileMerkleHasher(pl)
  h.update(content('single.bin', 100000))
  t.equal(h.digest().root!.toString('hex'), single.piecesRoot)
})
