/**
 * Capability signalling and downgrade handling (issue 7): the BEP 10 key, upgrading legacy links,
 * HSTS-like memory, and an on-path attacker who resets TLS and strips the advertisement.
 */
import t, { type Test } from 'tap'
import net from 'node:net'
import { join } from 'node:path'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import type { Session, SessionEvents } from '../../src/session/session.js'
import type { PeerLink } from '../../src/wire/peer-link.js'
import { completed, fileSha256, randomFile, session, tempDir } from '../helpers/session-pair.js'
import { readCapability } from '../../src/wire/capabilities.js'

async function setup (t: Test, seederPolicy: 'prefer-tls' | 'allow-plain' = 'prefer-tls') {
  const dir = await tempDir(t)
  const sum = await randomFile(join(dir, 'seed'), 'sig.bin', 400_000)
  const { bytes } = await createTorrent(join(dir, 'seed', 'sig.bin'), { version: 'v1', pieceLength: 32 * 1024 })
  const metainfo = parseTorrent(bytes)
  const seeder = await session(t, { policy: seederPolicy })
  await seeder.addTorrent(metainfo, join(dir, 'seed'))
  return { dir, sum, metainfo, seeder }
}

function next<E extends keyof SessionEvents> (s: Session, event: E): Promise<SessionEvents[E][0]> {
  return new Promise(resolve => (s as unknown as NodeJS.EventEmitter).once(event, resolve as (...args: unknown[]) => void))
}

type Mode = { resetTls?: boolean, resetMse?: boolean, strip?: boolean }
/** An attacker on the path: resets TLS and/or MSE connections, rewrites the plaintext "bttls" key. */
async function attacker (t: Test, target: number, mode: Mode): Promise<number> {
  const server = net.createServer(client => {
    client.on('error', () => {})
    client.once('data', first => {
      // A TLS record header: handshake (22), version 3.x. MSE's first bytes are random, so one byte alone
      // mistook 1 MSE hello in 256 for TLS.
      const isTls = first[0] === 0x16 && first[1] === 0x03
      const isPlain = first[0] === 0x13
      if ((isTls && mode.resetTls) || (!isTls && !isPlain && mode.resetMse)) { client.resetAndDestroy(); return }
      const upstream = net.connect(target, '127.0.0.1')
      upstream.on('error', () => client.destroy())
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
      const rewrite = (b: Buffer): Buffer => mode.strip ? Buffer.from(b.toString('latin1').replaceAll('5:bttlsi1e', '5:xxxxxi1e'), 'latin1') : b
      upstream.write(rewrite(first))
      client.on('data', d => upstream.write(rewrite(d)))
      upstream.on('data', d => client.write(rewrite(d)))
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  return (server.address() as net.AddressInfo).port
}

t.test('the extended handshake carries "bttls": 1 and our listen port', async t => {
  const { metainfo, dir, seeder } = await setup(t)
  const leecher = await session(t, { policy: 'allow-plain' })
  const h = await leecher.addTorrent(metainfo, join(dir, 'out'))
  const link = await leecher.connect(h, '127.0.0.1', seeder.port, false, { transport: 'plain' })
  const ext = await new Promise<Record<string, unknown>>(resolve => link!.wire.once('extended', (_: string, hs: Record<string, unknown>) => resolve(hs)))
  t.same(readCapability(ext), { tls: true, port: seeder.port })
  link!.close()
})

t.test('an MSE link to a peer that advertises bttls is upgraded to TLS and the old one dropped', async t => {
  const { metainfo, dir, sum, seeder } = await setup(t)
  const leecher = await session(t, { policy: 'allow-plain' })
  const h = await leecher.addTorrent(metainfo, join(dir, 'out'))
  const links: PeerLink[] = []
  leecher.on('link', l => links.push(l))
  const upgraded = next(leecher, 'upgraded')
  // An ordinary legacy dial (allow-plain, peer not known to speak bttls: MSE first). A dial forced to
  // one transport (a test/bench knob) is never upgraded, so this one is not forced.
  const legacy = await leecher.connect(h, '127.0.0.1', seeder.port, false)
  t.equal(legacy?.transport, 'mse')
  t.same(await upgraded, { host: '127.0.0.1', port: seeder.port, from: 'mse' })
  await legacy!.closed
  t.same(links.map(l => l.transport), ['mse', 'tls'])
  t.ok(leecher.capabilities.knownTls('127.0.0.1', seeder.port), 'remembered')
  await completed(h.swarm)
  t.equal(await fileSha256(join(dir, 'out', 'sig.bin')), sum)
  t.equal(h.swarm.stats().transports.mse.downloaded, 0, 'no payload crossed the MSE link')
})

t.test('an upgrade whose TLS dial fails releases the legacy link: the download completes over it', async t => {
  const { metainfo, dir, sum, seeder } = await setup(t)
  const proxy = await attacker(t, seeder.port, { resetTls: true })
  const leecher = await session(t, { policy: 'allow-plain' })
  const h = await leecher.addTorrent(metainfo, join(dir, 'out'))
  const refused = next(leecher, 'downgrade-refused')
  const legacy = await leecher.connect(h, '127.0.0.1', proxy, false)
  // MSE first under allow-plain (plaintext, should the proxy mistake MSE's random first bytes for TLS).
  const transport = legacy?.transport
  t.ok(transport === 'mse' || transport === 'plain', `a legacy link (${String(transport)})`)
  t.same((await refused).error.attempts.map(a => a.transport), ['tls'], 'the upgrade tried TLS only, and was reset')
  // Requests were held while the upgrade ran; held for good, this would never complete.
  await completed(h.swarm, 20_000)
  t.equal(await fileSha256(join(dir, 'out', 'sig.bin')), sum)
  t.equal(h.swarm.stats().transports[transport ?? 'mse'].downloaded, metainfo.contentLength, 'every byte over the legacy link')
})

t.test('a peer known to speak bttls is never dialed in the clear: TLS resets are refused and logged', async t => {
  const { metainfo, dir, seeder } = await setup(t)
  const proxy = await attacker(t, seeder.port, { resetTls: true })
  const leecher = await session(t, { policy: 'prefer-tls' })
  const h = await leecher.addTorrent(metainfo, join(dir, 'out'))
  leecher.capabilities.markTls('127.0.0.1', proxy, 'pex')
  const refused = next(leecher, 'downgrade-refused')
  t.equal(await leecher.connect(h, '127.0.0.1', proxy), undefined)
  const r = await refused
  t.equal(r.knownFrom, 'pex')
  t.same(r.error.attempts.map(a => a.transport), ['tls'], 'no MSE, no plaintext')
})

t.test('first contact under prefer-tls: an attacker who resets TLS and MSE and strips the key gets plaintext, and the log says so', async t => {
  const { metainfo, dir, seeder } = await setup(t)
  const proxy = await attacker(t, seeder.port, { resetTls: true, resetMse: true, strip: true })
  const leecher = await session(t, { policy: 'prefer-tls' })
  const h = await leecher.addTorrent(metainfo, join(dir, 'out'))
  const fallback = next(leecher, 'fallback')
  const link = await leecher.connect(h, '127.0.0.1', proxy)
  t.equal(link?.transport, 'plain')
  const f = await fallback
  t.same(f.from.map(a => a.transport), ['tls', 'mse'], 'the log names both failed attempts')
  t.equal(leecher.capabilities.knownTls('127.0.0.1', proxy), undefined, 'the stripped key taught nothing')
  link!.close()
})

t.test('a peer known to speak bttls that reaches us in the clear without the key is reported', async t => {
  const { metainfo, dir, seeder } = await setup(t)
  const leecher = await session(t, { policy: 'allow-plain' })
  const h = await leecher.addTorrent(metainfo, join(dir, 'out'))
  seeder.capabilities.markTls('127.0.0.1', leecher.port, 'tls-link')
  const proxy = await attacker(t, seeder.port, { strip: true })
  const suspected = next(seeder, 'downgrade-suspected')
  const link = await leecher.connect(h, '127.0.0.1', proxy, false, { transport: 'plain' })
  const s = await suspected
  t.same({ host: s.host, port: s.port, transport: s.transport, knownFrom: s.knownFrom }, { host: '127.0.0.1', port: leecher.port, transport: 'plain', knownFrom: 'tls-link' })
  link?.close()
})

t.test('capability memory: an IPv4 peer seen through a dual-stack listener is the same endpoint', async t => {
  const { CapabilityCache } = await import('../../src/session/capability-cache.js')
  const cache = new CapabilityCache()
  cache.markTls('::ffff:127.0.0.5', 6881, 'tls-link')
  t.ok(cache.knownTls('127.0.0.5', 6881))
  t.notOk(cache.knownTls('127.0.0.5', 6882))
  t.notOk(cache.knownTls('::1', 6881))
})
