/**
 * The pure parts of `npm run hostile` (bench/hostile): reading /proc/<pid>/status and stat, a live
 * process watched through /proc, and the report's tables and quoted "before" figures.
 */
import t from 'tap'
import { parseStatCpuTicks, parseStatus, ProcessWatch, sampleProcess } from '../../bench/hostile/proc-stats.js'
import { BEFORE, CASES, markdown, rowsTable, type HostileRun } from '../../bench/hostile/report.js'
import { QUICK } from '../../bench/hostile/cases.js'

t.test('parseStatus: VmRSS and VmHWM in bytes; a status without them is an error', async t => {
  const status = 'Name:\tnode\nVmPeak:\t 1234 kB\nVmHWM:\t   40552 kB\nVmRSS:\t   30000 kB\nThreads:\t11\n'
  t.same(parseStatus(status), { rssBytes: 30000 * 1024, peakRssBytes: 40552 * 1024 })
  t.throws(() => parseStatus('Name:\tkthreadd\nThreads:\t1\n'), /no VmRSS/, 'kernel threads have no VmRSS')
})

t.test('parseStatCpuTicks: utime + stime, counted from the last ")" whatever the command name holds', async t => {
  const rest = 'S 1 2 3 0 -1 4194304 99 0 0 0 70 30 0 0 20 0 1 0 1343719 3133440 386'
  t.equal(parseStatCpuTicks(`4242 (node) ${rest}`), 100)
  t.equal(parseStatCpuTicks(`4242 (a) b (c) d) ${rest}`), 100, 'a name with spaces and parentheses')
  t.throws(() => parseStatCpuTicks('garbage'), /not a \/proc/)
  t.throws(() => parseStatCpuTicks('1 (x) S 1 2'), /no utime/)
})

t.test('a live process through /proc: this one', async t => {
  const s = sampleProcess(process.pid)
  t.ok(s !== undefined && s.rssBytes > 0 && s.peakRssBytes >= s.rssBytes && s.fds >= 3 && s.cpuSeconds > 0)
  t.equal(sampleProcess(2 ** 22 + 1), undefined, 'no such process: undefined, not a throw')
  const watch = new ProcessWatch(process.pid, 10)
  const started = process.cpuUsage()
  const hold = Buffer.alloc(32 * 2 ** 20, 1)
  while (process.cpuUsage(started).user < 50_000) hold[0] = (hold[0]! + 1) % 256
  const w = watch.stop()
  t.ok(w.cpuSeconds > 0, `CPU counted (${w.cpuSeconds} s)`)
  t.ok(w.rssPeakMiB >= w.rssStartMiB, 'the peak is at least the start')
  if (w.peakSinceStart) t.ok(w.rssPeakMiB - w.rssStartMiB >= 16, `32 MiB touched shows in the peak (${w.rssStartMiB.toFixed(0)} -> ${w.rssPeakMiB.toFixed(0)} MiB)`)
  t.ok(w.fdsMax >= w.fdsStart && w.fdsMax >= w.fdsEnd)
})

t.test('report: one table per case with its quoted before figures; a failed case says why', async t => {
  const table = rowsTable([{ what: 'seeder | under attack', rssStartMiB: 70.4, rssPeakMiB: 169.2, fdsMax: 24, cpuSeconds: 8.844, honestSeconds: 2.04, outcome: 'closed: 1 × SendQueueOverflowError' }, { what: 'no figures', outcome: 'x' }])
  t.equal(table, [
    '| process / phase | RSS start MiB | RSS peak MiB | FDs max | CPU s | honest peer s | outcome |',
    '| :-- | --: | --: | --: | --: | --: | :-- |',
    '| seeder \\| under attack | 70 | 169 | 24 | 8.84 | 2.04 | closed: 1 × SendQueueOverflowError |',
    '| no figures | – | – | – | – | – | x |'
  ].join('\n'))
  const run: HostileRun = {
    date: '2026-12-04T13:00:00.000Z',
    quick: true,
    command: 'npm run hostile -- --quick',
    machine: { cpus: 2, cpuModel: 'CPU', node: 'v20', openssl: '3', kernel: 'Linux', loadAverageAtStart: 1 },
    sizes: QUICK,
    seconds: 60,
    cases: { 'insider-flood': { value: { rows: [{ what: 'seeder', outcome: 'ok' }], details: {} }, seconds: 30 }, 'pex-reflection': { error: 'attacker exited', seconds: 1 } }
  }
  const md = markdown(run)
  t.match(md, /^# Hostile peers and trackers \(issue 18\), 2026-12-04 \(--quick/)
  t.match(md, /## 1\. Insiders that never read\n\nBefore \(issue 18\): “1M interested\/not-interested pairs/)
  t.match(md, /## 3\. PEX reflection\n\nBefore \(issue 18\): “one 730-byte ut_pex message[^\n]*\n\n\*\*Not measured:\*\* attacker exited/)
  t.notMatch(md, /## 2\./, 'a case not run is left out')
  for (const c of CASES) t.ok(BEFORE[c].length > 0, `${c} quotes the issue`)
})
