/**
 * FileHandlePool on real files in a temporary directory: handles reused between uses, missing files
 * reported without an error, symlinks refused at the last component, the cap kept by closing idle
 * handles in LRU order and never one in use, and a read-only handle replaced for a write.
 */
import t from 'tap'
import { readFile, stat, symlink, writeFile, chmod } from 'node:fs/promises'
import { join } from 'node:path'
import type { FileHandle } from 'node:fs/promises'
import { FileHandlePool } from '../../src/storage/file-handle-pool.js'
import { tempDir } from '../helpers/session-pair.js'

const dir = await tempDir(t)

/** A FileHandle's fd is -1 once closed. */
const isClosed = (fh: FileHandle): boolean => fh.fd === -1
const settle = (): Promise<void> => new Promise(resolve => setTimeout(resolve, 30))
/** FileHandle.close() finishes on libuv's thread pool: wait until these are closed, at most 2 s (the assertions then say whether they were). */
async function closedSoon (...handles: FileHandle[]): Promise<void> {
  for (let waited = 0; waited < 2000 && !handles.every(isClosed); waited += 10) await new Promise(resolve => setTimeout(resolve, 10))
}

t.test('a missing file: undefined and fn not called; create makes it (mode 0644 less umask)', async t => {
  const pool = new FileHandlePool()
  t.teardown(() => pool.closeAll())
  const path = join(dir, 'missing')
  let called = false
  t.equal(await pool.use(path, false, async () => { called = true }), undefined)
  t.notOk(called)
  t.equal(await pool.use(path, true, async fh => { await fh.write(Buffer.from('abc'), 0, 3, 0); return 'written' }), 'written')
  t.equal((await stat(path)).mode & 0o022, 0, 'not group or world writable')
  t.equal(await pool.use(path, false, async fh => (await fh.read(Buffer.alloc(3), 0, 3, 0)).buffer.toString()), 'abc')
})

t.test('concurrent uses of a missing file all get undefined, and nothing is kept open', async t => {
  const pool = new FileHandlePool()
  const path = join(dir, 'never')
  t.same(await Promise.all([1, 2, 3].map(() => pool.use(path, false, async () => 'x'))), [undefined, undefined, undefined])
  await pool.use(path, true, async () => {})
  t.equal(await pool.use(path, false, async () => 'found'), 'found', 'a missing file is not cached as missing')
  await pool.closeAll()
})

t.test('other open errors are thrown, to every concurrent user', async t => {
  const pool = new FileHandlePool()
  const path = join(dir, 'no-such-dir', 'f')
  const results = await Promise.allSettled([pool.use(path, true, async () => 1), pool.use(path, true, async () => 2)])
  t.same(results.map(r => r.status), ['rejected', 'rejected'])
  t.same(results.map(r => (r as PromiseRejectedResult).reason.code), ['ENOENT', 'ENOENT'])
  await pool.closeAll()
})

t.test('a symlink at the last component is refused, for reads and for writes', async t => {
  const pool = new FileHandlePool()
  t.teardown(() => pool.closeAll())
  const target = join(dir, 'target')
  await writeFile(target, 'secret')
  const link = join(dir, 'link')
  await symlink(target, link)
  await t.rejects(pool.use(link, false, async () => 'read'), { code: 'ELOOP' })
  await t.rejects(pool.use(link, true, async fh => await fh.write('x')), { code: 'ELOOP' })
  t.equal(await readFile(target, 'utf8'), 'secret', 'the target is untouched')
})

t.test('one handle per path, reused until evicted', async t => {
  const pool = new FileHandlePool()
  t.teardown(() => pool.closeAll())
  const path = join(dir, 'reused')
  const a = await pool.use(path, true, async fh => fh)
  const b = await pool.use(path, false, async fh => fh)
  const c = await pool.use(path, true, async fh => fh)
  t.equal(a, b)
  t.equal(b, c, 'a writable handle serves reads and writes')
  t.notOk(isClosed(a!))
  await pool.closeAll()
  t.ok(isClosed(a!), 'closeAll closes it')
})

t.test('the cap: idle handles are closed least recently used first', async t => {
  const pool = new FileHandlePool(2)
  t.teardown(() => pool.closeAll())
  const [p1, p2, p3] = ['lru1', 'lru2', 'lru3'].map(n => join(dir, n))
  const h1 = await pool.use(p1!, true, async fh => fh)
  const h2 = await pool.use(p2!, true, async fh => fh)
  await pool.use(p1!, true, async () => {}) // p1 is now the most recently used
  const h3 = await pool.use(p3!, true, async fh => fh)
  await closedSoon(h2!)
  t.notOk(isClosed(h1!), 'recently used: kept')
  t.ok(isClosed(h2!), 'least recently used: closed')
  t.notOk(isClosed(h3!))
  t.not(await pool.use(p2!, false, async fh => fh), h2, 'reopened on next use')
})

t.test('a handle in use is never closed under its user, even past the cap', async t => {
  const pool = new FileHandlePool(1)
  t.teardown(() => pool.closeAll())
  const busy = join(dir, 'busy')
  let release!: () => void
  const held = new Promise<void>(resolve => { release = resolve })
  let busyHandle!: FileHandle
  const using = pool.use(busy, true, async fh => {
    busyHandle = fh
    await held
    // Still open: write through it after other files were opened.
    await fh.write(Buffer.from('late'), 0, 4, 0)
  })
  await settle()
  const others = await Promise.all(['o1', 'o2', 'o3'].map(n => pool.use(join(dir, n), true, async fh => fh)))
  t.notOk(isClosed(busyHandle), 'the busy handle stays open')
  release()
  await using
  t.equal(await readFile(busy, 'utf8'), 'late')
  await closedSoon(...others.slice(0, 2).map(h => h!))
  t.ok(others.slice(0, 2).every(h => isClosed(h!)), 'idle handles over the cap were closed')
  t.notOk(isClosed(busyHandle), 'the busy one was not even picked for eviction while in use')
  t.equal(await pool.use(busy, false, async fh => fh), busyHandle, 'and is reused, not reopened')
})

t.test('a read-only handle is replaced for a write; the old one closes when idle', {
  skip: process.getuid?.() === 0 ? 'running as root: file modes do not stop root from opening a file read-write' : false
}, async t => {
  const pool = new FileHandlePool()
  t.teardown(() => pool.closeAll())
  const path = join(dir, 'readonly')
  await writeFile(path, 'ro')
  await chmod(path, 0o444)
  const ro = await pool.use(path, false, async fh => fh)
  t.ok(ro !== undefined, 'opened read-only when read-write is refused')
  await t.rejects(pool.use(path, true, async () => {}), { code: 'EACCES' })
  await closedSoon(ro!)
  t.ok(isClosed(ro!), 'the read-only handle was dropped')
})
