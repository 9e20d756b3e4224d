import t from 'tap'
import { measureSearch } from '../../bench/swarm-search.js'
import { SEARCH_SLICE_KEYS } from '../../src/handshake/swarm-search.js'

t.test('the search bench measures a matching and a failed AuthHello and the stall, over more than one slice', async t => {
  const row = await measureSearch(SEARCH_SLICE_KEYS + 1, 2)
  t.equal(row.served, SEARCH_SLICE_KEYS + 1)
  t.ok(row.matchMicros > 0 && row.noneMicros > 0, `times ${row.matchMicros} / ${row.noneMicros} µs`)
  t.ok(row.stallMedianMs > 0 && row.stallMaxMs >= row.stallMedianMs, `stall ${row.stallMedianMs} / ${row.stallMaxMs} ms`)
  t.ok(row.gcMaxMs >= 0)
})
