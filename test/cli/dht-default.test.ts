/**
 * The CLI's DHT default (issue 16, item 6): off on loopback-only sessions, the public routers on any
 * other listening address, --dht-bootstrap replaces them, --no-dht wins. Pure: no test joins a DHT.
 */
import t from 'tap'
import { dhtBootstrapFor, PUBLIC_DHT_ROUTERS } from '../../src/cli/dht-default.js'

t.test('the default by listening address, and the flags that override it', async t => {
  t.equal(dhtBootstrapFor({ host: '127.0.0.1', bootstrap: [], off: false }), undefined, 'loopback: no DHT')
  t.same(dhtBootstrapFor({ host: '0.0.0.0', bootstrap: [], off: false }), [...PUBLIC_DHT_ROUTERS], 'all interfaces: the public DHT')
  t.same(dhtBootstrapFor({ host: '203.0.113.7', bootstrap: [], off: false }), [...PUBLIC_DHT_ROUTERS], 'a public address: the public DHT')
  t.same(dhtBootstrapFor({ host: '127.0.0.1', bootstrap: ['127.0.0.9:6881'], off: false }), ['127.0.0.9:6881'], 'loopback with --dht-bootstrap: those nodes')
  t.same(dhtBootstrapFor({ host: '0.0.0.0', bootstrap: ['10.0.0.1:6881'], off: false }), ['10.0.0.1:6881'], '--dht-bootstrap replaces the routers')
  t.equal(dhtBootstrapFor({ host: '0.0.0.0', bootstrap: ['10.0.0.1:6881'], off: true }), undefined, '--no-dht wins')
  t.ok(PUBLIC_DHT_ROUTERS.every(r => /^[a-z0-9.-]+:\d+$/.test(r)))
})
