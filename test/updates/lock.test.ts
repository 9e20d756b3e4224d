/**
 * One `bttls update` at a time per install directory (issue 17): DIR/update.lock names the process
 * holding it; a live holder makes a second run fail with UpdateInProgressError and one line from the
 * CLI; a stale lock (its process gone) or a corrupt one is taken over; a lock from another host is
 * respected, since its process cannot be checked.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { readFile, readdir, writeFile, mkdir } from 'node:fs/promises'
import { LOCK_FILE, lockInstallDir } from '../../src/updates/dir-lock.js'
import { UpdateInProgressError } from '../../src/updates/errors.js'
import { main } from '../../src/cli/main.js'
import { quietly } from '../helpers/cli.js'
import { tempDir } from '../helpers/session-pair.js'

async function rejection (p: Promise<unknown>): Promise<Error | undefined> {
  try { await p; return undefined } catch (err) { return err as Error }
}

/** The pid of a process that has exited. */
async function deadPid (): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await once(child, 'exit')
  return child.pid!
}

t.test('held by a live process: refused; released: taken; exactly one of two racing runs wins', async t => {
  const dir = await tempDir(t)
  const release = await lockInstallDir(dir)
  const lock = JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')) as { pid: number, host: string }
  t.equal(lock.pid, process.pid, 'the lock names its process')
  t.equal(lock.host, hostname())
  const err = await rejection(lockInstallDir(dir))
  t.ok(err instanceof UpdateInProgressError)
  t.equal(err?.name, 'UpdateInProgressError')
  t.equal((err as UpdateInProgressError).code, 'ERR_UPDATE_IN_PROGRESS')
  t.match(err?.message, new RegExp(`process ${process.pid} .*remove .*${LOCK_FILE}$`))
  await release()
  await release() // twice is harmless
  const again = await lockInstallDir(dir)
  await again()

  const racing = await Promise.allSettled([lockInstallDir(dir), lockInstallDir(dir), lockInstallDir(dir)])
  const won = racing.filter(r => r.status === 'fulfilled')
  t.equal(won.length, 1, 'one of three racing runs holds the lock')
  t.ok(racing.filter(r => r.status === 'rejected').every(r => (r as PromiseRejectedResult).reason instanceof UpdateInProgressError))
  for (const r of won) await (r as PromiseFulfilledResult<() => Promise<void>>).value()
  t.same((await readdir(dir)).filter(f => f.startsWith('.update.lock') || f === LOCK_FILE), [], 'no lock or temporary file left')
})

t.test('a stale lock (its process gone) and a corrupt one are taken over; another host\'s is respected', async t => {
  const dir = await tempDir(t)
  const path = join(dir, LOCK_FILE)
  await writeFile(path, JSON.stringify({ pid: await deadPid(), host: hostname(), since: '2026-01-01T00:00:00Z' }))
  const release = await lockInstallDir(dir)
  t.equal((JSON.parse(await readFile(path, 'utf8')) as { pid: number }).pid, process.pid, 'a dead holder\'s lock is ours now')
  await release()

  await writeFile(path, 'not json')
  const release2 = await lockInstallDir(dir)
  t.equal((JSON.parse(await readFile(path, 'utf8')) as { pid: number }).pid, process.pid, 'a corrupt lock is taken over')
  // A release never removes a lock it does not hold (one a later run took over).
  await writeFile(path, JSON.stringify({ pid: 1, host: hostname(), since: 'x' }))
  await release2()
  t.equal((JSON.parse(await readFile(path, 'utf8')) as { pid: number }).pid, 1, 'someone else\'s lock stays')

  await writeFile(path, JSON.stringify({ pid: await deadPid(), host: `not-${hostname()}`, since: 'x' }))
  const err = await rejection(lockInstallDir(dir))
  t.ok(err instanceof UpdateInProgressError, 'another host\'s process cannot be checked: held')
  t.match(err?.message, / on not-/)
})

t.test('the CLI: a second update or rollback on a locked directory fails with one line and exit 1, logged', async t => {
  const dir = await tempDir(t)
  const out = join(dir, 'client')
  await mkdir(out)
  const release = await lockInstallDir(out)
  t.teardown(release)
  for (const args of [['update', '--rollback', '--out', out], ['update', '--repo', join(dir, 'repo'), '--out', out]]) {
    const r = await quietly(() => main(args))
    t.equal(r.value, 1, args.join(' '))
    t.match(r.stderr, new RegExp(`^bttls: UpdateInProgressError: another bttls update is running on this directory: process ${process.pid} \\(since [^)]+\\); if it is not, remove .*${LOCK_FILE}\\n$`))
  }
  const log = (await readFile(join(out, 'update.log'), 'utf8')).trim().split('\n').map(l => JSON.parse(l) as { event: string, code?: string })
  t.ok(log.length >= 2 && log.every(e => e.event === 'error' && e.code === 'ERR_UPDATE_IN_PROGRESS'), 'each refusal is in the update log')
  t.notOk((await readdir(out)).includes('current'), 'nothing installed')
})
