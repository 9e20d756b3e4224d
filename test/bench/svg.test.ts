/** bench/svg.ts: the report's charts are well-formed SVG that shows every value it was given. */
import t from 'tap'
import { barChart, escapeXml, lineChart, niceTicks } from '../../bench/svg.js'

/** Every tag opened is closed, in order (enough to catch a broken writer without an XML parser). */
function balanced (svg: string): boolean {
  const stack: string[] = []
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m
    if (selfClosing) continue
    if (closing) { if (stack.pop() !== name) return false } else stack.push(name!)
  }
  return stack.length === 0
}

t.test('nice ticks start at 0, step by 1/2/5 x 10^k, and reach the maximum', async t => {
  t.same(niceTicks(170), [0, 50, 100, 150, 200])
  t.same(niceTicks(1), [0, 0.2, 0.4, 0.6, 0.8, 1])
  t.same(niceTicks(0), [0, 1], 'an empty chart still has an axis')
  for (const max of [0.03, 7, 99, 1234, 98765]) {
    const ticks = niceTicks(max)
    t.ok(ticks[ticks.length - 1]! >= max, `${max}: the top tick covers the data`)
    t.ok(ticks.length >= 3 && ticks.length <= 12, `${max}: a readable number of ticks (${ticks.length})`)
  }
})

t.test('bar chart: one bar per value, gaps for missing ones, labels escaped, reference lines drawn', async t => {
  const svg = barChart({
    title: 'Throughput <by mode> & more',
    yLabel: 'MiB/s',
    categories: ['plain', 'mse', 'tls'],
    series: [{ name: 'bttls', values: [170, 69, 134] }, { name: 'libtorrent', values: [120, undefined, 90] }],
    references: [{ label: 'raw TCP', value: 900 }]
  })
  t.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'))
  t.ok(balanced(svg), 'tags balance')
  t.equal(svg.match(/<rect [^>]*><title>/g)?.length, 5, 'five bars: one value was missing')
  t.match(svg, 'Throughput &lt;by mode&gt; &amp; more')
  t.notMatch(svg, '<by mode>')
  t.match(svg, 'stroke-dasharray', 'the reference line is drawn')
  t.match(svg, 'raw TCP (900)')
  t.match(svg, '>170<', 'values are labelled')
  t.equal(barChart({ title: 'x', yLabel: 'y', categories: ['a'], series: [{ name: 's', values: [1] }] }),
    barChart({ title: 'x', yLabel: 'y', categories: ['a'], series: [{ name: 's', values: [1] }] }), 'deterministic')
  // Taller bars for larger values.
  const heights = [...svg.matchAll(/<rect x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)" fill="#0072B2"/g)].map(m => Number(m[1]))
  t.ok(heights[0]! > heights[2]! && heights[2]! > heights[1]!, `bar heights follow the values (${heights.join(', ')})`)
})

t.test('line chart: a polyline per series through every finite point', async t => {
  const svg = lineChart({
    title: 'Latency',
    xLabel: 'RTT (ms)',
    yLabel: 'ms',
    series: [{ name: 'plain', points: [[0, 2], [20, 62], [100, 302]] }, { name: 'tls', points: [[0, 4], [20, NaN], [100, 404]] }]
  })
  t.ok(balanced(svg))
  t.equal(svg.match(/<polyline/g)?.length, 2)
  t.equal(svg.match(/<circle/g)?.length, 5, 'the NaN point is left out')
  t.match(svg, 'RTT (ms)')
})

t.test('escapeXml', async t => {
  t.equal(escapeXml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;')
})
