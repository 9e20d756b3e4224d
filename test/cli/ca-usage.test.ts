/**
 * Usage errors of the subcommands that parse their own arguments (`bttls ca ...` and the others run
 * by runSubcommand): one `bttls:` line saying what is wrong and the hint line, on stderr, exit 2;
 * never the whole usage, which `--help` prints on stdout. In process, through main().
 */
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { writeFile } from 'node:fs/promises'
import { main } from '../../src/cli/main.js'
import { quietly } from '../helpers/cli.js'
import { tempDir } from '../helpers/session-pair.js'

async function usageError (t: Test, args: string[], message: RegExp): Promise<void> {
  const r = await quietly(() => main(args))
  const what = args.join(' ')
  t.equal(r.value, 2, `${what}: exit 2`)
  t.equal(r.stdout, '', `${what}: nothing on stdout`)
  const lines = r.stderr.split('\n').filter(l => l !== '')
  t.equal(lines.length, 2, `${what}: the reason and the hint, not the usage (${JSON.stringify(r.stderr)})`)
  t.match(lines[0], new RegExp(`^bttls: ${message.source}$`), `${what}: says what is wrong`)
  t.equal(lines[1], `run "bttls ${args[0]!} --help" for usage`, `${what}: points at the usage`)
}

t.test('bttls ca issue: each usage error is one line and the hint, exit 2', async t => {
  const dir = await tempDir(t)
  const torrent = join(dir, 'x.torrent')
  await writeFile(torrent, 'not read: the arguments are checked first')
  await usageError(t, ['ca', 'issue', '--ca-cert', 'ca.pem', '--ca-key', 'ca.key', '--out', 'peer'], /ca issue needs one <file\.torrent>/)
  await usageError(t, ['ca', 'issue', torrent, '--out', 'peer'], /ca issue needs --ca-cert <ca\.pem> and --ca-key <ca\.key>/)
  await usageError(t, ['ca', 'issue', torrent, '--ca-cert', 'ca.pem', '--ca-key', 'ca.key'], /ca issue needs --out <name> \(writes <name>\.pem and <name>\.key\)/)
  await usageError(t, ['ca', 'issue', torrent, '--ca-cert', 'ca.pem', '--ca-key', 'ca.key', '--out', 'peer', '--lifetime', '0'], /--lifetime must be an integer 1\.\.\d+/)
  await usageError(t, ['ca', 'issue', torrent, '--frobnicate'], /Unknown option '--frobnicate'.*/)
})

t.test('bttls ca: a missing or unknown command, an extra argument', async t => {
  await usageError(t, ['ca'], /ca needs a command: create or issue/)
  await usageError(t, ['ca', 'sign'], /unknown command "ca sign" \(ca create or ca issue\)/)
  await usageError(t, ['ca', 'create', 'extra', '--out', 'x'], /unexpected argument "extra"/)
  await usageError(t, ['ca', 'create'], /ca create needs --out <dir>/)
})

t.test('the other subcommands report usage errors the same way', async t => {
  await usageError(t, ['tracker', '--frobnicate'], /Unknown option '--frobnicate'.*/)
  await usageError(t, ['release', '--frobnicate'], /Unknown option '--frobnicate'.*/)
  await usageError(t, ['update', '--frobnicate'], /Unknown option '--frobnicate'.*/)
})

t.test('--help prints the whole usage on stdout, exit 0', async t => {
  const r = await quietly(() => main(['ca', '--help']))
  t.equal(r.value, 0)
  t.match(r.stdout, /^usage:\n {2}bttls ca create .*\n {2}bttls ca issue /s)
  t.equal(r.stderr, '')
})
