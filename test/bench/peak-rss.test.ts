/**
 * bench/peak-rss.ts: a spawned peer's peak RSS is its own. getrusage's maxrss is not, on Linux: a child
 * starts as a fork of its parent and keeps that copy's size as its maxrss across exec, which made every
 * swarm peer spawned by a large bench process look large (the swarm's TLS mode, +130 MiB a process).
 * The peer module runs from the build, as the bench's peers do (helpers/cli.ts).
 */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { buildCli, CLI_MAIN } from '../helpers/cli.js'

const MIB = 2 ** 20
const PEAK_RSS = pathToFileURL(join(dirname(CLI_MAIN), '..', '..', 'bench', 'peak-rss.js')).href

t.before(buildCli)

t.test('a child of a large parent: its own peak, not the parent\'s size', { skip: process.platform === 'linux' ? false : 'VmHWM is Linux\'s' }, async t => {
  const held = Buffer.alloc(256 * MIB, 1) // resident in this process while the child is spawned
  const out = execFileSync(process.execPath, ['--input-type=module', '-e',
    `const { ownPeakRssBytes } = await import(${JSON.stringify(PEAK_RSS)}); console.log(JSON.stringify({ own: ownPeakRssBytes(), maxRss: process.resourceUsage().maxRSS * 1024 }))`
  ], { encoding: 'utf8' })
  const { own, maxRss } = JSON.parse(out) as { own: number, maxRss: number }
  t.equal(held.length, 256 * MIB, 'the parent held its 256 MiB while the child ran')
  t.ok(maxRss >= 256 * MIB, `getrusage's maxrss counts the parent's ${Math.round(maxRss / MIB)} MiB (why it is not used)`)
  t.ok(own < 160 * MIB, `the child's own peak is ${Math.round(own / MIB)} MiB`)
  t.ok(own > 10 * MIB, 'and a real figure')
})
