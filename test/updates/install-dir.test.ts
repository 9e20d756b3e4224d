/**
 * The client's install directory on real files: layout, install and rollback by symlink swap, state.json
 * kept across instances and read defensively, staging directories, and NoPreviousReleaseError.
 */
import t, { type Test } from 'tap'
import { lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { InstallDir } from '../../src/updates/install-dir.js'
import { NoPreviousReleaseError } from '../../src/updates/errors.js'
import { tempDir } from '../helpers/session-pair.js'
import { assertTyped } from '../helpers/typed-error.js'

async function fresh (t: Test): Promise<InstallDir> {
  const d = new InstallDir(join(await tempDir(t), 'install'))
  await d.prepare()
  return d
}

/** A verified release file in the staging area, as the updater leaves it before install. */
async function staged (d: InstallDir, content: string): Promise<string> {
  const dir = await d.stagingDir()
  const file = join(dir, 'download')
  await writeFile(file, content)
  return file
}

t.test('prepare makes the layout; a fresh directory has nothing installed', async t => {
  const d = await fresh(t)
  t.same((await readdir(d.dir)).sort(), ['metadata', 'releases', 'staging'])
  t.same(await d.state(), { rolledBack: [] })
  t.equal(await d.currentVersion(), undefined)
  await d.prepare()
  t.pass('prepare twice is fine')
})

t.test('stagingDir: a new private directory under staging/ each time', async t => {
  const d = await fresh(t)
  const [a, b] = [await d.stagingDir(), await d.stagingDir()]
  t.not(a, b)
  t.ok(a.startsWith(join(d.staging, 'download-')))
  t.equal((await lstat(a)).mode & 0o077, 0, 'mkdtemp: 0700')
})

t.test('install: the file moves into releases/V, current and previous are relative symlinks', async t => {
  const d = await fresh(t)
  const s1 = await d.install('1.0.0', await staged(d, 'one'), 'app.bin')
  t.same(s1, { installed: '1.0.0', rolledBack: [] })
  t.equal(await readFile(join(d.current, 'app.bin'), 'utf8'), 'one')
  t.equal(await readlink(d.current), join('releases', '1.0.0'), 'relative: the directory may move')
  t.equal(await d.currentVersion(), '1.0.0')
  t.same(await readdir(join(d.dir, 'releases', '1.0.0')), ['app.bin'])

  const s2 = await d.install('1.1.0', await staged(d, 'two'), 'app.bin')
  t.same(s2, { installed: '1.1.0', previous: '1.0.0', rolledBack: [] })
  t.equal(await readFile(join(d.current, 'app.bin'), 'utf8'), 'two')
  t.equal(await readlink(join(d.dir, 'previous')), join('releases', '1.0.0'))
  t.equal(await readFile(join(d.dir, 'releases', '1.0.0', 'app.bin'), 'utf8'), 'one', 'the old release is kept')

  // The same version again (a repair): previous stays what it was.
  t.same(await d.install('1.1.0', await staged(d, 'two again'), 'app.bin'), { installed: '1.1.0', previous: '1.0.0', rolledBack: [] })
  t.same(await readdir(join(d.dir, 'releases', '1.1.0')), ['app.bin'], 'the release directory is replaced, not merged')
  t.same((await readdir(d.dir)).filter(n => n.startsWith('.')), [], 'no temporary link or state file left behind')
  t.same(await new InstallDir(d.dir).state(), s2, 'state.json is read back by another instance')
})

t.test('rollback swaps current and previous and remembers what it rolled back from; twice undoes it', async t => {
  const d = await fresh(t)
  await d.install('1.0.0', await staged(d, 'one'), 'app.bin')
  await d.install('2.0.0', await staged(d, 'two'), 'app.bin')
  t.same(await d.rollback(), { from: '2.0.0', to: '1.0.0' })
  t.equal(await d.currentVersion(), '1.0.0')
  t.equal(await readFile(join(d.current, 'app.bin'), 'utf8'), 'one')
  t.same(await d.state(), { installed: '1.0.0', previous: '2.0.0', rolledBack: ['2.0.0'] })
  t.same(await d.rollback(), { from: '1.0.0', to: '2.0.0' })
  t.same(await d.state(), { installed: '2.0.0', previous: '1.0.0', rolledBack: ['2.0.0', '1.0.0'] })
  t.same(await d.rollback(), { from: '2.0.0', to: '1.0.0' })
  t.same((await d.state()).rolledBack, ['2.0.0', '1.0.0'], 'each version listed once')
  await d.install('3.0.0', await staged(d, 'three'), 'app.bin')
  t.same((await d.state()).rolledBack, ['2.0.0', '1.0.0'], 'kept across installs')
})

t.test('rollback with nothing to go back to: NoPreviousReleaseError naming the directory', async t => {
  const d = await fresh(t)
  for (const setup of [async () => {}, async () => { await d.install('1.0.0', await staged(d, 'one'), 'app.bin') }]) {
    await setup()
    try {
      await d.rollback()
      t.fail('rolled back')
    } catch (err) {
      assertTyped(t, err, NoPreviousReleaseError, 'ERR_UPDATE_NO_PREVIOUS', new RegExp(`^${d.dir} keeps no previous release`))
    }
  }
  t.equal(await d.currentVersion(), '1.0.0', 'current unchanged')
})

t.test('state.json that is damaged or of the wrong shape reads as nothing installed, field by field', async t => {
  const d = await fresh(t)
  const state = join(d.dir, 'state.json')
  await writeFile(state, '{ not json')
  t.same(await d.state(), { rolledBack: [] })
  await writeFile(state, JSON.stringify({ installed: 3, previous: '1.0.0', rolledBack: ['1.1.0', 7, null] }))
  t.same(await d.state(), { previous: '1.0.0', rolledBack: ['1.1.0'] })
  await writeFile(state, JSON.stringify({ installed: '1.0.0', rolledBack: 'x' }))
  t.same(await d.state(), { installed: '1.0.0', rolledBack: [] })
  await writeFile(state, 'null')
  t.same(await d.state(), { rolledBack: [] })
})

t.test('currentVersion reads the link itself, whatever state.json says', async t => {
  const d = await fresh(t)
  await mkdir(join(d.dir, 'releases', '9.9.9'))
  await symlink(join('releases', '9.9.9'), d.current)
  t.equal(await d.currentVersion(), '9.9.9')
  t.same(await d.state(), { rolledBack: [] })
})
