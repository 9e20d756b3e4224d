/**
 * boundSendQueue on its own (test/swarm/send-queue.test.ts has it through a Swarm and deaf peers): a real
 * bittorrent-protocol Wire piped nowhere, so every message it sends stays queued; limits in bytes (the
 * Wire's and the link's write path together) and in messages, one overflow only, and the shared budget.
 */
import t from 'tap'
import Wire from 'bittorrent-protocol'
import { boundSendQueue, DEFAULT_MAX_SEND_QUEUE_BYTES, DEFAULT_MAX_SEND_QUEUE_MESSAGES } from '../../src/swarm/send-queue.js'
import { SendBudget } from '../../src/swarm/send-budget.js'
import { SendBudgetExceededError, SendQueueOverflowError } from '../../src/swarm/errors.js'
import type { PeerLink } from '../../src/wire/peer-link.js'
import { assertTyped } from '../helpers/typed-error.js'

const HAVE_BYTES = 9

function link (): { link: Pick<PeerLink, 'wire' | 'queuedBytes' | 'closed'>, wire: Wire, setQueued: (n: number) => void, close: () => void } {
  const wire = new Wire()
  let queued = 0
  let close!: () => void
  const closed = new Promise<Error | undefined>(resolve => { close = () => resolve(undefined) })
  return { link: { wire, queuedBytes: () => queued, closed }, wire, setQueued: n => { queued = n }, close }
}

t.test('defaults', async t => {
  t.equal(DEFAULT_MAX_SEND_QUEUE_BYTES, 32 * 1024 * 1024)
  t.equal(DEFAULT_MAX_SEND_QUEUE_MESSAGES, 100_000)
})

t.test('a wire that is not a streamx Duplex is refused at once', async t => {
  const l = link()
  t.throws(() => boundSendQueue({ ...l.link, wire: {} as unknown as Wire }, {}, () => {}), TypeError)
  t.throws(() => boundSendQueue({ ...l.link, wire: { push () { return true }, _readableState: { buffered: 0 } } as unknown as Wire }, {}, () => {}), TypeError)
})

t.test('messages: overflow once the count passes the limit, and only once', async t => {
  const l = link()
  const errors: Error[] = []
  boundSendQueue(l.link, { maxMessages: 10 }, err => errors.push(err))
  for (let i = 0; i < 10; i++) l.wire.have(i)
  t.equal(errors.length, 0, 'at the limit: fine')
  l.wire.have(10)
  t.equal(errors.length, 1)
  assertTyped(t, errors[0], SendQueueOverflowError, 'ERR_SEND_QUEUE_OVERFLOW', /^the peer does not read: 11 messages and 99 bytes queued for it \(limits 10 and 33554432\)$/)
  for (let i = 11; i < 30; i++) l.wire.have(i)
  t.equal(errors.length, 1, 'not again')
})

t.test('bytes: the Wire\'s queue and the link\'s write path count together', async t => {
  const a = link()
  const errors: Error[] = []
  boundSendQueue(a.link, { maxBytes: 10 * HAVE_BYTES }, err => errors.push(err))
  for (let i = 0; i < 10; i++) a.wire.have(i)
  t.equal(errors.length, 0, `${10 * HAVE_BYTES} bytes: at the limit`)
  a.wire.have(10)
  assertTyped(t, errors[0], SendQueueOverflowError, 'ERR_SEND_QUEUE_OVERFLOW', /11 messages and 99 bytes/)

  const b = link()
  const more: Error[] = []
  boundSendQueue(b.link, { maxBytes: 100 }, err => more.push(err))
  b.wire.have(0)
  b.setQueued(95) // the socket's write buffer is full
  t.equal(more.length, 0, 'checked on push, not on a timer')
  b.wire.have(1)
  assertTyped(t, more[0], SendQueueOverflowError, 'ERR_SEND_QUEUE_OVERFLOW', /2 messages and 113 bytes/)
})

t.test('the end of the stream (push null) is not a message', async t => {
  const l = link()
  const errors: Error[] = []
  boundSendQueue(l.link, { maxMessages: 1 }, err => errors.push(err))
  l.wire.have(0)
  l.wire.push(null)
  t.equal(errors.length, 0)
})

t.test('the shared budget: a link over its share is evicted with SendBudgetExceededError; a closed link leaves', async t => {
  const budget = new SendBudget({ maxBytes: 20 * HAVE_BYTES })
  const [a, b] = [link(), link()]
  const errors: Array<[string, Error]> = []
  boundSendQueue(a.link, {}, err => errors.push(['a', err]), budget)
  boundSendQueue(b.link, {}, err => errors.push(['b', err]), budget)
  t.equal(budget.links, 2)
  for (let i = 0; i < 5; i++) b.wire.have(i)
  for (let i = 0; i < 15; i++) a.wire.have(i)
  t.same(errors, [], `${20 * HAVE_BYTES} bytes in all: within the budget`)
  a.wire.have(15)
  t.same(errors.map(e => e[0]), ['a'], 'the link over its share goes, the other stays')
  assertTyped(t, errors[0]![1], SendBudgetExceededError, 'ERR_SEND_BUDGET_EXCEEDED')
  t.equal(budget.links, 1)
  a.wire.have(16)
  t.equal(errors.length, 1, 'an evicted link is not reported again, by its own bound either')

  b.close()
  await new Promise(resolve => setImmediate(resolve))
  t.equal(budget.links, 0, 'a link leaves the budget when it closes')

  // A link tripped by its own bound leaves the budget at once.
  const c = link()
  boundSendQueue(c.link, { maxMessages: 1 }, () => {}, budget)
  t.equal(budget.links, 1)
  c.wire.have(0)
  c.wire.have(1)
  t.equal(budget.links, 0)
})
