/**
 * Every error class bttls exports: one definition per name, a BttlsError with its own name and an
 * ERR_ code, so callers can rely on `instanceof`, `name` and `code` alike.
 */
import t from 'tap'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { BttlsError } from '../src/errors.js'
import * as shared from '../src/errors.js'
import * as cli from '../src/cli/errors.js'
import * as storage from '../src/storage/errors.js'
import * as swarm from '../src/swarm/errors.js'
import * as torrent from '../src/torrent/errors.js'
import * as tracker from '../src/tracker/errors.js'

async function sourceFiles (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return entries.filter(e => e.isFile() && e.name.endsWith('.ts')).map(e => join(e.parentPath, e.name))
}

t.test('each error class is defined once in src/, and every one extends BttlsError', async t => {
  const defined = new Map<string, string[]>()
  for (const file of await sourceFiles('src')) {
    for (const m of (await readFile(file, 'utf8')).matchAll(/\bclass (\w+Error) extends (\w+)/g)) {
      defined.set(m[1]!, [...(defined.get(m[1]!) ?? []), file])
      if (m[1] !== 'BttlsError') t.equal(m[2], 'BttlsError', `${m[1]} (${file}) extends BttlsError`)
    }
  }
  t.ok(defined.size > 40, `found the error classes (${defined.size})`)
  for (const [name, files] of defined) t.equal(files.length, 1, `${name} is defined once (${files.join(', ')})`)
})

t.test('every exported error class is a BttlsError with its class name and an ERR_ code', async t => {
  const modules = { shared, cli, storage, swarm, torrent, tracker }
  let count = 0
  for (const [where, mod] of Object.entries(modules)) {
    for (const [exported, value] of Object.entries(mod)) {
      if (typeof value !== 'function' || !exported.endsWith('Error') || value === BttlsError) continue
      const Class = value as new (...args: unknown[]) => BttlsError
      // TrackerError takes its code first; PieceHashMismatchError and PieceNotAvailableError an index.
      const err = exported === 'TrackerError' ? new Class('ERR_TRACKER_FAILURE', 'm') : new Class(exported.startsWith('Piece') ? 3 : 'm')
      t.ok(err instanceof BttlsError, `${where}/${exported} instanceof BttlsError`)
      t.ok(err instanceof Error)
      t.equal(err.name, exported, `${exported}.name`)
      t.match(err.code, /^ERR_[A-Z0-9_]+$/, `${exported}.code`)
      count++
    }
  }
  t.ok(count > 40)
})
