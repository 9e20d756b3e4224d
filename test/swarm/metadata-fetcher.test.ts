/** MetadataFetcher (BEP 9): one source at a time, set aside when it rejects or stalls, on an injected clock. */
import t from 'tap'
import { MetadataFetcher } from '../../src/swarm/metadata-fetcher.js'

function fetcher () {
  let now = 1_000
  const sent: Array<[string, number]> = []
  const f = new MetadataFetcher<string>((source, piece) => sent.push([source, piece]), () => now)
  return { f, sent, advance: (ms: number) => { now += ms } }
}

t.test('asks the first offer for every piece and assembles the dict in piece order', async t => {
  const { f, sent } = fetcher()
  const size = 16384 + 100
  f.offer('a', size)
  f.offer('b', size)
  t.equal(f.source, 'a', 'one source at a time')
  t.same(sent, [['a', 0], ['a', 1]])
  t.equal(f.data('a', 1, size, Buffer.alloc(100, 2)), undefined, 'not whole yet')
  t.equal(f.data('b', 0, size, Buffer.alloc(16384, 9)), undefined, 'data from a source we did not ask is ignored')
  t.equal(f.data('a', 1, size, Buffer.alloc(100, 7)), undefined, 'a piece already received is ignored')
  t.equal(f.data('a', 0, size + 1, Buffer.alloc(16384, 1)), undefined, 'a size other than the advertised one is ignored')
  const whole = f.data('a', 0, size, Buffer.alloc(16384, 1))
  t.equal(whole?.length, size)
  t.equal(whole?.[0], 1)
  t.equal(whole?.[16384], 2)
  f.succeeded()
  t.ok(f.done)
  t.equal(f.source, undefined)
  f.offer('c', size)
  t.equal(f.source, undefined, 'no more fetching once done')
})

t.test('a source that rejects is set aside for 5 s; the next is asked; after 5 s the first again', async t => {
  const { f, sent, advance } = fetcher()
  f.offer('a', 10)
  f.offer('b', 10)
  f.reject('a')
  t.equal(f.source, 'b')
  f.reject('b')
  t.equal(f.source, undefined, 'both set aside')
  advance(4_999)
  f.tick(30_000)
  t.equal(f.source, undefined, 'not before 5 s')
  advance(1)
  f.tick(30_000)
  t.equal(f.source, 'a', 'asked again after 5 s')
  t.same(sent, [['a', 0], ['b', 0], ['a', 0]])
})

t.test('a source that stalls past the timeout is set aside; one that delivers keeps its turn', async t => {
  const { f, advance } = fetcher()
  const size = 3 * 16384
  f.offer('slow', size)
  f.offer('next', size)
  advance(9_000)
  f.data('slow', 0, size, Buffer.alloc(16384))
  advance(9_000)
  f.tick(10_000)
  t.equal(f.source, 'slow', 'progress 9 s ago: still within 10 s')
  advance(1_001)
  f.tick(10_000)
  t.equal(f.source, 'next', 'no progress for over 10 s: the next source')
})

t.test('a mismatching or departed source is never asked again', async t => {
  const { f, advance } = fetcher()
  f.offer('liar', 10)
  f.offer('honest', 10)
  f.mismatch('liar')
  t.equal(f.source, 'honest')
  f.remove('honest')
  t.equal(f.source, undefined)
  advance(60_000)
  f.tick(1_000)
  t.equal(f.source, undefined, 'neither comes back')
})
