import t from 'tap'
import { splitJsonLines } from '../../interop/lib/json-lines.js'
import { bttlsLinks, limitsMet } from '../../interop/lib/bttls.js'
import { ltTransport } from '../../interop/lib/libtorrent.js'
import { markdownTable, summarize, type Row } from '../../interop/lib/report.js'

t.test('splitJsonLines keeps event objects, skips other lines, returns the unfinished tail', async t => {
  const { events, rest } = splitJsonLines('{"event":"listening","port":1}\nhuman text\n{"no":"event"}\n{broken\n{"event":"peer"')
  t.same(events, [{ event: 'listening', port: 1 }])
  t.equal(rest, '{"event":"peer"')
  const next = splitJsonLines(rest + ',"transport":"tls"}\n')
  t.same(next.events, [{ event: 'peer', transport: 'tls' }])
  t.equal(next.rest, '')
})

t.test('bttlsLinks: transports, ciphers by direction, troubles', async t => {
  const events = splitJsonLines([
    '{"event":"peer","transport":"tls","direction":"inbound","address":"127.0.0.1","port":1,"tls":{"protocol":"TLSv1.3","cipher":"TLS_AES_128_GCM_SHA256","level":"basic"}}',
    '{"event":"peer","transport":"mse","direction":"outbound","address":"127.0.0.1","port":2}',
    '{"event":"peer","transport":"mse","direction":"inbound","address":"127.0.0.1","port":3}',
    '{"event":"peer-closed","address":"127.0.0.1","port":2,"transport":"mse"}',
    '{"event":"peer-closed","address":"127.0.0.1","port":3,"transport":"mse","error":{"name":"ProtocolError","message":"bad"}}',
    '{"event":"dial-failed","host":"127.0.0.1","port":4,"error":{"name":"DialError","message":"refused"}}',
    ''
  ].join('\n')).events
  const l = bttlsLinks(events, 'none (MSE handshake, then plaintext)')
  t.equal(l.transport, 'tls TLSv1.3, mse')
  t.equal(l.cipher, 'TLS_AES_128_GCM_SHA256, RC4 (MSE), none (MSE handshake, then plaintext)')
  t.same(l.troubles, ['peer-closed 127.0.0.1:3 (mse): ProtocolError bad', 'dial-failed 127.0.0.1:4: DialError refused'])
  t.equal(bttlsLinks([]).transport, 'no peer link')
  t.equal(bttlsLinks([events[2]!]).cipher, 'MSE, method not reported')
})

t.test('limitsMet: links closed or refused for a hostile-peer bound, and nothing else', async t => {
  const events = splitJsonLines([
    '{"event":"peer-closed","address":"127.0.0.1","port":1,"transport":"mse"}',
    '{"event":"peer-closed","address":"127.0.0.1","port":2,"transport":"mse","error":{"name":"MessageFloodError","message":"too fast"}}',
    '{"event":"peer-closed","address":"127.0.0.1","port":3,"transport":"tls","error":{"name":"SendQueueOverflowError","message":"deaf"}}',
    '{"event":"peer-closed","address":"127.0.0.1","port":4,"transport":"tls","error":{"name":"SendBudgetExceededError","message":"over"}}',
    '{"event":"refused","address":"127.0.0.1","port":5,"transport":"tls","error":{"name":"ConnectionLimitError","message":"33 held"}}',
    '{"event":"refused","address":"127.0.0.1","port":6,"transport":"tls","error":{"name":"ProbeLimitError","message":"limited"}}',
    '{"event":"peer-closed","address":"127.0.0.1","port":7,"transport":"plain","error":{"name":"ProtocolError","message":"bad"}}',
    '{"event":"dial-failed","host":"127.0.0.1","port":8,"error":{"name":"MessageFloodError","message":"not a link of ours"}}',
    ''
  ].join('\n')).events
  t.same(limitsMet(events), [
    'peer-closed 127.0.0.1:2 (mse): MessageFloodError too fast',
    'peer-closed 127.0.0.1:3 (tls): SendQueueOverflowError deaf',
    'peer-closed 127.0.0.1:4 (tls): SendBudgetExceededError over',
    'refused 127.0.0.1:5 (tls): ConnectionLimitError 33 held',
    'refused 127.0.0.1:6 (tls): ProbeLimitError limited'
  ])
  t.same(limitsMet([]), [])
})

t.test('ltTransport: last flags per connection, ignoring connections that never got going', async t => {
  const peer = (port: number, over: Record<string, unknown>): Record<string, unknown> => ({
    event: 'peer', ip: '127.0.0.1', port, client: '', rc4_encrypted: false, plaintext_encrypted: false, ssl: false, downloaded: 0, uploaded: 0, ...over
  })
  const events = [peer(1, {}), peer(1, { client: 'BitTorrent 0.0.0.1', rc4_encrypted: true, uploaded: 5 }), peer(2, {})] as never
  const v = ltTransport(events)
  t.equal(v.transport, 'rc4_encrypted')
  t.equal(v.peers.length, 1)
  t.equal(ltTransport([peer(3, { client: 'x', plaintext_encrypted: true })] as never).transport, 'plaintext_encrypted (MSE, clear payload)')
  t.equal(ltTransport([peer(3, { client: 'x', ssl: true, rc4_encrypted: true })] as never).transport, 'ssl')
  t.equal(ltTransport([]).transport, 'no peer')
})

t.test('markdownTable escapes cells and marks status; summarize counts', async t => {
  const row: Row = {
    n: 1, id: 'x', scenario: 'a | b', direction: 'bttls seeds', client: 'c 1', torrent: 'v1', bttlsTransport: 'plain', clientTransport: '—',
    cipher: 'none', seconds: 1.234, mibPerSecond: 12.96, sha256: 'ok', status: 'PASS', notes: [], wallSeconds: 2, processes: []
  }
  const md = markdownTable([row, { ...row, n: 2, status: 'SKIP', reason: 'no\nclient', seconds: undefined, mibPerSecond: undefined, sha256: '—' }])
  t.match(md, '| 1 | a \\| b | bttls seeds | c 1 | v1 | plain | — | none | 1.23 | 13.0 | ok | **PASS** | — |')
  t.match(md, '| 2 | a \\| b | bttls seeds | c 1 | v1 | plain | — | none | — | — | — | **SKIP** | no client |')
  t.same(summarize([row, { ...row, status: 'FAIL' }, { ...row, status: 'SKIP' }], 3), { pass: 1, fail: 1, skip: 1, wallSeconds: 3 })
})
