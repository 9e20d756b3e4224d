import t from 'tap'
import { encodeUtMetadataMessage, parseUtMetadataMessage, advertisedMetadataSize, metadataPieceCount, metadataPieceLength } from '../../src/wire/ut-metadata.js'

const b = (s: string): Buffer => Buffer.from(s, 'latin1')

t.test('round trip of the three message types', async t => {
  const data = Buffer.alloc(16384, 7)
  t.same(parseUtMetadataMessage(encodeUtMetadataMessage({ type: 'request', piece: 3 })), { type: 'request', piece: 3 })
  t.same(parseUtMetadataMessage(encodeUtMetadataMessage({ type: 'reject', piece: 0 })), { type: 'reject', piece: 0 })
  const msg = parseUtMetadataMessage(encodeUtMetadataMessage({ type: 'data', piece: 1, totalSize: 40000, data }))
  t.equal(msg.type, 'data')
  if (msg.type === 'data') {
    t.equal(msg.totalSize, 40000)
    t.ok(Buffer.from(msg.data).equals(data))
  }
  // Keys other clients add are tolerated.
  t.same(parseUtMetadataMessage(b('d3:fooli1e3:bare8:msg_typei0e5:piecei2ee')), { type: 'request', piece: 2 })
})

t.test('malformed messages throw typed errors', async t => {
  const cases: Array<[string, string, string]> = [
    ['not a dictionary', 'i1e', 'MalformedMessageError'],
    ['missing msg_type', 'd5:piecei0ee', 'MalformedMessageError'],
    ['negative piece', 'd8:msg_typei0e5:piecei-1ee', 'MalformedMessageError'],
    ['leading zero', 'd8:msg_typei00e5:piecei0ee', 'MalformedMessageError'],
    ['unknown msg_type', 'd8:msg_typei9e5:piecei0ee', 'MalformedMessageError'],
    ['truncated', 'd8:msg_typei0e5:piec', 'MalformedMessageError'],
    ['string longer than the message', 'd8:msg_typei0e5:piece99:xe', 'MalformedMessageError'],
    ['trailing bytes after a request', 'd8:msg_typei0e5:piecei0eexyz', 'MalformedMessageError'],
    ['nested too deep', 'd1:a' + 'l'.repeat(10) + 'e'.repeat(10) + '8:msg_typei0e5:piecei0ee', 'MalformedMessageError'],
    ['non-string key', 'di1ei2ee', 'MalformedMessageError'],
    ['total_size over the limit', 'd8:msg_typei1e5:piecei0e10:total_sizei99999999999ee', 'OversizedBencodeError']
  ]
  for (const [name, text, expected] of cases) {
    t.throws(() => parseUtMetadataMessage(b(text)), { name: expected }, name)
  }
  t.throws(() => parseUtMetadataMessage(Buffer.concat([b('d1:x2000:'), Buffer.alloc(2000), b('8:msg_typei0e5:piecei0ee')])),
    { name: 'OversizedBencodeError' }, 'header over 1 KiB')
  t.throws(() => parseUtMetadataMessage(Buffer.alloc(40000, 0x64)), { name: 'OversizedMessageError' }, 'message over a piece plus header')
})

t.test('advertised metadata_size', async t => {
  t.equal(advertisedMetadataSize({}, 1000), undefined)
  t.equal(advertisedMetadataSize({ metadata_size: 999 }, 1000), 999)
  t.throws(() => advertisedMetadataSize({ metadata_size: 1001 }, 1000), { name: 'OversizedBencodeError' })
  t.throws(() => advertisedMetadataSize({ metadata_size: Buffer.from('1') }, 1000), { name: 'MalformedMessageError' })
  t.throws(() => advertisedMetadataSize({ metadata_size: 0 }, 1000), { name: 'MalformedMessageError' })
})

t.test('piece geometry', async t => {
  t.equal(metadataPieceCount(16384), 1)
  t.equal(metadataPieceCount(16385), 2)
  t.equal(metadataPieceLength(16385, 1), 1)
  t.equal(metadataPieceLength(16385, 0), 16384)
})
