/**
 * `--max-upload-rate` / `--max-download-rate` (issue 12): a limited transfer between two `bttls`
 * peers (a seeder process, a get in process) over loopback TLS takes at least size/rate (less the
 * bucket's burst); bad values are usage errors. Only lower bounds on time: a loaded machine is
 * slower, never faster.
 */
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { buildCli, inBackground, runInProcess, type CliResult } from '../helpers/cli.js'
import { fileSha256, randomFile, tempDir } from '../helpers/session-pair.js'

// Two CLI processes and a compile: slow on a loaded two-core machine.
t.setTimeout(300_000)
t.before(async () => { await buildCli() })

/** Half a MiB: at 256 KiB/s at least 1.75 s, where an unlimited transfer takes a small fraction of that. */
const SIZE = 2 ** 19
const RATE = 256 * 1024
/** What a full bucket lets through at once (rate-limiter.ts: a quarter second of rate). */
const BURST = RATE / 4

function usageError (t: Test, r: CliResult, message: RegExp, what: string): void {
  t.equal(r.code, 2, `${what}: exit 2 (${r.stderr})`)
  const lines = r.stderr.trim().split('\n').filter(l => l.startsWith('bttls: '))
  t.equal(lines.length, 1, `${what}: one line`)
  t.match(lines[0], new RegExp(`^bttls: ${message.source}`), what)
}

t.test('a limited transfer over loopback TLS takes at least size/rate', async t => {
  const dir = await tempDir(t)
  const sum = await randomFile(join(dir, 'seed'), 'data.bin', SIZE)
  const torrent = join(dir, 'data.torrent')
  t.equal((await runInProcess(['create', join(dir, 'seed', 'data.bin'), '-o', torrent, '--v1'])).code, 0)
  const limitedSeed = await inBackground(t, ['seed', torrent, '--data', join(dir, 'seed'), '--max-upload-rate', '256K'])
  const freeSeed = await inBackground(t, ['seed', torrent, '--data', join(dir, 'seed')])
  const floor = (SIZE - BURST) / RATE

  const cases = [
    { name: 'the seeder limits its upload (--max-upload-rate 256K)', port: limitedSeed.port, args: [] },
    { name: 'the downloader limits its download (--max-download-rate 256K)', port: freeSeed.port, args: ['--max-download-rate', '256K'] }
  ]
  // One after the other: each limit alone decides the time.
  for (const c of cases) {
    await t.test(c.name, async t => {
      const out = join(dir, `out-${c.port}`)
      const started = performance.now()
      const r = await runInProcess(['get', torrent, '--out', out, '--peer', `127.0.0.1:${c.port}`, ...c.args])
      const seconds = (performance.now() - started) / 1000
      t.equal(r.code, 0, r.stderr)
      t.equal(await fileSha256(join(out, 'data.bin')), sum, 'the data is whole')
      t.ok(seconds >= floor, `${SIZE / 1024} KiB at 256 KiB/s took ${seconds.toFixed(2)} s, at least ${floor.toFixed(2)} s`)
    })
  }
})

t.test('rate values: aria2c\'s units, 0 unlimited, anything else a usage error', async t => {
  const { parseRate } = await import('../../src/cli/option-values.js')
  t.equal(parseRate('--max-upload-rate', '500K'), 500 * 1024)
  t.equal(parseRate('--max-upload-rate', '2M'), 2 * 2 ** 20)
  t.equal(parseRate('--max-upload-rate', '4096'), 4096, 'plain bytes per second')
  t.equal(parseRate('--max-upload-rate', '0'), undefined, '0: unlimited')
  const dir = await tempDir(t)
  const runs = await Promise.all([
    runInProcess(['get', join(dir, 'x.torrent'), '--out', dir, '--max-download-rate', 'fast']),
    runInProcess(['seed', join(dir, 'x.torrent'), '--data', dir, '--max-upload-rate', '1.5M']),
    runInProcess(['get', join(dir, 'x.torrent'), '--out', dir, '--max-upload-rate=-1']),
    runInProcess(['create', dir, '-o', join(dir, 'x.torrent'), '--max-upload-rate', '1M'])
  ])
  usageError(t, runs[0]!, /--max-download-rate wants bytes per second such as 500K or 2M \(0: unlimited\), got "fast"/, 'a word')
  usageError(t, runs[1]!, /--max-upload-rate wants bytes per second/, 'a fraction')
  usageError(t, runs[2]!, /--max-upload-rate wants bytes per second/, 'a negative rate')
  usageError(t, runs[3]!, /--max-upload-rate is for seed and get/, 'create')
})
