/**
 * `bttls get` never hangs (issues 12 and 18): a failure it cannot recover from ends the run with exit 1
 * and one line on stderr. Real CLI processes (the process ending is the point; the torrents are created
 * in process), real files, loopback sockets.
 */
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { chmod, mkdir, symlink, writeFile, readFile } from 'node:fs/promises'
import { buildCli, runCli, runInProcess } from '../helpers/cli.js'
import { fileSha256, randomFile, tempDir } from '../helpers/session-pair.js'

t.before(async () => { await buildCli() })

/** Starts `bttls seed` in the background; resolves with its port. */
async function seeder (t: Test, torrent: string, data: string): Promise<number> {
  let port = 0
  const seed = runCli(['seed', torrent, '--data', data, '--json'], {
    onStdout: line => { const e = JSON.parse(line); if (e.event === 'listening') port = e.port }
  })
  t.teardown(seed.kill)
  while (port === 0) await new Promise(resolve => setTimeout(resolve, 50))
  return port
}

function oneLine (t: Test, stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n').filter(l => l.startsWith('bttls: '))
  t.equal(lines.length, 1, `one error line: ${stderr}`)
  t.match(lines[0], pattern)
}

t.test('a storage failure ends get with exit 1 and one line, not a refetch loop', async t => {
  const dir = await tempDir(t)
  await randomFile(join(dir, 'seed'), 'data.bin', 300_000)
  await randomFile(join(dir, 'seed', 'top'), 'a.bin', 100_000)
  await randomFile(join(dir, 'seed', 'top'), 'b.bin', 100_000)
  for (const [name, src] of [['file', 'data.bin'], ['dir', 'top']]) {
    const c = await runInProcess(['create', join(dir, 'seed', src!), '-o', join(dir, `${name}.torrent`), '--v1'])
    t.equal(c.code, 0, c.stderr)
  }
  const filePort = await seeder(t, join(dir, 'file.torrent'), join(dir, 'seed', 'data.bin'))
  const dirPort = await seeder(t, join(dir, 'dir.torrent'), join(dir, 'seed', 'top'))
  const elsewhere = join(dir, 'elsewhere')
  await mkdir(elsewhere)
  await writeFile(join(elsewhere, 'data.bin'), 'not yours')

  const cases: Array<{ name: string, torrent: string, port: number, out: () => Promise<string>, error: RegExp, skip?: string }> = [
    {
      name: '--out names an existing file', torrent: 'file.torrent', port: filePort,
      out: async () => { const f = join(dir, 'a-file'); await writeFile(f, 'x'); return f },
      error: /^bttls: StorageError: /
    },
    {
      name: 'a symlink planted at the output path', torrent: 'file.torrent', port: filePort,
      out: async () => { const o = join(dir, 'out-link'); await mkdir(o); await symlink(join(elsewhere, 'data.bin'), join(o, 'data.bin')); return o },
      error: /^bttls: UnsafePathError: .*symlink/
    },
    {
      name: 'the top directory name is a pre-existing symlink', torrent: 'dir.torrent', port: dirPort,
      out: async () => { const o = join(dir, 'out-top'); await mkdir(o); await symlink(elsewhere, join(o, 'top')); return o },
      error: /^bttls: UnsafePathError: .*symlink/
    },
    {
      name: 'a read-only --out', torrent: 'file.torrent', port: filePort,
      out: async () => { const o = join(dir, 'ro'); await mkdir(o); await chmod(o, 0o555); return o },
      error: /^bttls: StorageError: /,
      skip: process.getuid?.() === 0 ? 'root writes into read-only directories' : undefined
    }
  ]
  for (const c of cases) {
    await t.test(c.name, { skip: c.skip }, async t => {
      const out = await c.out()
      const started = Date.now()
      const got = await runCli(['get', join(dir, c.torrent), '--out', out, '--peer', `127.0.0.1:${c.port}`], { timeoutMs: 20_000 }).result
      t.equal(got.code, 1, `exit 1 (stderr: ${got.stderr})`)
      oneLine(t, got.stderr, c.error)
      t.ok(Date.now() - started < 15_000, 'promptly')
    })
  }
  t.equal(await readFile(join(elsewhere, 'data.bin'), 'utf8'), 'not yours', 'nothing written through the symlink')
})

t.test('a peer serving bad data is banned and not redialed; get ends with a true reason', async t => {
  const dir = await tempDir(t)
  await randomFile(join(dir, 'seed'), 'bad.bin', 400_000)
  const c = await runInProcess(['create', join(dir, 'seed', 'bad.bin'), '-o', join(dir, 'bad.torrent'), '--v1', '--piece-length', '65536'])
  t.equal(c.code, 0, c.stderr)
  let port = 0
  let verified = false
  let connections = 0
  const seed = runCli(['seed', join(dir, 'bad.torrent'), '--data', join(dir, 'seed', 'bad.bin'), '--json'], {
    onStdout: line => {
      const e = JSON.parse(line)
      if (e.event === 'listening') port = e.port
      if (e.event === 'torrent') verified = true // the resume scan is done: rotting the data now cannot fail it
      if (e.event === 'peer') connections++
    }
  })
  t.teardown(seed.kill)
  while (port === 0 || !verified) await new Promise(resolve => setTimeout(resolve, 50))
  // Verified at start, then rotten on disk: the seeder now serves bytes that fail verification.
  await randomFile(join(dir, 'seed'), 'bad.bin', 400_000)

  await t.test('--peer only: given up at once', async t => {
    const started = Date.now()
    const got = await runCli(['get', join(dir, 'bad.torrent'), '--out', join(dir, 'out1'), '--peer', `127.0.0.1:${port}`], { timeoutMs: 30_000 }).result
    t.equal(got.code, 1, got.stderr)
    oneLine(t, got.stderr, /^bttls: DownloadFailedError: no peer can complete the download \(127\.0\.0\.1:\d+: .*banned/)
    t.ok(Date.now() - started < 15_000, 'promptly')
    t.equal(connections, 1, 'the banned peer was not dialed again')
  })

  await t.test('with discovery: no data for --stop-timeout, and says why', async t => {
    connections = 0
    const got = await runCli(['get', join(dir, 'bad.torrent'), '--out', join(dir, 'out2'), '--peer', `127.0.0.1:${port}`,
      '--tracker', 'http://127.0.0.1:1/announce', '--stop-timeout', '3'], { timeoutMs: 30_000 }).result
    t.equal(got.code, 1, got.stderr)
    oneLine(t, got.stderr, /^bttls: DownloadFailedError: no data for 3 s: 0 connected, 1 peer tried \(1 banned\); last error: BadPeerError/)
    t.notMatch(got.stderr, /no peer connected/)
    t.equal(connections, 1, 'the banned peer was not dialed again')
  })
})

t.test('get of a v2-only magnet whose file spans several pieces completes: the piece layers come by BEP 52 hash requests', async t => {
  const dir = await tempDir(t)
  const sum = await randomFile(join(dir, 'seed'), 'v2.bin', 200_000)
  const c = await runInProcess(['create', join(dir, 'seed', 'v2.bin'), '-o', join(dir, 'v2.torrent'), '--v2', '--piece-length', '16384'])
  t.equal(c.code, 0, c.stderr)
  const magnet = /magnet:\S+/.exec(c.stdout)?.[0]
  t.ok(magnet, 'create prints the magnet link')
  const port = await seeder(t, join(dir, 'v2.torrent'), join(dir, 'seed', 'v2.bin'))
  const got = await runCli(['get', magnet!, '--out', join(dir, 'out'), '--peer', `127.0.0.1:${port}`], { timeoutMs: 20_000 }).result
  t.equal(got.code, 0, got.stderr)
  t.equal(await fileSha256(join(dir, 'out', 'v2.bin')), sum)
})
