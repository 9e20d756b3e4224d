/** The token bucket behind --max-upload-rate / --max-download-rate (src/swarm/rate-limiter.ts). */
import t from 'tap'
import { RateLimiter, isStillRequested } from '../../src/swarm/rate-limiter.js'
import { BLOCK_SIZE } from '../../src/swarm/active-piece.js'

/** The limiter's timer is unref'd (it never keeps a process alive): hold the test's event loop open. */
function keepAlive (t: { teardown: (fn: () => void) => void }): void {
  const timer = setInterval(() => {}, 1000)
  t.teardown(() => clearInterval(timer))
}

t.test('a full bucket passes its burst at once, then the rate: a lower bound on time', async t => {
  keepAlive(t)
  const rate = 10 * BLOCK_SIZE // 10 blocks a second
  const limiter = new RateLimiter(rate, { burstBytes: BLOCK_SIZE })
  const started = performance.now()
  const granted: number[] = []
  await new Promise<void>(resolve => {
    for (let i = 0; i < 6; i++) limiter.take(BLOCK_SIZE, () => { granted.push(performance.now() - started); if (granted.length === 6) resolve(); return true })
  })
  t.ok(granted[0]! < 50, `the first block passes at once (${granted[0]} ms)`)
  // Five more blocks at 10 a second: at least 500 ms (a timer never fires early).
  t.ok(granted[5]! >= 490, `six blocks took ${granted[5]!.toFixed(0)} ms, at least 500`)
  t.same(granted, [...granted].sort((a, b) => a - b), 'in order')
})

t.test('waiters are served in arrival order; a declined grant leaves its tokens', async t => {
  keepAlive(t)
  const limiter = new RateLimiter(20 * BLOCK_SIZE, { burstBytes: BLOCK_SIZE })
  const order: string[] = []
  await new Promise<void>(resolve => {
    limiter.take(BLOCK_SIZE, () => { order.push('a'); return true })
    limiter.take(BLOCK_SIZE, () => { order.push('b (cancelled)'); return false })
    limiter.take(BLOCK_SIZE, () => { order.push('c'); return true })
    limiter.take(BLOCK_SIZE, () => { order.push('d'); resolve(); return true })
  })
  t.same(order, ['a', 'b (cancelled)', 'c', 'd'])
  t.equal(limiter.queued, 0)
})

t.test('charge and whenAvailable: the download side asks, takes what it uses, and is woken', async t => {
  keepAlive(t)
  const limiter = new RateLimiter(20 * BLOCK_SIZE, { burstBytes: 2 * BLOCK_SIZE })
  t.equal(limiter.available(), 2 * BLOCK_SIZE, 'starts full')
  limiter.charge(2 * BLOCK_SIZE)
  t.ok(limiter.available() < BLOCK_SIZE, 'spent')
  const started = performance.now()
  await new Promise<void>(resolve => limiter.whenAvailable(BLOCK_SIZE, resolve))
  t.ok(performance.now() - started >= 40, 'woken once a block\'s tokens came back (50 ms at 20 blocks a second)')
  t.ok(limiter.available() >= BLOCK_SIZE, 'not taken by the wake-up')
})

t.test('bad limits are refused', async t => {
  for (const rate of [0, -1, NaN, Infinity]) t.throws(() => new RateLimiter(rate), RangeError, String(rate))
  const limiter = new RateLimiter(1000)
  t.equal(limiter.burstBytes, BLOCK_SIZE, 'the bucket holds at least one block, or a block could never pass')
  t.throws(() => limiter.take(BLOCK_SIZE + 1, () => true), RangeError, 'more than the bucket holds')
})

t.test('isStillRequested: a cancelled or answered request is no longer served', async t => {
  const wire = { peerRequests: [{ piece: 1, offset: 16384, length: 16384 }] }
  t.ok(isStillRequested(wire, 1, 16384, 16384))
  t.notOk(isStillRequested(wire, 1, 0, 16384))
})
