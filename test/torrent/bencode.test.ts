import t from 'tap'
import { BencodeDict, decodeBencode, encodeBencode } from '../../src/codec/bencode.js'

const dec = (s: string | Buffer, maxDepth?: number) =>
  decodeBencode(typeof s === 'string' ? Buffer.from(s, 'latin1') : s, { maxBytes: 1 << 20, ...(maxDepth !== undefined ? { maxDepth } : {}) })

t.test('decodes every type, strings as Buffers', async t => {
  const v = dec('d3:agei-42e4:listli1e3:abce4:name3:bobe') as BencodeDict
  t.ok(v instanceof BencodeDict)
  t.equal(v.get('age'), -42)
  const list = v.get('list') as unknown[]
  t.equal(list[0], 1)
  t.same(list[1], Buffer.from('abc'))
  t.same(v.get('name'), Buffer.from('bob'))
  t.equal(dec('i0e'), 0)
  t.same(dec('0:'), Buffer.alloc(0))
})

t.test('big integers stay exact', async t => {
  t.equal(dec('i9007199254740991e'), Number.MAX_SAFE_INTEGER)
  t.equal(dec('i123456789012345678901234567890e'), 123456789012345678901234567890n)
})

t.test('records the exact span of each dict value', async t => {
  const raw = Buffer.from('d4:infod1:ai1eee', 'latin1')
  const v = dec(raw) as BencodeDict
  const [s, e] = v.spans.get('info')!
  t.equal(raw.subarray(s, e).toString('latin1'), 'd1:ai1ee')
})

t.test('keys are raw bytes (latin1), not hex or replacement characters', async t => {
  const raw = Buffer.concat([Buffer.from('d2:'), Buffer.from([0xff, 0xfe]), Buffer.from('i1ee')])
  const v = dec(raw) as BencodeDict
  t.same([...v.keys()], ['\u00ff\u00fe'])
})

t.test('rejects malformed input with MalformedBencodeError, never a crash', async t => {
  const bad = ['', 'i', 'i1', 'ie', 'i-e', 'i-0e', 'i01e', 'i1x', '5:abc', '01:a', '-1:a', 'l', 'd', 'd1:a', 'di1ei1ee',
    'd1:ai1e1:ai2ee', 'x', 'i1ei2e', 'le ', '4294967296:a', 'd1:ae']
  for (const s of bad) t.throws(() => dec(s), { name: 'MalformedBencodeError' }, JSON.stringify(s))
})

t.test('nesting bombs stop at the depth limit', async t => {
  t.throws(() => dec('l'.repeat(100000) + 'e'.repeat(100000)), { name: 'MalformedBencodeError', message: /nesting deeper than 64/ })
  t.throws(() => dec('d1:a'.repeat(10) + 'i1e' + 'e'.repeat(10), 5), { name: 'MalformedBencodeError' })
  t.ok(dec('l'.repeat(64) + 'e'.repeat(64)))
})

t.test('size and element-count limits', async t => {
  t.throws(() => decodeBencode(Buffer.from('i1e'), { maxBytes: 2 }), { name: 'OversizedBencodeError' })
  t.throws(() => decodeBencode(Buffer.from('l' + 'i1e'.repeat(100) + 'e'), { maxBytes: 1000, maxTokens: 50 }),
    { name: 'MalformedBencodeError', message: /more than 50 values/ })
})

t.test('encode sorts keys by UTF-8 bytes and round-trips', async t => {
  // '\uffff' sorts before '\u{10000}' in UTF-16 but after it in UTF-8.
  const enc = encodeBencode({ b: 1, a: [Buffer.from('x'), 'y', 2n], '\u{10000}': 1, '\uffff': 2 })
  const keys = [...(dec(enc) as BencodeDict).keys()].map(k => Buffer.from(k, 'latin1').toString('utf8'))
  t.same(keys, ['a', 'b', '\uffff', '\u{10000}'])
  t.equal(encodeBencode(new Map<string | Uint8Array, number>([[Buffer.from([0xff]), 1], ['a', 2]])).toString('latin1'), 'd1:ai2e1:\u00ffi1ee')
  t.throws(() => encodeBencode(1.5))
})

t.test('a decoded dict re-encodes to the same bytes, binary keys included', async t => {
  const raw = Buffer.concat([Buffer.from('d1:ad1:b0:e2:'), Buffer.from([0xff, 0xfe]), Buffer.from('i1ee')])
  t.ok(encodeBencode(dec(raw) as BencodeDict).equals(raw))
})
