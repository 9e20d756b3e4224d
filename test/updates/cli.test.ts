/**
 * `bttls release init|add|serve` and `bttls update [--rollback]` as a publisher and a user run them,
 * through main() (argument parsing, exit status, the one line on stderr), in process: a child per
 * command cost a compilation and a Node start each (test/cli/cli.test.ts covers the executable itself).
 * The server is `release serve` up to its wait for a signal (startReleaseServer).
 */
import t from 'tap'
import { readFile, readlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { PassThrough } from 'node:stream'
import { quietly, type CliResult } from '../helpers/cli.js'
import { main } from '../../src/cli/main.js'
import { startReleaseServer } from '../../src/cli/commands/release.js'
import { Reporter } from '../../src/cli/reporter.js'

async function runCli (args: string[]): Promise<CliResult> {
  const r = await quietly(() => main(args))
  return { code: r.value, stdout: r.stdout, stderr: r.stderr }
}
import { tempDir } from '../helpers/session-pair.js'

t.test('release init, add, serve; update through the swarm; a second release; rollback; failures are one line', async t => {
  const dir = await tempDir(t)
  const repo = join(dir, 'repo')
  const offline = join(dir, 'offline')
  const out = join(dir, 'client')
  const init = await runCli(['release', 'init', '--repo', repo, '--offline-keys', offline, '--threshold', 'root=1', '--keys', 'root=2', '--json'])
  t.equal(init.code, 0, init.stderr)
  const initialized = JSON.parse(init.stdout.trim().split('\n')[0]!) as { root: string, caPin: string, ca: string }
  const root = JSON.parse(await readFile(initialized.root, 'utf8')) as { signed: { roles: { root: { keyids: string[], threshold: number } } } }
  t.equal(root.signed.roles.root.keyids.length, 2)

  const v1 = randomBytes(80_000)
  await writeFile(join(dir, 'app.bin'), v1)
  const add = await runCli(['release', 'add', join(dir, 'app.bin'), '--version', '1.0.0', '--repo', repo, '--offline-keys', offline])
  t.equal(add.code, 0, add.stderr)
  t.match(add.stdout, /^magnet:\?xt=urn:btmh:1220[0-9a-f]{64}.*x\.bttls=strict-publisher/)
  const noKeys = await runCli(['release', 'add', join(dir, 'app.bin'), '--version', '1.0.1', '--repo', repo, '--offline-keys', join(dir, 'elsewhere')])
  t.equal(noKeys.code, 1)
  t.match(noKeys.stderr, /^bttls: ReleaseRepositoryError: targets needs 1 of its keys to sign; .* holds 0\n$/)

  const serverOut = new PassThrough()
  const serverLog: string[] = []
  serverOut.on('data', (d: Buffer) => serverLog.push(d.toString()))
  const server = await startReleaseServer({ repo }, new Reporter(true, serverOut as unknown as typeof process.stdout, serverOut as unknown as typeof process.stderr))
  t.teardown(() => server.close())
  const url = server.url
  t.match(serverLog.join(''), /"event":"serving"/)
  const common = ['--root', initialized.root, '--repo', url, '--out', out, '--pin', initialized.caPin, '--ca', initialized.ca, '--swarm-timeout', '5']
  const first = await runCli(['update', ...common])
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, /^installed 1\.0\.0 \(via swarm\) as .*current\/app\.bin\n$/)
  t.same(await readFile(join(out, 'current', 'app.bin')), v1)

  await writeFile(join(dir, 'app.bin'), randomBytes(80_000))
  t.equal((await runCli(['release', 'add', join(dir, 'app.bin'), '--version', '1.1.0', '--repo', repo, '--offline-keys', offline])).code, 0)
  const second = await runCli(['update', ...common, '--json'])
  t.equal(second.code, 0, second.stderr)
  t.match(second.stdout, /"event":"outcome","status":"installed","version":"1.1.0"/)

  const back = await runCli(['update', '--rollback', '--out', out])
  t.equal(back.code, 0, back.stderr)
  t.equal(back.stdout, 'rolled back from 1.1.0 to 1.0.0\n')
  t.equal(await readlink(join(out, 'current')), join('releases', '1.0.0'))
  t.same(await readFile(join(out, 'current', 'app.bin')), v1)
  // The release rolled back from is not installed again by itself.
  const held = await runCli(['update', ...common])
  t.equal(held.code, 0, held.stderr)
  t.match(held.stdout, /1\.1\.0 not installed: you rolled back from it/)

  const wrongPin = await runCli(['update', ...common.slice(0, -6), '--pin', Buffer.alloc(32).toString('base64'), '--ca', initialized.ca])
  t.equal(wrongPin.code, 1)
  t.match(wrongPin.stderr, /^bttls: PinMismatchError: [^\n]+\n$/)
  const log = (await readFile(join(out, 'update.log'), 'utf8')).trim().split('\n').map(l => JSON.parse(l) as { event: string, code?: string })
  t.match(log.at(-1), { event: 'error', code: 'ERR_UPDATE_PIN' })
  t.ok(log.some(e => e.event === 'rollback'))

  const usage = await runCli(['update', '--repo', url])
  t.equal(usage.code, 2)
  t.match(usage.stderr, /^bttls: bttls update needs --out <dir>\n/)
  const noRollback = await runCli(['update', '--rollback', '--out', join(dir, 'empty')])
  t.equal(noRollback.code, 1)
  t.match(noRollback.stderr, /^bttls: NoPreviousReleaseError: /)
  await server.rescan()
  const published = (await readFile(join(repo, 'release.log'), 'utf8')).trim().split('\n').map(l => JSON.parse(l) as { event: string })
  t.ok(published.some(e => e.event === 'release') && published.some(e => e.event === 'request'), 'the server logged publications and requests')
})

t.test('release rotate --role seed: one line, new signed targets; --keys and --threshold are refused for it', async t => {
  const dir = await tempDir(t)
  const repo = join(dir, 'repo')
  const offline = join(dir, 'offline')
  t.equal((await runCli(['release', 'init', '--repo', repo, '--offline-keys', offline])).code, 0)
  await writeFile(join(dir, 'app.bin'), randomBytes(20_000))
  t.equal((await runCli(['release', 'add', join(dir, 'app.bin'), '--version', '1.0.0', '--repo', repo, '--offline-keys', offline])).code, 0)
  const rotated = await runCli(['release', 'rotate', '--role', 'seed', '--repo', repo, '--offline-keys', offline])
  t.equal(rotated.code, 0, rotated.stderr)
  t.match(rotated.stderr, /^rotated seed: targets version 3, new key id [0-9a-f]{64}; every release torrent remade\n$/)
  const withKeys = await runCli(['release', 'rotate', '--role', 'seed', '--keys', '2', '--repo', repo, '--offline-keys', offline])
  t.equal(withKeys.code, 2)
  t.match(withKeys.stderr, /^bttls: --role seed is one key: no --keys or --threshold\n/)
  const noOffline = await runCli(['release', 'rotate', '--role', 'seed', '--repo', repo, '--offline-keys', join(dir, 'elsewhere')])
  t.equal(noOffline.code, 1)
  t.match(noOffline.stderr, /^bttls: ReleaseRepositoryError: targets needs 1 of its keys to sign; .* holds 0\n$/)
  const published = (await readFile(join(repo, 'release.log'), 'utf8')).trim().split('\n').map(l => JSON.parse(l) as { event: string, role?: string })
  t.ok(published.some(e => e.event === 'rotate' && e.role === 'seed') && published.some(e => e.event === 'release-torrent'), 'the rotation is in the publication log')
})
