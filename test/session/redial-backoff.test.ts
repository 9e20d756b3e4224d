import t from 'tap'
import { RedialBackoff } from '../../src/session/redial-backoff.js'

t.test('redials back off exponentially up to the cap, and data resets them', async t => {
  const b = new RedialBackoff({ baseMs: 100, maxMs: 1000 })
  t.ok(b.ready('p', 0))
  const delays: number[] = []
  let now = 0
  for (let i = 0; i < 6; i++) {
    b.failed('p', now)
    let wait = 0
    while (!b.ready('p', now + wait)) wait += 50
    delays.push(wait)
    now += wait
  }
  t.same(delays, [100, 200, 400, 800, 1000, 1000])
  t.equal(b.failures('p'), 6)
  b.succeeded('p')
  t.equal(b.failures('p'), 0)
  t.ok(b.ready('p', now))
  b.defer('p', 500, now)
  t.notOk(b.ready('p', now + 499), 'deferred')
  t.equal(b.failures('p'), 0, 'a deferral is not a failure')
})
