/**
 * JsonLinesLog on a real file: one JSON object per line with the time first, appended (never
 * rewritten), on disk when append returns, its directory made, and each entry also given to `also`.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { JsonLinesLog } from '../../src/updates/json-lines-log.js'
import { tempDir } from '../helpers/session-pair.js'

t.test('appends one parseable line per entry, time first, in a directory it makes', async t => {
  const file = join(await tempDir(t), 'a', 'b', 'update.log')
  const log = new JsonLinesLog(file)
  t.equal(log.file, file)
  const before = Date.now()
  log.append({ event: 'start', version: '1.0.0' })
  t.equal(await readFile(file, 'utf8').then(s => s.split('\n').length), 2, 'on disk as soon as append returns')
  log.append({ event: 'multi\nline', detail: { nested: [1, 'two'] }, quote: '"' })
  const lines = (await readFile(file, 'utf8')).split('\n')
  t.equal(lines.length, 3, 'two lines and the final newline')
  t.equal(lines[2], '')
  const [a, b] = lines.slice(0, 2).map(l => JSON.parse(l) as Record<string, unknown>)
  t.same(Object.keys(a!), ['time', 'event', 'version'], 'time first')
  t.ok(Date.parse(a!.time as string) >= before - 1000 && Date.parse(a!.time as string) <= Date.now())
  t.match(a!.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'ISO 8601, UTC')
  t.same(b, { time: b!.time, event: 'multi\nline', detail: { nested: [1, 'two'] }, quote: '"' }, 'a newline in a value stays inside its line')
})

t.test('appends to an existing log, and a second instance on the same file', async t => {
  const file = join(await tempDir(t), 'publish.log')
  await writeFile(file, '{"time":"2020-01-01T00:00:00.000Z","event":"old"}\n')
  new JsonLinesLog(file).append({ event: 'one' })
  new JsonLinesLog(file).append({ event: 'two' })
  const events = (await readFile(file, 'utf8')).trim().split('\n').map(l => (JSON.parse(l) as { event: string }).event)
  t.same(events, ['old', 'one', 'two'])
})

t.test('`also` gets each entry, with its time, after it is written', async t => {
  const file = join(await tempDir(t), 'x.log')
  const seen: Array<{ event: string, time: string, onDisk: boolean }> = []
  const log = new JsonLinesLog(file, e => {
    seen.push({ event: e.event, time: e.time, onDisk: readFileSync(file, 'utf8').includes(e.event) })
  })
  log.append({ event: 'verified' })
  t.equal(seen.length, 1)
  t.equal(seen[0]!.event, 'verified')
  t.ok(seen[0]!.onDisk, 'written before `also` is called')
  t.equal(JSON.parse((await readFile(file, 'utf8')).trim()).time, seen[0]!.time, 'the same time in both')
})

t.test('a log whose directory cannot be made throws at construction, not at the first append', async t => {
  const dir = await tempDir(t)
  await writeFile(join(dir, 'file'), '')
  t.throws(() => new JsonLinesLog(join(dir, 'file', 'sub', 'x.log')), { code: 'ENOTDIR' })
})
