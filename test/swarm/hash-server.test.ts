/**
 * HashServer on its own (test/swarm/hash-requests.test.ts has it between swarms): answers that hash to
 * the file's pieces root, served from a torrent made by createTorrent from a real file; a reject for
 * each request it cannot serve; counters of both.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { HashServer } from '../../src/swarm/hash-server.js'
import { fileTreeShape, pieceLayerRequests, verifyHashes } from '../../src/torrent/merkle-proof.js'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { metainfoFromInfoDict } from '../../src/torrent/parse-torrent.js'
import { tempDir } from '../helpers/session-pair.js'

const P = 32768 // two blocks a piece: the piece layer is layer 1, above the leaves
const dir = await tempDir(t)
await writeFile(join(dir, 'big'), randomBytes(5 * P + 1)) // 6 pieces: a piece layer of 8 with padding
await writeFile(join(dir, 'small'), randomBytes(100)) // one piece: no piece layer
const m = (await createTorrent(dir, { version: 'v2', pieceLength: P })).metainfo
const big = m.files.find(f => f.path.at(-1) === 'big')!
const small = m.files.find(f => f.path.at(-1) === 'small')!
const shape = fileTreeShape(big.length, P)
const root = Buffer.from(big.piecesRoot!)

t.test('each request of pieceLayerRequests is answered with hashes that prove up to the root', async t => {
  const server = new HashServer()
  const requests = pieceLayerRequests(root, shape)
  t.ok(requests.length > 0)
  for (const req of requests) {
    const answer = server.answer(m, req)
    if (!('hashes' in answer)) { t.fail(answer.reject); continue }
    const layer = verifyHashes(req, answer.hashes, shape)
    t.ok(layer !== undefined, 'verifies against the pieces root')
    t.same(layer!.subarray(0, 6 * 32), m.pieceLayers!.get(root.toString('hex')), 'the piece layer itself')
  }
  t.same(server.stats, { served: requests.length, rejected: 0 })
  // Asked again (the tree is built once): the same answer.
  const again = server.answer(m, requests[0]!)
  t.same(again, server.answer(m, requests[0]!))
})

t.test('a sub-range with its uncles', async t => {
  const server = new HashServer()
  const req = { piecesRoot: root, baseLayer: shape.pieceLayer, index: 2, length: 2, proofLayers: shape.height - 1 }
  const answer = server.answer(m, req)
  t.ok('hashes' in answer && verifyHashes(req, answer.hashes, shape) !== undefined)
  t.equal('hashes' in answer ? answer.hashes.length : 0, (2 + 2) * 32, 'two hashes and two uncles for a tree of height 3')
})

t.test('rejects: no metadata, an unknown root, a file without a layer, a magnet without layers, an unservable request', async t => {
  const server = new HashServer()
  const ok = { piecesRoot: root, baseLayer: shape.pieceLayer, index: 0, length: 2, proofLayers: shape.height - 1 }
  const magnet = metainfoFromInfoDict(m.infoBytes, { infoHashV2: m.infoHashV2! })
  const cases: Array<[string, Parameters<HashServer['answer']>, RegExp]> = [
    ['no metadata yet', [undefined, ok], /^no piece layers yet$/],
    ['an unknown root', [m, { ...ok, piecesRoot: randomBytes(32) }], /^no piece layer for this root$/],
    ['a one-piece file', [m, { ...ok, piecesRoot: Buffer.from(small.piecesRoot!) }], /^no piece layer for this root$/],
    ['a magnet before its layers are fetched', [magnet, ok], /^no piece layer for this root$/],
    ['the leaf layer', [m, { ...ok, baseLayer: 0, length: 2 }], /base layer 0 is not the piece layer/],
    ['a length not a power of two', [m, { ...ok, length: 3 }], /length 3 is not a power of two/],
    ['past the layer', [m, { ...ok, index: 8 }], /./]
  ]
  for (const [what, args, reason] of cases) {
    const answer = server.answer(...args)
    t.ok('reject' in answer, what)
    if ('reject' in answer) t.match(answer.reject, reason, what)
  }
  t.same(server.stats, { served: 0, rejected: cases.length })
})
