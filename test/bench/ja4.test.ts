/**
 * bench/wire-image/fingerprints.ts against the values the definitions publish: the JA4 page's
 * example (FoxIO-LLC/ja4, technical_details/JA4.md: Chromium's hello, t13d1516h2_8daaf6152771_e5627efa2ab1),
 * the JA4S page's example (JA4S.md: t120400_c030_4e8089b08790) and the JA3 README's example
 * (salesforce/ja3: ada70206e40642a3e4461f35503241d5). The hellos are built byte for byte from the
 * lists those pages give, with GREASE values added where a browser puts them, and parsed back.
 */
import t from 'tap'
import { clientHelloMessage, ext } from '../../bench/wire-image/client-hello-builder.js'
import { ja3, ja3s, ja3String, ja4, ja4Alpn, ja4Original, ja4Parts, ja4s, isGrease } from '../../bench/wire-image/fingerprints.js'
import { parseClientHello, parseServerHello, type Extension } from '../../bench/wire-image/hellos.js'

const body = (message: Buffer): Buffer => message.subarray(4)

/** The JA4 page's example ClientHello: its cipher, extension and signature-algorithm lists in their original order. */
function ja4ExampleHello (): Buffer {
  const ciphers = [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035]
  const sigalgs = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]
  const byType: Record<number, Extension> = {
    0x0000: ext.serverName('example.com'),
    0x0010: ext.alpn(['h2', 'http/1.1']),
    0x000d: ext.signatureAlgorithms(sigalgs),
    0x002b: ext.supportedVersions([0x5a5a, 0x0304, 0x0303]),
    0x000a: ext.supportedGroups([0x3a3a, 0x001d, 0x0017, 0x0018]),
    0x000b: ext.ecPointFormats([0]),
    0x0033: ext.keyShare([{ group: 0x3a3a, key: Buffer.from([0]) }, { group: 0x001d, key: Buffer.alloc(32, 7) }])
  }
  const order = [0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015]
  return clientHelloMessage({
    cipherSuites: [0x8a8a, ...ciphers], // a GREASE suite first, as Chromium sends
    extensions: [ext.empty(0xdada), ...order.map(type => byType[type] ?? ext.raw(type, Buffer.from([0]))), ext.empty(0x1a1a)]
  })
}

t.test('GREASE values are recognised (RFC 8701)', async t => {
  for (const v of [0x0a0a, 0x1a1a, 0x8a8a, 0xaaaa, 0xfafa]) t.ok(isGrease(v), v.toString(16))
  for (const v of [0x0a1a, 0x1301, 0x00ff, 0xabab, 0x0000]) t.notOk(isGrease(v), v.toString(16))
})

t.test('JA4 of the JA4 page\'s example hello is the published t13d1516h2_8daaf6152771_e5627efa2ab1', async t => {
  const ch = parseClientHello(body(ja4ExampleHello()))
  t.equal(ch.serverName, 'example.com')
  t.same(ch.alpn, ['h2', 'http/1.1'])
  t.equal(ja4(ch), 't13d1516h2_8daaf6152771_e5627efa2ab1')
  t.equal(ja4Parts(ch).b, '8daaf6152771', 'the cipher hash of Chromium\'s suites, as published')
  t.equal(ja4Parts(ch).raw, 't13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_' +
    '0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601', 'JA4_r as published')
  t.equal(ja4Original(ch), 't13d1516h2_acb858a92679_18f69afefd3d', 'JA4_o as published')
})

t.test('JA4 without SNI, ALPN or signature algorithms: i, 00, no underscore before the (absent) algorithms; empty lists are zeros', async t => {
  // The page's "no signature algorithms" example: 0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01 = 6d807ffa2a79.
  const list = [0x0005, 0x000a, 0x000b, 0x000d, 0x0012, 0x0015, 0x0017, 0x001b, 0x0023, 0x002b, 0x002d, 0x0033, 0x4469, 0xff01]
  const bodies: Record<number, Extension> = {
    0x000a: ext.supportedGroups([0x001d]),
    0x000b: ext.ecPointFormats([0]),
    0x000d: ext.signatureAlgorithms([]),
    0x002b: ext.supportedVersions([0x0303]),
    0x002d: ext.pskKeyExchangeModes([1]),
    0x0033: ext.keyShare([])
  }
  const ch = parseClientHello(body(clientHelloMessage({ cipherSuites: [], extensions: list.map(type => bodies[type] ?? ext.raw(type, Buffer.alloc(0))) })))
  t.same(ch.signatureAlgorithms, [])
  t.equal(ja4Parts(ch).c, '6d807ffa2a79', 'as published')
  t.equal(ja4Parts(ch).b, '000000000000', 'no ciphers: twelve zeros, not the hash of nothing')
  t.equal(ja4Parts(ch).a, 't12i001400', 'TLS 1.2 from supported_versions, no SNI, 0 suites, 14 extensions, no ALPN')
  const bare = parseClientHello(body(clientHelloMessage({ cipherSuites: [0x1301], extensions: [ext.serverName('example.com'), ext.alpn(['h2'])] })))
  t.equal(ja4(bare), 't12d0102h2_' + ja4Parts(bare).b + '_000000000000', 'only SNI and ALPN: the extension hash is zeros; the version is legacy_version')
})

t.test('JA4 ALPN characters: first and last, hex when not alphanumeric', async t => {
  t.equal(ja4Alpn('h2'), 'h2')
  t.equal(ja4Alpn('http/1.1'), 'h1')
  t.equal(ja4Alpn('x'), 'xx')
  t.equal(ja4Alpn(undefined), '00')
  t.equal(ja4Alpn(''), '00')
  t.equal(ja4Alpn('\xab'), 'ab')
  t.equal(ja4Alpn('\xab\xcd'), 'ad')
  t.equal(ja4Alpn('0\xab'), '3b')
  t.equal(ja4Alpn('01\xab\xcd'), '3d')
  t.equal(ja4Alpn('0\xab\xcd1'), '01')
})

t.test('JA3 of the JA3 README\'s example is the published ada70206e40642a3e4461f35503241d5', async t => {
  const ch = parseClientHello(body(clientHelloMessage({
    legacyVersion: 0x0301,
    cipherSuites: [0x0a0a, 47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4],
    extensions: [ext.serverName('example.com'), ext.empty(0x2a2a), ext.supportedGroups([0x0a0a, 23, 24, 25]), ext.ecPointFormats([0])]
  })))
  t.equal(ja3String(ch), '769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0', 'GREASE left out everywhere')
  t.equal(ja3(ch), 'ada70206e40642a3e4461f35503241d5')
  const bare = parseClientHello(body(clientHelloMessage({ legacyVersion: 0x0301, cipherSuites: [4, 5, 10, 9, 100, 98, 3, 6, 19, 18, 99], extensions: [] })))
  t.equal(ja3String(bare), '769,4-5-10-9-100-98-3-6-19-18-99,,,')
  t.equal(ja3(bare), 'de350869b8c85de67a350c8d186f11e6')
})

/** A ServerHello body: version, random, session id, suite, compression, extensions. */
function serverHelloBody (version: number, suite: number, extensions: Extension[], random = Buffer.alloc(32, 1)): Buffer {
  const exts = Buffer.concat(extensions.map(e => { const h = Buffer.alloc(4); h.writeUInt16BE(e.type); h.writeUInt16BE(e.data.length, 2); return Buffer.concat([h, e.data]) }))
  const head = Buffer.alloc(2); head.writeUInt16BE(version)
  const s = Buffer.alloc(2); s.writeUInt16BE(suite)
  const len = Buffer.alloc(2); len.writeUInt16BE(exts.length)
  return Buffer.concat([head, random, Buffer.from([0]), s, Buffer.from([0]), len, exts])
}

t.test('JA4S of the JA4S page\'s example is the published t120400_c030_4e8089b08790', async t => {
  const sh = parseServerHello(serverHelloBody(0x0303, 0xc030, [ext.raw(0x0005, Buffer.alloc(0)), ext.raw(0x0017, Buffer.alloc(0)), ext.raw(0xff01, Buffer.from([0])), ext.raw(0x0000, Buffer.alloc(0))]))
  t.equal(ja4s(sh), 't120400_c030_4e8089b08790')
  t.equal(ja3s(sh), ja3s(parseServerHello(serverHelloBody(0x0303, 0xc030, sh.extensions.slice()))), 'JA3S is stable')
})

t.test('JA4S of a TLS 1.3 ServerHello uses supported_versions; a HelloRetryRequest is recognised', async t => {
  const tls13 = [ext.raw(0x002b, Buffer.from([3, 4])), ext.raw(0x0033, Buffer.concat([Buffer.from([0, 0x1d, 0, 32]), Buffer.alloc(32)]))]
  const sh = parseServerHello(serverHelloBody(0x0303, 0x1301, tls13))
  t.equal(sh.selectedVersion, 0x0304)
  t.equal(sh.keyShareGroup, 0x1d)
  t.notOk(sh.helloRetryRequest)
  t.equal(ja4s(sh), 't130200_1301_a56c5b993250', 'what the lab measured for bttls, node and nginx')
  const hrrRandom = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex')
  t.ok(parseServerHello(serverHelloBody(0x0303, 0x1302, [ext.raw(0x002b, Buffer.from([3, 4])), ext.raw(0x0033, Buffer.from([0, 0x18]))], hrrRandom)).helloRetryRequest)
})
