/**
 * bench/wire-image/counterfactuals.ts: each change does exactly what its name says to a bttls flow's
 * records, takes its lengths from the HTTPS reference flow, and leaves everything else as measured.
 */
import t from 'tap'
import {
  asRecords, counterfactualDatasets, getSizedFirstRecord, namedHello, noRequestRoundTrip, PAGE_BYTES, padded, pageResponse, pageSizedResponse, referenceHandshake,
  REQUEST_BYTES, seededRandom
} from '../../bench/wire-image/counterfactuals.js'
import { handshakeCount, postHandshake, type Unit } from '../../bench/wire-image/features.js'
import type { FlowSample } from '../../bench/wire-image/samples.js'

function units (text: string): Unit[] {
  return text.split(' ').map((tok, i) => {
    const [type, length] = tok.slice(1).split(':').map(Number) as [number, number]
    return { dir: tok[0] as '>' | '<', type, length, wire: length + 5, ms: i }
  })
}
const lengths = (us: readonly Unit[]): string => us.map(u => `${u.dir}${u.length}`).join(' ')

// bttls as measured after the wire-image change: AuthHello record, tickets, AuthReply bundle, requests, PEX, data.
const BTTLS = units('>22:362 <22:122 <20:1 <23:38 <23:403 <23:96 <23:69 >20:1 >23:69 >23:980 <23:282 <23:282 <23:540 >23:245 <23:99 <23:16401 <23:16401 <23:7112')
const HTTPS = units('>22:512 <22:122 <20:1 <23:38 <23:855 <23:281 <23:69 >20:1 >23:69 >23:109 <23:282 <23:282 <23:16401 <23:16401 <23:7112')

t.test('reference handshake: the HTTPS flow\'s handshake records, bttls\'s own after them', async t => {
  const changed = referenceHandshake(BTTLS, HTTPS)
  t.equal(lengths(changed.slice(0, handshakeCount(changed))), lengths(HTTPS.slice(0, handshakeCount(HTTPS))))
  t.equal(lengths(postHandshake(changed)), lengths(postHandshake(BTTLS)))
})

t.test('no request round trip: data right after the tickets', async t => {
  t.equal(lengths(postHandshake(noRequestRoundTrip(BTTLS, HTTPS))), '>980 <282 <282 <16401 <16401 <7112')
  const noData = units('>22:362 <22:122 <20:1 <23:38 <23:403 <23:96 <23:69 >20:1 >23:69 >23:980 <23:282 <23:282 <23:540')
  t.equal(lengths(noRequestRoundTrip(noData, HTTPS)), lengths(noData), 'a flow with no full record is left as it is')
})

t.test('GET-sized first record: the initiator\'s first record as long as the HTTPS client\'s', async t => {
  const changed = postHandshake(getSizedFirstRecord(BTTLS, HTTPS))
  t.equal(lengths(changed), '>109 <282 <282 <540 >245 <99 <16401 <16401 <7112')
  t.equal(changed[0]!.wire, 114)
})

t.test('datasets: one per cumulative change, bttls changed, HTTPS as measured, the target feature set', async t => {
  const sample = (kind: 'bttls' | 'https', records: Unit[]): FlowSample => ({ kind, variant: 'v', size: 1, tls: true, records, segments: [] } as unknown as FlowSample)
  const sets = counterfactualDatasets([sample('bttls', BTTLS), sample('https', HTTPS), sample('bttls', BTTLS), sample('https', HTTPS)])
  t.same(sets.map(s => s.name).slice(0, 3), ['what if: reference handshake', 'what if: reference handshake + no request round trip',
    'what if: reference handshake + no request round trip + GET-sized first record'])
  t.equal(sets.filter(s => s.name.startsWith('what if: (padding, against the lab reference) ')).length, 3, 'and the three padding rows against the lab')
  const last = sets[2]!
  t.same(last.y, ['bttls', 'bttls', 'https', 'https'])
  t.same(last.X[0], last.X[2], 'with all three changes this bttls flow has the HTTPS flow\'s vector')
  t.equal(last.X[0]!.length, 42, '12 handshake slots + 30 records')
  t.same(counterfactualDatasets([sample('https', HTTPS)]), [], 'nothing without bttls flows')
})

t.test('a page\'s response: the responder\'s first flight replaced by a page visit\'s response records', async t => {
  const PAGE = units('>22:382 <22:122 <20:1 <23:38 <23:460 <23:96 <23:69 >20:1 >23:69 >23:653 <23:282 <23:282 <23:16401 <23:3143 >23:708 <23:16401 <23:3335')
  t.equal(lengths(pageResponse(PAGE) ?? []), '<16401 <3143', 'the page: between the tickets and the second request')
  t.equal(pageResponse(HTTPS), undefined, 'a single download has no page response')
  t.equal(lengths(postHandshake(pageSizedResponse(BTTLS, PAGE))), '>980 <282 <282 <16401 <3143 >245 <99 <16401 <16401 <7112')
  t.equal(lengths(pageSizedResponse(BTTLS, HTTPS)), lengths(BTTLS), 'left as it is without a page response')
  const alpn = ['h2', 'http/1.1']
  const sample = (kind: 'bttls' | 'https', records: Unit[], reference?: 'lab' | 'wider', serverName?: string): FlowSample =>
    ({ kind, variant: 'v', size: 1, tls: true, records, segments: [], reference, clientHello: { alpn, serverName } } as unknown as FlowSample)
  const sets = counterfactualDatasets([sample('bttls', BTTLS), sample('bttls', BTTLS), sample('https', HTTPS, 'lab'), sample('https', HTTPS, 'lab'), sample('https', PAGE, 'wider', 'example.com'), sample('https', PAGE, 'wider', 'example.com')])
  t.same(sets.map(s => s.name.replace('what if: (against the wider reference, alone) ', '')).slice(3, 8), [
    'a page\'s response in place of the AuthReply\'s record', 'a ClientHello that names a host (SNI)', 'an SNI + a page\'s response',
    'a named page visit\'s handshake (hello and certificate flight)', 'a named page visit\'s handshake + a page\'s response'
  ], 'three against the lab, five against the wider set')
  t.same(sets[0]!.y, ['bttls', 'bttls', 'https', 'https'], 'the lab chain compares with the lab\'s flows only')
  t.equal(sets[3]!.X[0]!.length, 42, 'the target set: 12 handshake slots + 30 records')
  t.same(sets[3]!.y, ['bttls', 'bttls', 'https', 'https'], 'against the wider set\'s flows only')
  const unnamed = counterfactualDatasets([sample('bttls', BTTLS), sample('https', PAGE, 'wider')])
  t.equal(unnamed.filter(s => s.name.includes('wider')).length, 0, 'no wider rows without a named flow to take the hello from')
})

t.test('a named hello: the ClientHello as long as the reference\'s, the rest as measured', async t => {
  const NAMED = units('>22:382 <22:122 <20:1 <23:38 <23:460 <23:96 <23:69 >20:1 >23:69 >23:653')
  const changed = namedHello(BTTLS, NAMED)
  t.equal(changed[0]!.length, 382)
  t.equal(changed[0]!.wire, 387)
  t.equal(lengths(changed.slice(1)), lengths(BTTLS.slice(1)))
  t.same(namedHello([], NAMED), [], 'an empty flow stays empty')
})

t.test('stored samples load back as measured (refit.ts)', async t => {
  const { storedSample, sampleFromStored } = await import('../../bench/wire-image/samples.js')
  const flow = { kind: 'bttls', variant: 'v', tls: true, records: BTTLS, segments: [{ dir: '>', length: 517, wire: 517, ms: 1.5 }] } as unknown as FlowSample
  t.same(sampleFromStored(storedSample(flow)), flow)
  t.throws(() => sampleFromStored({ ...storedSample(flow), records: ['>12x'] }), /not a stored unit/)
})

t.test('padding as a sender would pad: drawn lengths, never shorter than sent, a write split as TLS splits it', async t => {
  t.equal(lengths(asRecords(BTTLS[0]!, 16_384)), '>16401', 'one full record')
  t.equal(lengths(asRecords(BTTLS[0]!, 16_385)), '>16401 >18', 'a full record and a one-byte tail')
  t.equal(asRecords(BTTLS[0]!, 100)[0]!.wire, 122)

  const a = seededRandom(1)
  const b = seededRandom(1)
  const draws = Array.from({ length: 1000 }, () => a(...PAGE_BYTES))
  t.same(draws.slice(0, 5), Array.from({ length: 5 }, () => b(...PAGE_BYTES)), 'the same seed draws the same lengths')
  t.ok(draws.every(n => n >= PAGE_BYTES[0] && n <= PAGE_BYTES[1]), 'within the bounds')
  t.ok(new Set(draws).size > 900, 'and spread over them')

  const fixed = (lo: number): number => lo
  const post = (policy: Parameters<typeof padded>[1]): string => lengths(postHandshake(padded(BTTLS, policy, fixed)))
  t.equal(post({}), lengths(postHandshake(BTTLS)), 'no policy: as measured')
  t.equal(post({ flight: true }), '>980 <282 <282 <2065 >245 <99 <16401 <16401 <7112', 'the first flight padded to a page')
  t.equal(post({ flight: true, hello: true }), '>980 <282 <282 <2065 >245 <99 <16401 <16401 <7112', 'a first record longer than a request stays as sent')
  t.equal(post({ requests: true }), '>980 <282 <282 <540 >245 <99 <16401 <16401 <7112', 'requests shorter than a request stay as sent')
  const longRequests = units('>22:362 <22:122 <20:1 <23:38 <23:403 <23:96 <23:69 >20:1 >23:69 >23:200 <23:282 <23:282 <23:540 >23:2354 <23:16401')
  t.equal(lengths(postHandshake(padded(longRequests, { hello: true, requests: true }, fixed))), `>${REQUEST_BYTES[0]} <282 <282 <540 >${REQUEST_BYTES[0]} <16401`,
    'a short first record padded up, a long request batch cut down')
  t.equal(lengths(padded(BTTLS, { flight: true }, fixed).slice(0, handshakeCount(BTTLS))), lengths(BTTLS.slice(0, handshakeCount(BTTLS))), 'the handshake untouched')
})
