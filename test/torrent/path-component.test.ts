/** Torrent file names become paths on our disk: only plain names pass. */
import t from 'tap'
import { decodeUtf8, unsafeComponentReason } from '../../src/torrent/path-component.js'

t.test('a path component is one plain name', async t => {
  for (const ok of ['a.txt', 'ünïcödé', '..hidden', 'a..b', ' spaced ', '.profile']) t.equal(unsafeComponentReason(ok), undefined, JSON.stringify(ok))
  t.equal(unsafeComponentReason(''), 'is empty')
  t.equal(unsafeComponentReason('.'), 'is "."')
  t.equal(unsafeComponentReason('..'), 'is ".."')
  t.equal(unsafeComponentReason('a/b'), 'contains "/"')
  t.equal(unsafeComponentReason('a\\b'), 'contains "\\"', 'a separator on Windows')
  t.equal(unsafeComponentReason('a\0b'), 'contains a NUL byte')
})

t.test('names are strict UTF-8', async t => {
  t.equal(decodeUtf8(Buffer.from('café', 'utf8')), 'café')
  t.equal(decodeUtf8(Buffer.from([0x63, 0xe9])), undefined, 'Latin-1 bytes are not UTF-8')
  t.equal(decodeUtf8(Buffer.from([0xed, 0xa0, 0x80])), undefined, 'no surrogate halves')
  t.equal(decodeUtf8(new Uint8Array(0)), '')
})
