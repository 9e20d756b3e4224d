/**
 * One budget for what the whole process queues for peers that do not read (issue 18: a per-link bound
 * alone lets many links add up). The budget's arithmetic with plain members; then several deaf links
 * at once on two swarms sharing one budget, over real loopback sockets, each under its own per-link
 * bound: the links over their share are closed with SendBudgetExceededError, an honest peer downloads.
 */
import t from 'tap'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { Swarm } from '../../src/swarm/swarm.js'
import { SendBudget } from '../../src/swarm/send-budget.js'
import { SendBudgetExceededError } from '../../src/swarm/errors.js'
import { MemoryStore, makeTorrent } from '../helpers/memory-store.js'
import { connect, deafPeer, INTERESTED_PAIR } from '../helpers/link-pair.js'

t.test('the budget: over-share members are evicted, largest first, until the total fits', async t => {
  const budget = new SendBudget({ maxBytes: 1000 })
  const held = [0, 0, 0, 0]
  const evicted: number[] = []
  const members = held.map((_, i) => budget.join({
    queued: () => held[i]!,
    evict: err => {
      t.ok(err instanceof SendBudgetExceededError)
      t.equal(err.code, 'ERR_SEND_BUDGET_EXCEEDED')
      evicted.push(i)
    }
  }))
  t.equal(budget.links, 4)
  held[0] = 100; members[0]!.report(100)
  held[1] = 500; members[1]!.report(500)
  held[2] = 350; members[2]!.report(350)
  t.same(evicted, [], '950 of 1000')
  // Member 1 drained meanwhile without sending: the bound is stale-high, the real total fits.
  held[1] = 10
  held[3] = 300; members[3]!.report(300)
  t.same(evicted, [], 'a stale figure never evicts: current figures are read first')
  held[1] = 600; members[1]!.report(600)
  t.same(evicted, [1], 'over 1000: the largest over its share (250) goes, and that is enough')
  t.equal(budget.links, 3)
  members[1]!.report(5000)
  t.same(evicted, [1], 'an evicted member counts no more')
  members[2]!.leave()
  members[2]!.leave()
  t.equal(budget.links, 2)
  t.throws(() => new SendBudget({ maxBytes: 0 }), RangeError)
})


t.test('deaf links on two swarms sharing one budget are closed once together they pass it', async t => {
  const budget = new SendBudget({ maxBytes: 2 * 1024 * 1024 })
  const torrents = [makeTorrent(randomBytes(8 * 65536), 65536), makeTorrent(randomBytes(8 * 65536), 65536)]
  // Each link alone may queue 16 MiB: only the shared budget can close them.
  const seeders = torrents.map(tr => new Swarm({ metainfo: tr.metainfo, store: new MemoryStore(tr.metainfo, tr.content) }, {
    sendQueue: { maxBytes: 16 * 1024 * 1024, maxMessages: 10_000_000 }, sendBudget: budget
  }))
  const leechStore = new MemoryStore(torrents[0]!.metainfo)
  const leecher = new Swarm({ metainfo: torrents[0]!.metainfo, store: leechStore })
  t.teardown(async () => { await Promise.all([...seeders, leecher].map(s => s.destroy())) })

  const links = await Promise.all([0, 0, 1, 1].map(i => deafPeer(seeders[i]!, torrents[i]!.metainfo.wireInfoHash)))
  const closed = Promise.all(links.map(l => l.theirs.closed))
  // The socket buffers take the first few MB of replies on each link; past them, replies queue.
  await Promise.all(links.map(async l => {
    let open = true
    void l.theirs.closed.then(() => { open = false })
    for (let i = 0; i < 400 && open; i++) {
      l.raw.socket.write(Buffer.concat(Array.from({ length: 2000 }, () => INTERESTED_PAIR)))
      await new Promise(resolve => setImmediate(resolve))
    }
  }))
  let timer: NodeJS.Timeout | undefined
  const errors = await Promise.race([closed, new Promise<string>(resolve => { timer = setTimeout(() => resolve('still open after 10 s'), 10_000) })])
  clearTimeout(timer)
  for (const l of links) l.raw.close()
  t.ok(Array.isArray(errors), `every deaf link was closed (${String(errors)})`)
  if (Array.isArray(errors)) {
    const names = errors.map(e => e?.name)
    t.ok(names.every(n => n === 'SendBudgetExceededError'), `all by the shared budget: ${names.join(', ')}`)
    t.ok(errors.every(e => e instanceof SendBudgetExceededError))
  }
  t.equal(budget.links, 0, 'closed links left the budget')

  const done = once(leecher, 'complete')
  await connect(leecher, seeders[0]!, torrents[0]!.metainfo.wireInfoHash)
  await done
  t.ok(leechStore.bytes.equals(torrents[0]!.content), 'an honest peer of the same process still downloads')
})
