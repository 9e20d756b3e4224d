import t from 'tap'
import { keepsNewLink, type LinkEnd } from '../../src/swarm/duplicate-link.js'

const LOW = Buffer.alloc(20, 0x11)
const HIGH = Buffer.alloc(20, 0xee)

function end (id: Buffer, transport: LinkEnd['link']['transport'], direction: LinkEnd['link']['direction']): LinkEnd {
  return { id: id.toString('hex'), link: { transport, direction } }
}

t.test('a TLS link replaces a legacy one to the same peer, and never the other way round', async t => {
  t.equal(keepsNewLink(LOW, end(HIGH, 'mse', 'outbound'), end(HIGH, 'tls', 'inbound')), true, 'TLS after MSE: keep the new')
  t.equal(keepsNewLink(LOW, end(HIGH, 'plain', 'inbound'), end(HIGH, 'tls', 'inbound')), true, 'TLS after plaintext: keep the new')
  t.equal(keepsNewLink(LOW, end(HIGH, 'tls', 'inbound'), end(HIGH, 'mse', 'outbound')), false, 'MSE after TLS: keep the old')
})

t.test('two links in opposite directions: both sides keep the one the lower peer id initiated', async t => {
  // We are LOW: the link we initiated (outbound) is the one to keep, whichever arrived second.
  t.equal(keepsNewLink(LOW, end(HIGH, 'tls', 'inbound'), end(HIGH, 'tls', 'outbound')), true)
  t.equal(keepsNewLink(LOW, end(HIGH, 'tls', 'outbound'), end(HIGH, 'tls', 'inbound')), false)
  // The peer (HIGH) computes the same choice from its side: keep the link LOW initiated, its inbound one.
  t.equal(keepsNewLink(HIGH, end(LOW, 'tls', 'outbound'), end(LOW, 'tls', 'inbound')), true)
  t.equal(keepsNewLink(HIGH, end(LOW, 'tls', 'inbound'), end(LOW, 'tls', 'outbound')), false)
})

t.test('two links in the same direction (the peer under two addresses): the older stays', async t => {
  t.equal(keepsNewLink(LOW, end(HIGH, 'tls', 'outbound'), end(HIGH, 'tls', 'outbound')), false)
  t.equal(keepsNewLink(HIGH, end(LOW, 'plain', 'inbound'), end(LOW, 'plain', 'inbound')), false)
})
