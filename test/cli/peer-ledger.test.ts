/**
 * The ledger behind `get`'s last line: what became of each peer tried, counted by outcome, with the last
 * error on one line. The session and swarm are stand-ins that emit the events the ledger listens to.
 */
import t from 'tap'
import { EventEmitter } from 'node:events'
import { PeerLedger } from '../../src/cli/peer-ledger.js'
import { PeerTimeoutError, BadPeerError } from '../../src/swarm/errors.js'
import { TlsHandshakeError } from '../../src/errors.js'
import type { Session } from '../../src/session/session.js'
import type { Swarm } from '../../src/swarm/swarm.js'

function setup (): { ledger: PeerLedger, session: EventEmitter, swarm: EventEmitter } {
  const session = new EventEmitter()
  const swarm = new EventEmitter()
  return { ledger: new PeerLedger(session as unknown as Session, swarm as unknown as Swarm), session, swarm }
}

function link (address: string, port: number): { remoteAddress: string, remotePort: number, closed: Promise<Error | undefined>, close: (err?: Error) => void } {
  let close!: (err?: Error) => void
  const closed = new Promise<Error | undefined>(resolve => { close = resolve })
  return { remoteAddress: address, remotePort: port, closed, close }
}

const tick = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

t.test('nothing tried', async t => {
  t.equal(setup().ledger.summary(0), 'no peer was found')
})

t.test('a failed dial is unreachable, with its reason on one line', async t => {
  const { ledger, session } = setup()
  const error = Object.assign(new Error('all failed'), {
    attempts: [{ transport: 'tls', error: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }]
  })
  session.emit('dial-failed', { host: '127.0.0.1', port: 1, error })
  t.equal(ledger.summary(0), '0 connected, 1 peer tried (1 unreachable); last error: connection refused')
})

t.test('links: connected, then closed, timed out or banned by how they ended', async t => {
  const { ledger, session, swarm } = setup()
  const [a, b, c, d] = [link('127.0.0.1', 1), link('127.0.0.2', 2), link('::1', 3), link('127.0.0.4', 4)]
  for (const l of [a, b, c, d]) session.emit('link', l)
  t.equal(ledger.summary(4), '4 connected, 4 peers tried', 'connected peers are not listed as outcomes')
  a.close()
  await tick()
  b.close(new PeerTimeoutError('no message\nfor 120 s'))
  await tick()
  t.equal(ledger.summary(2), '2 connected, 4 peers tried (1 closed, 1 timed out); last error: PeerTimeoutError: no message for 120 s')
  c.close(new BadPeerError('sent a bad piece'))
  await tick()
  // Banned by the swarm, then its link closes with a plain error: it stays banned.
  swarm.emit('peer-banned', { address: '127.0.0.4', port: 4 }, new BadPeerError('3 hash failures'))
  d.close(new TlsHandshakeError('closed'))
  await tick()
  t.equal(ledger.summary(0), '0 connected, 4 peers tried (1 closed, 1 timed out, 2 banned); last error: BadPeerError: 3 hash failures')
})

t.test('one endpoint counts once: its latest outcome', async t => {
  const { ledger, session } = setup()
  const error = Object.assign(new Error('x'), { attempts: [{ transport: 'tls', error: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) }] })
  session.emit('dial-failed', { host: '127.0.0.1', port: 5, error })
  const l = link('127.0.0.1', 5)
  session.emit('link', l)
  t.equal(ledger.summary(1), '1 connected, 1 peer tried', 'the dial failure is replaced, its error with it')
})

t.test('bounded: the oldest endpoints are forgotten past 4096', async t => {
  const { ledger, session } = setup()
  const error = new Error('unreachable')
  for (let i = 0; i < 5000; i++) session.emit('dial-failed', { host: '10.0.0.1', port: i, error })
  t.equal(ledger.summary(0), '0 connected, 4096 peers tried (4096 unreachable); last error: unreachable')
})
