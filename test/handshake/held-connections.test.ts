/**
 * The listener's bound on connections held at once per source address (issue 18: 500 connections with
 * one peer id were all held). Counting with plain calls; then a session over real loopback sockets and
 * real TLS, its visitors on several 127.0.0.x addresses: past the bound a right proof gets the web site,
 * exactly as a wrong one does, and a plaintext peer is refused; other addresses, and the same address
 * once a connection closed, are served.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { join } from 'node:path'
import { ACCEPT_LIMIT_FACTOR, HeldConnections, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS } from '../../src/handshake/held-connections.js'
import { ConnectionLimitError, DialError } from '../../src/errors.js'
import { dial } from '../../src/wire/dialer.js'
import type { PeerLink } from '../../src/wire/peer-link.js'
import type { Refusal } from '../../src/wire/listener.js'
import { basicLevel } from '../../src/levels/basic.js'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { randomFile, session, tempDir } from '../helpers/session-pair.js'

t.test('counting: by IPv4 address and IPv6 /64, released once, forgotten at zero', async t => {
  const held = new HeldConnections(2)
  const a = held.hold('10.0.0.1')
  const b = held.hold('::ffff:10.0.0.1')
  t.equal(held.count('10.0.0.1'), 2, 'an IPv4-mapped address is its IPv4 address')
  t.notOk(held.over('10.0.0.1'), 'two of two')
  const c = held.hold('10.0.0.1')
  t.ok(held.over('10.0.0.1'), 'the third is over')
  t.notOk(held.over('10.0.0.2'))
  c(); c()
  t.equal(held.count('10.0.0.1'), 2, 'a release counts once')
  a(); b()
  t.equal(held.groups, 0, 'no entry left for a group with nothing open')
  const v6 = [held.hold('2001:db8:1:2::1'), held.hold('2001:db8:1:2:ffff::9'), held.hold('2001:db8:1:2:0:0:0:7')]
  t.ok(held.over('2001:db8:1:2::abcd'), 'one /64 is one host')
  t.notOk(held.over('2001:db8:1:3::1'), 'the next /64 is another')
  for (const r of v6) r()
  const many = Array.from({ length: 2 * ACCEPT_LIMIT_FACTOR }, () => held.hold('10.0.0.3'))
  t.notOk(held.overAtAccept('10.0.0.3'), `${2 * ACCEPT_LIMIT_FACTOR}: still read before judged`)
  many.push(held.hold('10.0.0.3'))
  t.ok(held.overAtAccept('10.0.0.3'), 'one more: closed unread')
  for (const r of many) r()
  t.throws(() => new HeldConnections(0), RangeError)
  t.ok(DEFAULT_MAX_CONNECTIONS_PER_ADDRESS >= 8)
})

t.test('past the bound a right proof is a web visit, a plaintext peer is refused; other addresses are served', async t => {
  const dir = await tempDir(t)
  await randomFile(join(dir, 'seed'), 'f.bin', 100_000)
  const metainfo = parseTorrent((await createTorrent(join(dir, 'seed', 'f.bin'), { version: 'v1', pieceLength: 32 * 1024 })).bytes)
  const responder = await session(t, { host: '127.0.0.1', maxConnectionsPerAddress: 2 })
  const handle = await responder.addTorrent(metainfo, join(dir, 'seed'))
  const refusals: Refusal[] = []
  responder.on('refused', r => refusals.push(r))
  const open: PeerLink[] = []
  t.teardown(() => { for (const l of open) l.close() })

  const visit = async (from: string, transport: 'tls' | 'plain', infoHash = handle.wireInfoHash): Promise<PeerLink | Error> => {
    try {
      const link = await dial({
        host: '127.0.0.1', port: responder.port, localAddress: from, level: basicLevel([infoHash]), wireInfoHash: infoHash,
        policy: 'prefer-tls', transport
      })
      link.wire.handshake(infoHash, randomBytes(20), { dht: false, fast: true, extended: true })
      await link.remoteHandshake
      open.push(link)
      return link
    } catch (err) {
      return err as Error
    }
  }
  const failureOf = (r: PeerLink | Error): string | undefined => r instanceof DialError ? r.attempts[0]?.error.name : r instanceof Error ? r.name : undefined

  const first = await visit('127.0.0.5', 'tls')
  t.notOk(first instanceof Error, 'first connection from 127.0.0.5: a peer')
  t.notOk((await visit('127.0.0.5', 'tls')) instanceof Error, 'second: a peer')
  const wrong = await visit('127.0.0.9', 'tls', randomBytes(20))
  const excess = await visit('127.0.0.5', 'tls')
  t.equal(failureOf(wrong), 'DecoyAnswerError', 'control: a wrong proof gets the web site')
  t.equal(failureOf(excess), 'DecoyAnswerError', 'the third connection with a right proof gets the same web site')
  const refusal = refusals.find(r => r.remoteAddress === '127.0.0.5')
  t.ok(refusal?.error instanceof ConnectionLimitError, `refused with ConnectionLimitError (${String(refusal?.error)})`)
  t.equal(refusal?.error.name, 'ConnectionLimitError')
  t.equal((refusal?.error as ConnectionLimitError | undefined)?.code, 'ERR_CONNECTION_LIMIT')
  t.equal(refusal?.decoy, true, 'handed to the decoy, as any non-peer visit')

  const plainExcess = await visit('127.0.0.5', 'plain')
  t.ok(plainExcess instanceof Error, 'a plaintext connection from the same address is refused too')
  const plainRefusal = refusals.find(r => r.remoteAddress === '127.0.0.5' && r.transport === 'plain')
  t.equal(plainRefusal?.error.name, 'ConnectionLimitError')

  t.notOk((await visit('127.0.0.6', 'tls')) instanceof Error, 'another address: a peer')
  t.notOk((await visit('127.0.0.6', 'plain')) instanceof Error, 'another address over plaintext: a peer')

  if (!(first instanceof Error)) first.close()
  const peersFrom5 = (): number => handle.swarm.peerInfos().filter(p => p.address === '127.0.0.5').length
  for (let i = 0; i < 200 && peersFrom5() > 1; i++) await new Promise(resolve => setTimeout(resolve, 10))
  await new Promise(resolve => setTimeout(resolve, 50))
  t.notOk((await visit('127.0.0.5', 'tls')) instanceof Error, 'once one closed, 127.0.0.5 is served again')
})

t.test('silent connections past ACCEPT_LIMIT_FACTOR times the bound are closed as accepted; other addresses are served', async t => {
  const dir = await tempDir(t)
  await randomFile(join(dir, 'seed'), 'f.bin', 100_000)
  const metainfo = parseTorrent((await createTorrent(join(dir, 'seed', 'f.bin'), { version: 'v1', pieceLength: 32 * 1024 })).bytes)
  // The first step waits 20 s for a byte: every close below is the accept-time limit's.
  const responder = await session(t, { host: '127.0.0.1', maxConnectionsPerAddress: 2, timeouts: { sniffMs: 20_000 } })
  const handle = await responder.addTorrent(metainfo, join(dir, 'seed'))
  const refusals: Refusal[] = []
  responder.on('refused', r => refusals.push(r))
  const silent = async (from: string): Promise<{ socket: net.Socket, closed: Promise<void> }> => {
    const socket = net.connect({ host: '127.0.0.1', port: responder.port, localAddress: from })
    t.teardown(() => socket.destroy())
    socket.on('error', () => {})
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
    return { socket, closed: new Promise(resolve => socket.once('close', () => resolve())) }
  }
  const limit = 2 * ACCEPT_LIMIT_FACTOR
  const held = []
  for (let i = 0; i < limit; i++) held.push(await silent('127.0.0.7'))
  const excess = await silent('127.0.0.7')
  const started = Date.now()
  await excess.closed
  t.ok(Date.now() - started < 5000, `the connection past ${limit} is closed at once (${Date.now() - started} ms), not at the 20 s timeout`)
  const refusal = refusals.find(r => r.remoteAddress === '127.0.0.7')
  t.ok(refusal?.error instanceof ConnectionLimitError, `refused with ConnectionLimitError (${String(refusal?.error)})`)
  t.match(refusal?.error.message, /closed unread/)
  t.equal(refusal?.decoy, undefined, 'not handed to the decoy: nothing was read')
  t.notOk(held.some(h => h.socket.destroyed), `the first ${limit} are still open`)
  const link = await dial({
    host: '127.0.0.1', port: responder.port, localAddress: '127.0.0.8', level: basicLevel([handle.wireInfoHash]), wireInfoHash: handle.wireInfoHash, policy: 'prefer-tls', transport: 'tls'
  })
  t.teardown(() => link.close())
  link.wire.handshake(handle.wireInfoHash, randomBytes(20), { dht: false, fast: true, extended: true })
  await link.remoteHandshake
  t.pass('another address meanwhile: a peer over TLS')
})
