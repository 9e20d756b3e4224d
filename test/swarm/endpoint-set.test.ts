/** The bounded sets behind bans and the seeds a complete swarm let go of (src/swarm/endpoint-set.ts). */
import t from 'tap'
import { BoundedSet, EndpointSet } from '../../src/swarm/endpoint-set.js'

t.test('a bounded set forgets its oldest entry when full, and a re-added one does not evict', async t => {
  const set = new BoundedSet(2)
  set.add('a')
  set.add('b')
  set.add('b')
  t.equal(set.size, 2)
  set.add('c')
  t.notOk(set.has('a'), 'the oldest went')
  t.ok(set.has('b') && set.has('c'))
  t.equal(set.size, 2)
})

t.test('endpoints: one per valid port, the same for an IPv4 address and its IPv4-mapped form', async t => {
  const set = new EndpointSet(10)
  set.add('127.0.0.9', [0, 6881, 70000, 6882])
  t.equal(set.size, 2, 'ports 0 and 70000 are not endpoints')
  t.ok(set.has('127.0.0.9', 6881))
  t.ok(set.has('::ffff:127.0.0.9', 6882))
  t.notOk(set.has('127.0.0.9', 6883))
  t.notOk(set.has('127.0.0.8', 6881))
})
