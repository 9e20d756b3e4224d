import t from 'tap'
import { TokenBucket } from '../src/token-bucket.js'

t.test('a token bucket: full at start, refilled with time up to its capacity, no more', async t => {
  let now = 1000
  const bucket = new TokenBucket(4, 2, () => now)
  t.equal(bucket.available(), 4, 'full at start')
  for (let i = 0; i < 4; i++) t.ok(bucket.tryTake(), `token ${i + 1}`)
  t.notOk(bucket.tryTake(), 'empty: nothing taken')
  t.equal(bucket.msUntil(1), 500, 'one token at 2 a second: 500 ms')
  now += 250
  t.equal(bucket.available(), 0.5)
  t.notOk(bucket.tryTake(), 'half a token is not one')
  t.equal(bucket.msUntil(1), 250)
  now += 10_000
  t.equal(bucket.available(), 4, 'never above its capacity')
  t.equal(bucket.msUntil(3), 0, 'there now')
})

t.test('charge goes into debt, paid off by the refill; refund never overfills', async t => {
  let now = 0
  const bucket = new TokenBucket(10, 10, () => now)
  bucket.charge(15)
  t.equal(bucket.available(), -5)
  t.equal(bucket.msUntil(1), 600, 'six tokens missing at 10 a second')
  now += 600
  t.ok(bucket.tryTake())
  bucket.refund(100)
  t.equal(bucket.available(), 10, 'refunds stop at the capacity')
})

t.test('a bucket without capacity or rate is refused', async t => {
  for (const [capacity, rate] of [[0, 1], [1, 0], [-1, 1], [Number.NaN, 1], [1, Number.POSITIVE_INFINITY]]) {
    t.throws(() => new TokenBucket(capacity!, rate!), RangeError, `${capacity}, ${rate}`)
  }
})
