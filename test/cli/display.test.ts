/**
 * The status line as a user sees it on a terminal (a pty from `script`), issue 12: a frozen peer
 * (SIGSTOP on the seeder) shows as "stalled" and its return clears it; `get --seed` turns the line
 * into the seeding line after the download.
 */
import t from 'tap'
import { join } from 'node:path'
import { buildCli, hasScript, inBackground, inTerminal, runInProcess } from '../helpers/cli.js'
import { randomFile, tempDir } from '../helpers/session-pair.js'

t.setTimeout(240_000)
t.before(async () => { await buildCli() })

const skip = hasScript() ? undefined : 'no `script` (util-linux) to give the CLI a pty'

async function until (what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/** The status line frames drawn so far (redrawn in place with \r and erase-to-end-of-line). */
function frames (output: string): string[] {
  return output.split(/\r|\n/).map(l => l.replaceAll('\u001b[K', '')).filter(l => /DL |seeding/.test(l))
}

t.test('a frozen seeder: the line says "stalled", and stops saying it when data flows again', { skip }, async t => {
  const dir = await tempDir(t)
  await randomFile(join(dir, 'seed'), 'data.bin', 4 * 2 ** 20)
  const torrent = join(dir, 'data.torrent')
  t.equal((await runInProcess(['create', join(dir, 'seed', 'data.bin'), '-o', torrent, '--v1'])).code, 0)
  // A slow seeder (--max-upload-rate): the download is still running when it freezes.
  const seed = await inBackground(t, ['seed', torrent, '--data', join(dir, 'seed'), '--max-upload-rate', '128K'])
  const seederPid = seed.run.pid()!
  t.teardown(() => { try { process.kill(seederPid, 'SIGCONT') } catch { /* already gone */ } })
  const get = await inTerminal(t, ['get', torrent, '--out', join(dir, 'out'), '--peer', `127.0.0.1:${seed.port}`])
  await until('data to flow', () => frames(get.output()).some(f => /^([1-9]\d?)% /.test(f)), 60_000)
  process.kill(seederPid, 'SIGSTOP')
  const frozenAt = get.output().length
  // The swarm calls a download stalled after 20 s without a block (SwarmOptions.stallTimeoutMs).
  await until('the stalled display', () => frames(get.output().slice(frozenAt)).some(f => /stalled \d+s/.test(f)), 60_000)
  const stalled = frames(get.output().slice(frozenAt)).find(f => /stalled \d+s/.test(f))!
  t.match(stalled, /^\d+% {2}[\d.]+\/4\.0 MiB {2}DL [\d.]+ (B|KiB|MiB)\/s {2}stalled \d+s/, 'the stall right after the speed, in place of the ETA')
  process.kill(seederPid, 'SIGCONT')
  const resumedAt = get.output().length
  await until('the display to resume', () => frames(get.output().slice(resumedAt)).some(f => /ETA/.test(f)), 60_000)
  t.notMatch(frames(get.output().slice(resumedAt)).filter(f => /ETA/.test(f))[0], /stalled/, 'no stall once blocks arrive')
})

t.test('get --seed: the seeding line after the download, the totals after Ctrl-C', { skip }, async t => {
  const dir = await tempDir(t)
  await randomFile(join(dir, 'seed'), 'data.bin', 300_000)
  const torrent = join(dir, 'data.torrent')
  t.equal((await runInProcess(['create', join(dir, 'seed', 'data.bin'), '-o', torrent, '--v1'])).code, 0)
  const seed = await inBackground(t, ['seed', torrent, '--data', join(dir, 'seed')])
  const get = await inTerminal(t, ['get', torrent, '--out', join(dir, 'out'), '--peer', `127.0.0.1:${seed.port}`, '--seed'])
  await until('the seeding line', () => /seeding {2}UL/.test(get.output()), 60_000)
  const out = get.output()
  t.ok(out.indexOf('done: data.bin') < out.search(/seeding {2}UL/), 'done first, then seeding')
  t.match(out, /seeding data\.bin until Ctrl-C \(--seed\)/)
  t.match(out, /seeding {2}UL [\d.]+ (B|KiB|MiB)\/s {2}up [\d.]+ (B|KiB|MiB) {2}\d+ peers?/)
  process.kill(get.pid()!, 'SIGINT')
  t.equal(await get.exited, 0, 'Ctrl-C ends it with exit 0')
  t.match(get.output(), /uploaded [\d.]+ MiB/, 'the totals at the end')
})
