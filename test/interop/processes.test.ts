import t from 'tap'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ProcessGroup } from '../../interop/lib/processes.js'

/** A log's text once its write stream has flushed (it ends at exit), within a second. */
async function logOnceWritten (path: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const text = (await readFile(path, 'utf8').catch(() => '')).trim()
    if (text !== '') return text
    await new Promise(resolve => setTimeout(resolve, 10))
  }
  return ''
}

t.test('two processes started under one log prefix keep separate logs', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'bttls-procs-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const group = new ProcessGroup()
  const say = (word: string) => group.spawn(process.execPath, ['-e', `console.log(${JSON.stringify(word)})`], { name: 'bttls seed', logPrefix: join(dir, 'bttls-seed') })
  const first = say('first')
  const second = say('second')
  await Promise.all([first.exited, second.exited])
  t.equal(await logOnceWritten(join(dir, 'bttls-seed.out')), 'first')
  t.equal(await logOnceWritten(join(dir, 'bttls-seed-2.out')), 'second')
})
