/**
 * ut_pex (BEP 11) codec: exact bytes, the bttls flag 0x20, IPv6, and the size bounds on what a peer
 * sends (typed errors, no decoding of an oversized message).
 */
import t from 'tap'
import { encodeBencode } from '../../src/codec/bencode.js'
import {
  encodePexMessage, parsePexMessage, MAX_MESSAGE_BYTES, MAX_RECEIVED_ENTRIES, MAX_SENT_ENTRIES, PEX_FLAGS
} from '../../src/wire/ut-pex.js'
import { PEX_FLAG_BTTLS } from '../../src/wire/capabilities.js'

t.test('flag bits: 0x20 is bttls, next to BEP 11\'s', async t => {
  t.equal(PEX_FLAGS.BTTLS, 0x20)
  t.equal(PEX_FLAGS.BTTLS, PEX_FLAG_BTTLS)
  t.same([PEX_FLAGS.PREFERS_ENCRYPTION, PEX_FLAGS.SEED, PEX_FLAGS.UTP, PEX_FLAGS.HOLEPUNCH, PEX_FLAGS.REACHABLE], [1, 2, 4, 8, 16])
})

t.test('encode: compact IPv4 entries with one flags byte each, keys sorted, empty lists left out', async t => {
  const bytes = encodePexMessage({
    added: [{ host: '127.0.0.2', port: 6881, flags: 0x20 | 0x10 }, { host: '10.1.2.3', port: 51413, flags: 0x01 }],
    dropped: [{ host: '127.0.0.9', port: 1, flags: 0 }]
  })
  const expected = Buffer.concat([
    Buffer.from('d5:added12:'), Buffer.from([127, 0, 0, 2, 0x1a, 0xe1, 10, 1, 2, 3, 0xc8, 0xd5]),
    Buffer.from('7:added.f2:'), Buffer.from([0x30, 0x01]),
    Buffer.from('7:dropped6:'), Buffer.from([127, 0, 0, 9, 0, 1]),
    Buffer.from('e')
  ])
  t.same(bytes, expected)
  t.same(parsePexMessage(bytes), {
    added: [{ host: '127.0.0.2', port: 6881, flags: 0x30 }, { host: '10.1.2.3', port: 51413, flags: 0x01 }],
    dropped: [{ host: '127.0.0.9', port: 1, flags: 0 }]
  })
})

t.test('IPv6 goes in added6 / added6.f / dropped6 (18-byte entries)', async t => {
  const bytes = encodePexMessage({ added: [{ host: '2001:db8::1', port: 443, flags: 0x20 }], dropped: [{ host: '::1', port: 80, flags: 0 }] })
  const s = bytes.toString('latin1')
  t.match(s, /^d6:added618:/)
  t.match(s, /8:added6\.f1:/)
  t.match(s, /8:dropped618:/)
  t.same(parsePexMessage(bytes), {
    added: [{ host: '2001:db8:0:0:0:0:0:1', port: 443, flags: 0x20 }],
    dropped: [{ host: '0:0:0:0:0:0:0:1', port: 80, flags: 0 }]
  })
})

t.test('at most 50 entries per list are sent', async t => {
  const many = Array.from({ length: 70 }, (_, i) => ({ host: `10.0.0.${i + 1}`, port: 1000 + i, flags: 0 }))
  const msg = parsePexMessage(encodePexMessage({ added: many, dropped: many }))
  t.equal(msg.added.length, MAX_SENT_ENTRIES)
  t.equal(msg.dropped.length, MAX_SENT_ENTRIES)
})

t.test('missing or short added.f reads as flags 0; unknown keys are ignored; port 0 entries are skipped', async t => {
  const added = Buffer.from([1, 2, 3, 4, 0, 80, 5, 6, 7, 8, 0, 0, 9, 9, 9, 9, 0, 81])
  const msg = parsePexMessage(encodeBencode({ added, 'added.f': Buffer.from([0x20]), v: 'x' }))
  t.same(msg.added, [{ host: '1.2.3.4', port: 80, flags: 0x20 }, { host: '9.9.9.9', port: 81, flags: 0 }])
})

t.test('a peer\'s malformed or oversized message is a typed error', async t => {
  t.throws(() => parsePexMessage(Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x64)), { name: 'OversizedBencodeError' }, 'bytes bound before decoding')
  const tooMany = Buffer.alloc(6 * (MAX_RECEIVED_ENTRIES + 1), 1)
  t.throws(() => parsePexMessage(encodeBencode({ added: tooMany })), { name: 'OversizedBencodeError' }, 'entries bound')
  t.throws(() => parsePexMessage(encodeBencode({ added: Buffer.alloc(7) })), { name: 'MalformedMessageError' }, 'not a multiple of 6')
  t.throws(() => parsePexMessage(encodeBencode({ added6: Buffer.alloc(17) })), { name: 'MalformedMessageError' }, 'not a multiple of 18')
  t.throws(() => parsePexMessage(encodeBencode({ added: 5 })), { name: 'MalformedMessageError' }, 'wrong type')
  t.throws(() => parsePexMessage(encodeBencode(['added'])), { name: 'MalformedMessageError' }, 'not a dict')
  t.throws(() => parsePexMessage(Buffer.from('d5:added')), { name: 'MalformedMessageError' }, 'truncated')
  t.throws(() => parsePexMessage(Buffer.from('d1:ad1:ad1:ai1eeee')), { name: 'MalformedMessageError' }, 'nested too deep')
  const tokens = 'd' + Array.from({ length: 40 }, (_, i) => `2:k${String.fromCharCode(65 + i)}i1e`).join('') + 'e'
  t.throws(() => parsePexMessage(Buffer.from(tokens)), { name: 'MalformedMessageError' }, 'too many values')
})
