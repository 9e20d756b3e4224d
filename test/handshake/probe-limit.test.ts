/**
 * The responder's limit on failed proofs per source address (src/handshake/probe-limit.ts): past the
 * limit a right proof gets the web site too, so one address cannot test a list of candidate infohashes.
 * Real TLS over loopback, each prober on its own 127.0.0.x address; the clock is injected.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { basicLevel } from '../../src/levels/basic.js'
import { secureOutbound } from '../../src/handshake/secure-outbound.js'
import { TlsResponder, type InboundOutcome } from '../../src/handshake/secure-inbound.js'
import { addressGroup, DEFAULT_PROBE_LIMITS, ProbeLimit } from '../../src/handshake/probe-limit.js'
import { BttlsError, DecoyAnswerError, ProbeLimitError } from '../../src/errors.js'
import { siteDecoy } from '../../src/wire/decoy-site.js'
import { tcpPair } from '../helpers/tcp.js'

const served = randomBytes(20)
const candidates = [{ level: basicLevel([served]), swarm: 'served' }]

t.test('addressGroup: IPv4 as itself (also IPv4-mapped), IPv6 by its /64', async t => {
  t.equal(addressGroup('192.0.2.7'), '192.0.2.7')
  t.equal(addressGroup('::ffff:192.0.2.7'), '192.0.2.7')
  t.equal(addressGroup('::FFFF:192.0.2.7'), '192.0.2.7')
  t.equal(addressGroup('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64')
  t.equal(addressGroup('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64', 'one host\'s /64 is one group')
  t.equal(addressGroup('2001:0db8:0001:0002::9'), '2001:db8:1:2::/64', 'leading zeros do not make another group')
  t.equal(addressGroup('2001:db8::1'), '2001:db8:0:0::/64')
  t.equal(addressGroup('::1'), '0:0:0:0::/64')
  t.equal(addressGroup('fe80::1%eth0'), 'fe80:0:0:0::/64')
  t.not(addressGroup('2001:db8:1:3::1'), addressGroup('2001:db8:1:2::1'), 'the next /64 is another group')
})

t.test('the window: failures are forgotten after windowMs; memory is bounded, stalest first', async t => {
  let now = 1_000_000
  const limit = new ProbeLimit({ failures: 2, windowMs: 1000, maxAddresses: 3 }, () => now)
  limit.failed('10.0.0.1')
  t.notOk(limit.limited('10.0.0.1'), 'one failure of two allowed')
  limit.failed('10.0.0.1')
  t.ok(limit.limited('10.0.0.1'), 'limited at the second')
  t.notOk(limit.limited('10.0.0.2'), 'other addresses are not')
  now += 999
  t.ok(limit.limited('10.0.0.1'), 'still within the window')
  now += 1
  t.notOk(limit.limited('10.0.0.1'), 'forgotten when the window ends')
  t.equal(limit.size, 0)
  for (const a of ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']) limit.failed(a)
  t.equal(limit.size, 3, 'at most maxAddresses remembered')
  limit.failed('10.0.0.4')
  t.ok(limit.limited('10.0.0.4'))
  limit.failed('10.0.0.1')
  t.notOk(limit.limited('10.0.0.1'), 'the stalest entry (10.0.0.1) was dropped, so it starts again')
  t.ok(DEFAULT_PROBE_LIMITS.failures > 1 && DEFAULT_PROBE_LIMITS.windowMs > 0)
})

async function visit (responder: TlsResponder, from: string, infoHash: Buffer): Promise<{ outcome: InboundOutcome<string>, initiator: Error | undefined }> {
  const decoy = siteDecoy()
  try {
    const { client, server } = await tcpPair(from)
    let initiator: Error | undefined
    const [outcome] = await Promise.all([
      responder.accept(server, () => candidates).then(o => { if (o.kind === 'decoy') decoy.take(o.socket, o.received); return o }),
      secureOutbound(client, basicLevel([infoHash])).then(c => { c.socket.destroy() }, (err: Error) => { initiator = err })
    ])
    if (outcome.kind === 'peer') outcome.channel.socket.destroy()
    return { outcome, initiator }
  } finally {
    await decoy.close()
  }
}

t.test('past the limit a right proof gets the web site as a wrong one does; other addresses and a later window are unaffected', async t => {
  let now = 5_000_000
  const responder = await TlsResponder.create({ probeLimit: new ProbeLimit({ failures: 3, windowMs: 60_000, maxAddresses: 16 }, () => now) })
  t.teardown(() => responder.close())

  const right = await visit(responder, '127.0.0.2', served)
  t.equal(right.outcome.kind, 'peer', 'before any failure a right proof makes a peer')

  for (let i = 0; i < 3; i++) {
    const wrong = await visit(responder, '127.0.0.2', randomBytes(20))
    t.equal(wrong.outcome.kind, 'decoy', `wrong guess ${i + 1}: a web visit`)
    t.type(wrong.initiator, DecoyAnswerError)
  }

  const limited = await visit(responder, '127.0.0.2', served)
  t.equal(limited.outcome.kind, 'decoy', 'the right guess after the limit is a web visit too')
  if (limited.outcome.kind === 'decoy') {
    t.type(limited.outcome.reason, ProbeLimitError)
    t.type(limited.outcome.reason, BttlsError)
    t.equal(limited.outcome.reason.name, 'ProbeLimitError')
    t.equal(limited.outcome.reason.code, 'ERR_PROBE_LIMIT')
  }
  t.type(limited.initiator, DecoyAnswerError, 'the prober gets the same web answer as for a wrong guess')

  t.equal((await visit(responder, '127.0.0.3', served)).outcome.kind, 'peer', 'another address is not limited')
  now += 60_000
  t.equal((await visit(responder, '127.0.0.2', served)).outcome.kind, 'peer', 'the next window starts again')
})

t.test('a web visit (an HTTP request inside TLS) counts as a failure too', async t => {
  const responder = await TlsResponder.create({ probeLimit: new ProbeLimit({ failures: 1, windowMs: 60_000, maxAddresses: 16 }) })
  t.teardown(() => responder.close())
  const tls = await import('node:tls')
  const decoy = siteDecoy()
  t.teardown(() => decoy.close())
  const { client, server } = await tcpPair('127.0.0.4')
  const browser = tls.connect({ socket: client, rejectUnauthorized: false })
  browser.on('error', () => {})
  browser.once('secureConnect', () => browser.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
  const outcome = await responder.accept(server, () => candidates)
  t.equal(outcome.kind, 'decoy')
  if (outcome.kind === 'decoy') decoy.take(outcome.socket, outcome.received)
  const answer = await new Promise<string>(resolve => {
    let s = ''
    browser.on('data', (d: Buffer) => { s += d.toString(); if (s.includes('\r\n\r\n')) resolve(s) })
    browser.once('close', () => resolve(s))
  })
  t.match(answer, /^HTTP\/1\.1 200/, 'the visitor got the site')
  browser.destroy()
  const after = await visit(responder, '127.0.0.4', served)
  t.equal(after.outcome.kind, 'decoy', 'the address is limited after its one allowed failure')
  t.type(after.initiator, DecoyAnswerError)
})
