/** One endpoint, one key: the dedupe maps, bans, PEX lists and the capability memory agree. */
import t from 'tap'
import { endpointKey, isLoopback, plainAddress } from '../../src/codec/endpoint.js'
import { endpointKey as banKey } from '../../src/swarm/ban-list.js'

t.test('an IPv4-mapped IPv6 address is its IPv4 address, in any case', async t => {
  t.equal(plainAddress('::ffff:127.0.0.1'), '127.0.0.1')
  t.equal(plainAddress('::FFFF:10.1.2.3'), '10.1.2.3')
  t.equal(plainAddress('10.1.2.3'), '10.1.2.3')
  t.equal(plainAddress('::ffff:7f00:1'), '::ffff:7f00:1', 'hex form: not a dotted quad, left as it is')
  t.equal(plainAddress('2001:db8::ffff:1.2.3.4'), '2001:db8::ffff:1.2.3.4', 'only the ::ffff: prefix')
  t.equal(plainAddress('::ffff:example.org'), '::ffff:example.org')
})

t.test('endpoint keys: mapped and plain IPv4, upper and lower case IPv6 are one key per port', async t => {
  t.equal(endpointKey('::ffff:1.2.3.4', 6881), endpointKey('1.2.3.4', 6881))
  t.equal(endpointKey('2001:DB8::1', 6881), endpointKey('2001:db8::1', 6881))
  t.not(endpointKey('1.2.3.4', 6881), endpointKey('1.2.3.4', 6882))
  t.equal(banKey, endpointKey, 'the swarm\'s ban list uses the same key')
})

t.test('loopback addresses', async t => {
  for (const h of ['127.0.0.1', '127.0.0.5', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) t.ok(isLoopback(h), h)
  for (const h of ['0.0.0.0', '::', '192.168.1.2', '10.0.0.1', '203.0.113.7', '2001:db8::1', 'example.org', '128.0.0.1']) t.notOk(isLoopback(h), h)
})
