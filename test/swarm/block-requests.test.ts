/** BlockRequests: what a peer may send us, and what we excuse after giving a request up. */
import t from 'tap'
import { BlockRequests, blockKey, keyBlock, keyIndex, keyOffset } from '../../src/swarm/block-requests.js'
import { BLOCK_SIZE } from '../../src/swarm/active-piece.js'

t.test('block keys round-trip index and block, up to the largest piece and index', async t => {
  for (const [index, block] of [[0, 0], [1, 0], [0, 1], [123_456, 789], [4_000_000, 2 ** 21 - 1]] as const) {
    const key = blockKey(index, block)
    t.equal(keyIndex(key), index)
    t.equal(keyBlock(key), block)
    t.equal(keyOffset(key), block * BLOCK_SIZE)
    t.ok(Number.isSafeInteger(key))
  }
  t.not(blockKey(1, 0), blockKey(0, 2 ** 20), 'no two blocks share a key')
})

t.test('a requested block arrives once; a second copy is unrequested', async t => {
  const r = new BlockRequests()
  const k = blockKey(3, 1)
  r.add(k, 0)
  t.ok(r.has(k))
  t.equal(r.size, 1)
  t.equal(r.take(k), 'requested')
  t.equal(r.size, 0)
  t.equal(r.take(k), 'unrequested')
  t.equal(r.take(blockKey(9, 9)), 'unrequested', 'a block never asked for')
})

t.test('a given-up block is excused once per request given up, even if re-requested', async t => {
  const r = new BlockRequests()
  const k = blockKey(0, 5)
  t.notOk(r.giveUp(k, 0), 'nothing outstanding to give up')
  r.add(k, 0)
  t.ok(r.giveUp(k, 10))
  r.add(k, 20) // asked again after the timeout
  t.ok(r.giveUp(k, 30))
  t.equal(r.take(k), 'cancelled')
  t.equal(r.take(k), 'cancelled', 'both copies were asked for')
  t.equal(r.take(k), 'unrequested', 'a third was not')
})

t.test('a rejected request is dropped and not excused (the peer said it will not send it)', async t => {
  const r = new BlockRequests()
  const k = blockKey(2, 0)
  r.add(k, 0)
  t.ok(r.drop(k))
  t.notOk(r.drop(k))
  t.equal(r.take(k), 'unrequested')
})

t.test('giveUpAll gives up every outstanding request; the excused set is bounded, oldest out first', async t => {
  const r = new BlockRequests()
  for (let b = 0; b < 3; b++) r.add(blockKey(1, b), 0)
  t.same(r.giveUpAll(5).sort((a, b) => a - b), [0, 1, 2].map(b => blockKey(1, b)))
  t.equal(r.size, 0)
  t.equal(r.take(blockKey(1, 2)), 'cancelled')

  const bounded = new BlockRequests()
  for (let i = 0; i < 4097; i++) { bounded.add(blockKey(i, 0), 0); bounded.giveUp(blockKey(i, 0), 0) }
  t.equal(bounded.take(blockKey(0, 0)), 'unrequested', 'the oldest of 4097 was forgotten (bound 4096)')
  t.equal(bounded.take(blockKey(1, 0)), 'cancelled')
  t.equal(bounded.take(blockKey(4096, 0)), 'cancelled')
})
