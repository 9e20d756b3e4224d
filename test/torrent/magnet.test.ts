import t from 'tap'
import { magnetUri, parseMagnet } from '../../src/torrent/magnet.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { torrentBytes } from '../fixtures/torrent/fixture-data.js'

const V1 = 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a'
const V2 = 'd8dd32ac93357c368556af3ac1d95c9d76bd0dff6fa9833ecdac3d53134efabb'

t.test('v1 hex, with name, trackers and peers', async t => {
  const m = parseMagnet(`magnet:?xt=urn:btih:${V1.toUpperCase()}&dn=Hello+World%21&tr=udp%3A%2F%2Ftracker.example%3A1337&tr=http://t.example/announce&tr=udp%3A%2F%2Ftracker.example%3A1337&x.pe=10.0.0.1:6881&x.pe=[2001:db8::1]:51413&x.pe=peer.example:1`)
  t.equal(m.infoHashV1!.toString('hex'), V1)
  t.equal(m.infoHashV2, undefined)
  t.equal(m.wireInfoHash.toString('hex'), V1)
  t.equal(m.name, 'Hello World!')
  t.same(m.trackers, ['udp://tracker.example:1337', 'http://t.example/announce'])
  t.same(m.peers, ['10.0.0.1:6881', '[2001:db8::1]:51413', 'peer.example:1'])
})

t.test('v1 base32', async t => {
  const m = parseMagnet('magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK')
  t.equal(m.infoHashV1!.toString('hex'), V1)
  t.equal(parseMagnet('magnet:?xt=urn:btih:yex6dqdlxisuvhoj6um3gnnkpqjwpkek').infoHashV1!.toString('hex'), V1)
})

t.test('v2 and hybrid', async t => {
  const v2 = parseMagnet(`magnet:?xt=urn:btmh:1220${V2}`)
  t.equal(v2.infoHashV2!.toString('hex'), V2)
  t.equal(v2.infoHashV1, undefined)
  t.equal(v2.wireInfoHash.toString('hex'), V2.slice(0, 40), 'v2 wire hash is the truncated SHA-256')
  t.same(v2.trackers, [])
  t.same(v2.peers, [])
  const hy = parseMagnet(`magnet:?xt=urn:btih:${V1}&xt=urn:btmh:1220${V2}`)
  t.equal(hy.wireInfoHash.toString('hex'), V1)
  t.equal(hy.infoHashV2!.toString('hex'), V2)
  const numbered = parseMagnet(`magnet:?xt.1=urn:btih:${V1}&xt.2=urn:btmh:1220${V2}&tr.1=udp://a:1`)
  t.ok(numbered.infoHashV1 !== undefined && numbered.infoHashV2 !== undefined)
  t.same(numbered.trackers, ['udp://a:1'])
  t.ok(parseMagnet(`magnet:?xt=urn:sha1:ABC&xt=urn:btih:${V1}&foo=bar&flag`).infoHashV1, 'unknown parameters ignored')
})

t.test('InvalidMagnetError', async t => {
  const bad: Array<[string, RegExp]> = [
    ['http://example.com/?xt=urn:btih:' + V1, /not a magnet URI/],
    ['magnet:', /not a magnet URI/],
    ['magnet:?dn=x', /no urn:btih or urn:btmh/],
    ['magnet:?xt=urn:sha1:ABCDEF', /no urn:btih or urn:btmh/],
    ['magnet:?xt=urn:btih:' + V1.slice(1), /40 hex or 32 base32/],
    ['magnet:?xt=urn:btih:' + V1 + '00', /40 hex or 32 base32/],
    ['magnet:?xt=urn:btih:' + 'g'.repeat(40), /40 hex or 32 base32/],
    ['magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKE1', /40 hex or 32 base32/],
    ['magnet:?xt=urn:btmh:' + V2, /1220 \+ 64 hex/],
    ['magnet:?xt=urn:btmh:1114' + V2, /is not SHA-256/],
    ['magnet:?xt=urn:btmh:1220' + V2.slice(2), /1220 \+ 64 hex/],
    [`magnet:?xt=urn:btih:${V1}&xt=urn:btih:${'0'.repeat(40)}`, /two different urn:btih/],
    [`magnet:?xt=urn:btmh:1220${V2}&xt=urn:btmh:1220${'0'.repeat(64)}`, /two different urn:btmh/],
    [`magnet:?xt=urn:btih:${V1}&dn=%E0%A4%A`, /bad percent-encoding in dn/],
    [`magnet:?xt=urn:btih:${V1}&tr=not a url`, /is not a URL/],
    [`magnet:?xt=urn:btih:${V1}&tr=file:///etc/passwd`, /is not an http\(s\), udp or ws\(s\) tracker/],
    [`magnet:?xt=urn:btih:${V1}&x.pe=10.0.0.1`, /is not host:port/],
    [`magnet:?xt=urn:btih:${V1}&x.pe=10.0.0.1:0`, /port 0 outside/],
    [`magnet:?xt=urn:btih:${V1}&x.pe=10.0.0.1:65536`, /port 65536 outside/],
    [`magnet:?xt=urn:btih:${V1}&x.pe=2001:db8::1:80`, /is not host:port/],
    [`magnet:?xt=urn:btih:${V1}&x.pe=[12345::1]:80`, /malformed IPv6/],
    ['magnet:?xt=urn:btih:' + V1 + '&dn=' + 'a'.repeat(70000), /longer than/]
  ]
  for (const [uri, message] of bad) t.throws(() => parseMagnet(uri), { name: 'InvalidMagnetError', message }, uri.slice(0, 100))
})

t.test('magnetUri round-trips through parseMagnet', async t => {
  for (const file of ['multi-v1.torrent', 'multi-v2.torrent', 'multi-hybrid.torrent']) {
    const m = parseTorrent(torrentBytes(file))
    const uri = magnetUri(m)
    const back = parseMagnet(uri)
    t.equal(back.wireInfoHash.toString('hex'), m.wireInfoHash.toString('hex'), file)
    t.equal(back.infoHashV1?.toString('hex'), m.infoHashV1?.toString('hex'))
    t.equal(back.infoHashV2?.toString('hex'), m.infoHashV2?.toString('hex'))
    t.equal(back.name, 'multi')
    t.same(back.trackers, m.trackers)
  }
  const link = parseMagnet(`magnet:?xt=urn:btih:${V1}&dn=a%20b%26c&x.pe=[::1]:1&tr=udp://x:1`)
  t.same(parseMagnet(magnetUri(link)), link)
})

t.test('Full Strict links: x.bttls=full-strict with x.bttls.ca and an https tracker, or InvalidMagnetError', async t => {
  const CA = 'ab'.repeat(32)
  const TR = 'tr=https%3A%2F%2Ftracker.example%2Fannounce'
  const m = parseMagnet(`magnet:?xt=urn:btih:${V1}&tr=udp://x:1&${TR}&x.bttls=full-strict&x.bttls.ca=${CA.toUpperCase()}`)
  t.equal(m.caFingerprint?.toString('hex'), CA, 'the CA hash, either case')
  t.equal(m.strict, undefined, 'no Strict mode')
  t.same(m.trackers, ['udp://x:1', 'https://tracker.example/announce'])
  t.equal(magnetUri(m), `magnet:?xt=urn:btih:${V1}&tr=udp%3A%2F%2Fx%3A1&${TR}&x.bttls=full-strict&x.bttls.ca=${CA}`, 'written back in lower case, after the trackers')
  const bad: Array<[string, RegExp]> = [
    [`magnet:?xt=urn:btih:${V1}&${TR}&x.bttls=full-strict`, /full-strict needs x\.bttls\.ca/],
    [`magnet:?xt=urn:btih:${V1}&${TR}&x.bttls.ca=${CA}`, /x\.bttls\.ca goes with x\.bttls=full-strict only/],
    [`magnet:?xt=urn:btih:${V1}&${TR}&x.bttls=strict-secret&x.bttls.ca=${CA}`, /x\.bttls\.ca goes with x\.bttls=full-strict only/],
    [`magnet:?xt=urn:btih:${V1}&${TR}&x.bttls=full-strict&x.bttls.ca=${CA.slice(2)}`, /x\.bttls\.ca must be 64 hex/],
    [`magnet:?xt=urn:btih:${V1}&${TR}&x.bttls=full-strict&x.bttls.ca=${'g'.repeat(64)}`, /x\.bttls\.ca must be 64 hex/],
    [`magnet:?xt=urn:btih:${V1}&x.bttls=full-strict&x.bttls.ca=${CA}`, /needs an https:\/\/ tracker/],
    [`magnet:?xt=urn:btih:${V1}&tr=http://tracker.example/announce&x.bttls=full-strict&x.bttls.ca=${CA}`, /needs an https:\/\/ tracker/],
    [`magnet:?xt=urn:btih:${V1}&${TR}&x.bttls=full-strict&x.bttls=strict-passphrase&x.bttls.ca=${CA}`, /two levels/],
    [`magnet:?xt=urn:btih:${V1}&${TR}&x.bttls=fullstrict&x.bttls.ca=${CA}`, /strict-publisher or full-strict, got "fullstrict"/]
  ]
  for (const [uri, message] of bad) t.throws(() => parseMagnet(uri), { name: 'InvalidMagnetError', message }, uri.slice(0, 160))
})
