/**
 * bench/swarm-scale at its smallest (1 seeder, 2 leechers, 1 MiB), to keep the section working: each
 * mode's swarm completes over its own transport with peers found by the tracker, its figures and
 * charts come out, and a swarm that cannot finish in time fails with how far each peer got and leaves
 * no process behind. The peers run from a build of the sources (helpers/cli.ts), as `npm run bench` does.
 */
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { BenchRun } from '../../bench/analysis.js'
import { analyse } from '../../bench/analysis.js'
import { charts } from '../../bench/charts.js'
import { machine } from '../../bench/machine.js'
import { markdown } from '../../bench/report.js'
import { NOT_RUN } from '../../bench/sections.js'
import { runSwarmScale, SWARM_MODES } from '../../bench/swarm-scale.js'
import { buildCli, CLI_MAIN } from '../helpers/cli.js'

const PEER_SCRIPT = join(dirname(CLI_MAIN), '..', '..', 'bench', 'swarm-peer.js')

/** Processes running this test's build of the peer script. */
function peerProcesses (): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try { if (readFileSync(`/proc/${entry}/cmdline`, 'latin1').includes(PEER_SCRIPT)) pids.push(Number(entry)) } catch { /* gone meanwhile */ }
  }
  return pids
}

t.before(buildCli)

/** Two leechers: the fewest that make a swarm (a leecher can fetch from another, not only the seeder). */
const LEECHERS = 2

t.test('1 seeder and 2 leechers per mode: every leecher completes over the mode\'s transport, peers found by the tracker', async t => {
  const result = await runSwarmScale({ leechers: LEECHERS, sizeMiB: 1, modes: SWARM_MODES, timeoutSeconds: 60, peerScript: PEER_SCRIPT })
  t.same(result.modes.map(m => m.mode), ['tls', 'plain', 'mse'])
  for (const m of result.modes) {
    t.equal(m.completionSeconds.length, LEECHERS, `${m.mode}: a completion per leecher`)
    t.ok(m.secondsToAllComplete >= m.completionSeconds[LEECHERS - 1]!, `${m.mode}: the clock stops at the last one`)
    t.same(Object.keys(m.links), [m.mode], `${m.mode}: every link over ${m.mode}`)
    t.ok(m.links[m.mode]! >= 2 * LEECHERS, `${m.mode}: each leecher linked to the seeder at least (${m.links[m.mode]} link ends)`)
    t.ok(m.trackerPeersListed > 0 && m.trackerFailures === 0, `${m.mode}: the tracker listed peers (${m.trackerPeersListed})`)
    t.ok(m.cpu.totalSeconds > 0 && m.cpu.lifetimeTotalSeconds > m.cpu.totalSeconds, `${m.mode}: CPU counted`)
    t.ok(m.peakRss.sumBytes > (LEECHERS + 1) * 10 * 2 ** 20 && m.peakRss.maxBytes < m.peakRss.sumBytes, `${m.mode}: peak RSS of every peer's Node process, summed`)
    t.ok(m.seederShare > 0 && m.seederShare <= 1.05, `${m.mode}: the seeder uploaded ${(m.seederShare * 100).toFixed(0)} % of what was delivered`)
  }
  t.match(result.modes[0]!.ciphers, [/^TLS_/], 'TLS: the negotiated suite is recorded')

  const notRun = { error: NOT_RUN, seconds: 0 }
  const run = {
    date: '2026-12-04T00:00:00.000Z',
    quick: true,
    command: 'npm run bench -- --only swarm-scale',
    machine: machine(),
    seconds: 1,
    sections: { limits: notRun, throughput: notRun, libtorrent: notRun, handshakes: notRun, latency: notRun, scale: notRun, 'swarm-scale': { value: result, seconds: 1 } }
  } satisfies BenchRun
  const analysis = analyse(run)
  t.match(analysis.targets.find(x => x.name.startsWith('Swarm'))!, { goal: '≤ 1.10×', verdict: /PASS|MISS/ })
  const svg = charts(run, analysis)
  for (const m of result.modes) t.match(svg.swarm, m.label, `the completion chart has a line for ${m.mode}`)
  t.match(svg.swarmCost, /until every leecher is complete/)
  const md = markdown(run, analysis, { swarm: 'a-swarm.svg', swarmCost: 'a-swarm-cost.svg' })
  t.match(md, /## Swarm at scale[^]*\| Basic TLS \(default suite\) \(TLS_[A-Z0-9_]+\) \| [\d.]+ \| [\d.]+× \|/)
  t.match(md, /!\[swarm completions over time\]\(a-swarm\.svg\)/)
  t.notMatch(md, /throughput\]\(/, 'no chart of a section that did not run')
  t.match(md, /- limits: not run\n/, 'a section left out is "not run", not "failed"')
})

t.test('a swarm that cannot finish in time fails with each peer\'s progress, and leaves no peer process running', async t => {
  const modes = SWARM_MODES.filter(m => m.name === 'plain')
  // One leecher is enough to fail: the seeder's progress and the leecher's are in the message.
  await t.rejects(runSwarmScale({ leechers: 1, sizeMiB: 1, modes, timeoutSeconds: 0.001, peerScript: PEER_SCRIPT }),
    /plain: [01] of 1 leechers complete after [\d.]+ s: .*pieces: 127\.0\.0\.2 64\/64, 127\.0\.0\.3 \d+\/64/)
  t.same(peerProcesses(), [], 'every peer process ended')
})

t.test('options out of range fail before any process starts', async t => {
  await t.rejects(runSwarmScale({ leechers: 0, sizeMiB: 1, modes: SWARM_MODES, timeoutSeconds: 1, peerScript: PEER_SCRIPT }), RangeError)
  await t.rejects(runSwarmScale({ leechers: 253, sizeMiB: 1, modes: SWARM_MODES, timeoutSeconds: 1, peerScript: PEER_SCRIPT }), /at most 252 leechers/)
  await t.rejects(runSwarmScale({ leechers: 3, sizeMiB: 0.5, modes: SWARM_MODES, timeoutSeconds: 1, peerScript: PEER_SCRIPT }), /size must be a positive integer/)
})
