/**
 * Seeding as BitTorrent users expect it (issue 12): `get --seed` gives back after the download until
 * Ctrl-C, and one `bttls seed` serves several torrents on one port, announcing each. The seeders are
 * CLI processes (they stop on a signal); the rest runs the CLI in process. Real files, loopback sockets.
 */
import t from 'tap'
import { join } from 'node:path'
import { createServer } from 'node:http'
import { buildCli, inBackground, runInProcess } from '../helpers/cli.js'
import { fileSha256, randomFile, tempDir } from '../helpers/session-pair.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { readFile } from 'node:fs/promises'

// Up to two CLI processes at a time; a loaded two-core machine runs them slowly.
t.setTimeout(240_000)
t.before(async () => { await buildCli() })

async function until (what: string, ok: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

t.test('get --seed keeps seeding after the download until SIGINT', async t => {
  const dir = await tempDir(t)
  const sum = await randomFile(join(dir, 'seed'), 'data.bin', 600_000)
  const torrent = join(dir, 'data.torrent')
  t.equal((await runInProcess(['create', join(dir, 'seed', 'data.bin'), '-o', torrent, '--v1'])).code, 0)
  const first = await inBackground(t, ['seed', torrent, '--data', join(dir, 'seed')])
  const middle = await inBackground(t, ['get', torrent, '--out', join(dir, 'middle'), '--peer', `127.0.0.1:${first.port}`, '--seed'])
  await until('get --seed to finish its download', () => middle.events.some(e => e.event === 'seeding'))
  t.ok(middle.events.findIndex(e => e.event === 'complete') < middle.events.findIndex(e => e.event === 'seeding'), 'verified, then seeding')
  // The original seeder goes away: only the one that ran get --seed has the data now.
  first.run.kill()
  t.equal((await first.run.result).code, 0)
  const last = await runInProcess(['get', torrent, '--out', join(dir, 'last'), '--peer', `127.0.0.1:${middle.port}`])
  t.equal(last.code, 0, last.stderr)
  t.equal(await fileSha256(join(dir, 'last', 'data.bin')), sum, 'fetched from the get --seed process')
  process.kill(middle.run.pid()!, 'SIGINT')
  const ended = await middle.run.result
  t.equal(ended.code, 0, `Ctrl-C ends it with exit 0 (${ended.stderr})`)
  const stats = middle.events.find(e => e.event === 'stats')
  t.ok(stats !== undefined && (stats.uploaded as number) >= 600_000, `its totals count the upload: ${JSON.stringify(stats)}`)
})

t.test('--seed is for get', async t => {
  const r = await runInProcess(['seed', 'x.torrent', '--data', '.', '--seed'])
  t.equal(r.code, 2)
  t.match(r.stderr, /^bttls: --seed is for get/)
})

/** An HTTP tracker that records the infohashes announced to it and knows no peers. */
async function recordingTracker (t: { teardown: (fn: () => void) => void }): Promise<{ url: string, announced: Set<string> }> {
  const announced = new Set<string>()
  const server = createServer((req, res) => {
    const raw = /[?&]info_hash=([^&]*)/.exec(req.url ?? '')?.[1] ?? ''
    // info_hash is 20 raw bytes, percent-encoded where not unreserved.
    const bytes: number[] = []
    for (let i = 0; i < raw.length;) {
      if (raw[i] === '%') { bytes.push(parseInt(raw.slice(i + 1, i + 3), 16)); i += 3 } else { bytes.push(raw.charCodeAt(i)); i++ }
    }
    announced.add(Buffer.from(bytes).toString('hex'))
    res.end('d8:intervali1800e5:peers0:e')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/announce`, announced }
}

t.test('one seed process serves several torrents on one port, each announced', async t => {
  const dir = await tempDir(t)
  const sums = [await randomFile(join(dir, 'seed'), 'a.bin', 300_000), await randomFile(join(dir, 'seed'), 'b.bin', 200_000)]
  const torrents = [join(dir, 'a.torrent'), join(dir, 'b.torrent')]
  for (const [i, name] of ['a.bin', 'b.bin'].entries()) {
    t.equal((await runInProcess(['create', join(dir, 'seed', name), '-o', torrents[i]!, '--v1'])).code, 0)
  }
  const tracker = await recordingTracker(t)
  const seed = await inBackground(t, ['seed', ...torrents, '--data', join(dir, 'seed'), '--tracker', tracker.url])
  await until('both torrents verified', () => seed.events.filter(e => e.event === 'torrent').length === 2)
  t.equal(seed.events.filter(e => e.event === 'listening').length, 1, 'one listening port')
  const gets = await Promise.all(torrents.map((torrent, i) => runInProcess(['get', torrent, '--out', join(dir, `out-${i}`), '--peer', `127.0.0.1:${seed.port}`])))
  for (const r of gets) t.equal(r.code, 0, r.stderr)
  t.equal(await fileSha256(join(dir, 'out-0', 'a.bin')), sums[0])
  t.equal(await fileSha256(join(dir, 'out-1', 'b.bin')), sums[1])
  const hashes = await Promise.all(torrents.map(async f => parseTorrent(await readFile(f)).wireInfoHash.toString('hex')))
  await until('both torrents announced', () => hashes.every(h => tracker.announced.has(h)), 20_000)
  t.pass('the tracker heard of both')
})

t.test('several torrents: the same one twice, or any torrent without its data, is refused', async t => {
  const dir = await tempDir(t)
  await randomFile(join(dir, 'seed'), 'a.bin', 100_000)
  await randomFile(join(dir, 'other'), 'b.bin', 100_000)
  const a = join(dir, 'a.torrent')
  const b = join(dir, 'b.torrent')
  t.equal((await runInProcess(['create', join(dir, 'seed', 'a.bin'), '-o', a, '--v1'])).code, 0)
  t.equal((await runInProcess(['create', join(dir, 'other', 'b.bin'), '-o', b, '--v1'])).code, 0)
  const [twice, missing, getTwo] = await Promise.all([
    runInProcess(['seed', a, a, '--data', join(dir, 'seed')]),
    runInProcess(['seed', a, b, '--data', join(dir, 'seed')]),
    runInProcess(['get', a, b, '--out', dir])
  ])
  t.equal(twice.code, 2, twice.stderr)
  t.match(twice.stderr, /^bttls: .*a\.torrent: the same torrent twice/)
  t.equal(missing.code, 1, missing.stderr)
  t.match(missing.stderr, /\nbttls: SeedDataError: no piece of b\.bin verifies/)
  t.equal(getTwo.code, 2)
  t.match(getTwo.stderr, /^bttls: unexpected argument/)
})
