/**
 * Each level states its own policy (transports, announcing, the keys a weaker initiator would use),
 * which the wire, the session and the handshake read instead of comparing level names.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { basicLevel, basicSwarmKey } from '../../src/levels/basic.js'
import { strictLevel } from '../../src/levels/strict.js'
import { fullStrictLevel } from '../../src/levels/full-strict/full-strict.js'
import { createSwarmCa } from '../../src/pki/certificate-profile.js'
import { staticCertificateSource } from '../../src/levels/full-strict/certificate-source.js'
import type { SwarmLevel } from '../../src/levels/level.js'
import { acceptsInbound, dialOrder, POLICIES } from '../../src/wire/policy.js'
import { announceTarget } from '../../src/session/discovery.js'

const v2 = randomBytes(32)
const v1 = randomBytes(20)

async function levels (): Promise<SwarmLevel[]> {
  const ca = await createSwarmCa('policy test')
  return [
    basicLevel([v2, v1]),
    strictLevel([v2, v1], { mode: 'secret' }, { secret: randomBytes(32) }),
    fullStrictLevel([v2, v1], { name: 'x', infoHashV1: v1, infoHashV2: v2, caCertPem: ca.certPem }, staticCertificateSource(undefined))
  ]
}

t.test('only Basic runs over MSE or plaintext; every policy dials and accepts TLS', async t => {
  const [basic, strict, fullStrict] = await levels()
  t.equal(basic!.legacyTransports, true)
  for (const level of [strict!, fullStrict!]) {
    t.equal(level.legacyTransports, false, level.name)
    for (const policy of POLICIES) {
      t.same(dialOrder(policy, level, undefined), ['tls'], `${level.name} ${policy}: TLS only`)
      t.notOk(acceptsInbound(policy, level, 'mse'), `${level.name} ${policy}: no MSE inbound`)
      t.notOk(acceptsInbound(policy, level, 'plain'), `${level.name} ${policy}: no plaintext inbound`)
      t.ok(acceptsInbound(policy, level, 'tls'))
    }
  }
  t.same(dialOrder('prefer-tls', basic!, undefined), ['tls', 'mse', 'plain'])
  t.same(dialOrder('require-tls', basic!, undefined), ['tls'])
  t.ok(acceptsInbound('prefer-tls', basic!, 'plain'))
  t.notOk(acceptsInbound('require-tls', basic!, 'mse'))
})

t.test('announce modes: Basic is public, Strict under its rendezvous, Full Strict its secure tracker only', async t => {
  const [basic, strict, fullStrict] = await levels()
  t.same([basic!.announce, strict!.announce, fullStrict!.announce], ['public', 'rendezvous', 'secure-tracker'])
  t.same(announceTarget(basic!, false, 'dht'), { hash: v1 })
  const s = announceTarget(strict!, false, 'tracker')
  t.ok('hash' in s && s.hash.length === 20 && !s.hash.equals(v1), 'Strict: a 20-byte hash that is not the infohash')
  t.match(announceTarget(fullStrict!, false, 'dht'), { withheld: /never announced to the DHT/ })
})

t.test('the weaker keys of a stricter level are the Basic keys of its infohashes; Basic has none', async t => {
  const [basic, strict, fullStrict] = await levels()
  t.same(basic!.weakerKeys, [])
  t.equal(basic!.credential, undefined, 'Basic needs nothing besides the infohash')
  for (const level of [strict!, fullStrict!]) {
    t.same(level.weakerKeys.map(k => Buffer.from(k.key)), [basicSwarmKey(v2).key, basicSwarmKey(v1).key].map(k => Buffer.from(k)), level.name)
    t.notSame(Buffer.from(level.swarmKeys[0]!.key), Buffer.from(level.weakerKeys[0]!.key), `${level.name}: its own key is another`)
    t.type(level.credential, 'string')
  }
})

t.test('authPayload carries exactly what authFlags announce', async t => {
  const [basic, strict] = await levels()
  t.equal(basic!.authFlags(), 0)
  t.same(basic!.authPayload('initiator', Buffer.alloc(4), Buffer.alloc(32)), {})
  t.equal(strict!.authFlags(), 0, 'secret mode adds nothing')
  t.same(strict!.authPayload('responder', Buffer.alloc(4), Buffer.alloc(32)), {})
})
