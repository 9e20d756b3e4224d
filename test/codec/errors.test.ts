/**
 * The codec's one error class: what decodeBencode throws for bytes that are not bencode, typed so that
 * a caller (parse-torrent, the extension protocol, the tracker client) can tell bad input from a bug.
 */
import t from 'tap'
import { decodeBencode } from '../../src/codec/bencode.js'
import { MalformedBencodeError } from '../../src/codec/errors.js'
import { OversizedBencodeError } from '../../src/errors.js'
import { assertTyped } from '../helpers/typed-error.js'

const decode = (s: string): unknown => decodeBencode(Buffer.from(s, 'latin1'), { maxBytes: 1024, maxDepth: 4 })

function thrown (fn: () => unknown): unknown {
  try { fn() } catch (err) { return err }
  throw new Error('expected a throw')
}

t.test('MalformedBencodeError: name, code, BttlsError, message and cause kept', async t => {
  const cause = new Error('inner')
  const err = new MalformedBencodeError('bad', { cause })
  assertTyped(t, err, MalformedBencodeError, 'ERR_MALFORMED_BENCODE', /^bad$/)
  t.equal(err.cause, cause)
  t.ok(err.stack?.startsWith('MalformedBencodeError: bad'), 'the stack names the class')
})

t.test('decodeBencode throws it, with the byte offset, for every kind of malformed input', async t => {
  const cases: Array<[string, RegExp]> = [
    ['', /at byte 0/],
    ['i01e', /at byte/], // non-canonical integer
    ['i-0e', /at byte/],
    ['ie', /at byte/],
    ['3:ab', /at byte/], // string runs past the end
    ['03:abc', /at byte/], // leading zero in a length
    ['li1e', /at byte/], // unterminated list
    ['d1:ai1e1:ai2ee', /at byte/], // duplicate key
    ['di1ei2ee', /at byte/], // non-string key
    ['i1ei2e', /at byte/], // trailing bytes
    ['x', /at byte 0/],
    ['lllllee' + 'ee', /nesting/] // deeper than maxDepth 4
  ]
  for (const [input, message] of cases) {
    const err = thrown(() => decode(input))
    assertTyped(t, err, MalformedBencodeError, 'ERR_MALFORMED_BENCODE', message)
  }
})

t.test('too many bytes is a different error: OversizedBencodeError, not MalformedBencodeError', async t => {
  const err = thrown(() => decodeBencode(Buffer.alloc(2000, 0x30), { maxBytes: 1024 }))
  t.notOk(err instanceof MalformedBencodeError)
  assertTyped(t, err, OversizedBencodeError, 'ERR_OVERSIZED_BENCODE')
})
