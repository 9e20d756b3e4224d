/**
 * SessionOptions.forceTransport, the knob bench/swarm-scale.ts builds its plaintext and MSE swarms
 * with: discovered peers that advertise bttls are still dialed over the forced transport (without it
 * the policy refuses MSE and plaintext to them), and it never widens a TLS-only level.
 */
import t from 'tap'
import { join } from 'node:path'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { DialError } from '../../src/errors.js'
import type { Session, SessionEvents } from '../../src/session/session.js'
import type { TransportKind } from '../../src/wire/peer-link.js'
import { secretCommitment } from '../../src/levels/strict-keys.js'
import { completed, fileSha256, randomFile, session, tempDir } from '../helpers/session-pair.js'

function next<E extends keyof SessionEvents> (s: Session, event: E): Promise<SessionEvents[E][0]> {
  return new Promise(resolve => (s as unknown as NodeJS.EventEmitter).once(event, resolve as (...args: unknown[]) => void))
}

async function swarmOf (forceTransport: TransportKind, strict = false) {
  const dir = await tempDir(t)
  const sum = await randomFile(join(dir, 'seed'), 'f.bin', 200_000)
  const secret = Buffer.alloc(32, 7)
  const strictOptions = strict ? { strict: { info: { mode: 'secret' as const, commitment: secretCommitment(secret) }, secret } } : {}
  const { bytes } = await createTorrent(join(dir, 'seed', 'f.bin'), { version: 'v1', pieceLength: 32 * 1024, ...strictOptions })
  const metainfo = parseTorrent(bytes)
  const seeder = await session(t, { host: '127.0.0.2', forceTransport })
  await seeder.addTorrent(metainfo, join(dir, 'seed'))
  const leecher = await session(t, { host: '127.0.0.3', forceTransport })
  const handle = await leecher.addTorrent(metainfo, join(dir, 'get'))
  return { dir, sum, seeder, leecher, handle }
}

for (const transport of ['plain', 'mse'] as const) {
  t.test(`forceTransport ${transport}: a peer a tracker flags as bttls is dialed over ${transport} and serves the torrent`, async t => {
    const { dir, sum, seeder, leecher, handle } = await swarmOf(transport)
    const linked = next(leecher, 'link')
    leecher.addPeers(handle, [{ host: '127.0.0.2', port: seeder.port, tls: true, source: 'tracker' }])
    const link = await linked
    t.equal(link.transport, transport)
    t.ok(leecher.capabilities.knownTls('127.0.0.2', seeder.port), 'the flag was remembered, and disregarded for the dial')
    await completed(handle.swarm)
    t.equal(await fileSha256(join(dir, 'get', 'f.bin')), sum)
  })
}

t.test('forceTransport never widens the level: a Strict torrent is still dialed over TLS only', async t => {
  const { seeder, leecher, handle } = await swarmOf('plain', true)
  const failed = next(leecher, 'dial-failed')
  t.equal(await leecher.connect(handle, '127.0.0.2', seeder.port), undefined)
  const { error } = await failed
  t.ok(error instanceof DialError)
  t.equal(error.name, 'DialError')
  t.equal(error.code, 'ERR_DIAL')
  t.match(error.message, /does not dial plain/)
})
