/** fileSha256: a streamed SHA-256 of real files, against known digests and the one-shot hash. */
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileSha256 } from '../../src/updates/file-sha256.js'
import { tempDir } from '../helpers/session-pair.js'

t.test('known digests (FIPS 180-2 "abc", and the empty file)', async t => {
  const dir = await tempDir(t)
  await writeFile(join(dir, 'abc'), 'abc')
  await writeFile(join(dir, 'empty'), '')
  t.equal(await fileSha256(join(dir, 'abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  t.equal(await fileSha256(join(dir, 'empty')), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
})

t.test('a file of many stream chunks hashes as one buffer does', async t => {
  const dir = await tempDir(t)
  const data = randomBytes(3 * 65536 + 17)
  await writeFile(join(dir, 'big'), data)
  t.equal(await fileSha256(join(dir, 'big')), createHash('sha256').update(data).digest('hex'))
})

t.test('a missing file or a directory rejects with the file system error', async t => {
  const dir = await tempDir(t)
  await t.rejects(fileSha256(join(dir, 'missing')), { code: 'ENOENT' })
  await mkdir(join(dir, 'd'))
  await t.rejects(fileSha256(join(dir, 'd')), { code: 'EISDIR' })
})
