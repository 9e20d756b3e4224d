/**
 * Strict level (issue 5): the infohash alone is not enough. Positive and negative cases over real
 * loopback TLS, for the three modes: secret, passphrase, publisher.
 */
import t from 'tap'
import net from 'node:net'
import tls from 'node:tls'
import { join } from 'node:path'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { magnetUri, parseMagnet } from '../../src/torrent/magnet.js'
import { secretCommitment } from '../../src/levels/strict-keys.js'
import { rawPublisherKey, strictLevel } from '../../src/levels/strict.js'
import type { StrictInfo } from '../../src/torrent/strict-info.js'
import { basicLevel } from '../../src/levels/basic.js'
import { dial } from '../../src/wire/dialer.js'
import { secureOutbound } from '../../src/handshake/secure-outbound.js'
import { createResponderCertificate } from '../../src/pki/responder-certificate.js'
import { authHeader, encodeAuthMessage, decodeAuthMessage } from '../../src/protocol/auth-message.js'
import { readAuthMessage } from '../../src/handshake/bounded-read.js'
import { Deadline } from '../../src/handshake/deadline.js'
import { computeProof, connectionExporter } from '../../src/protocol/key-schedule.js'
import type { Refusal } from '../../src/wire/listener.js'
import { completed, fileSha256, randomFile, session, tempDir } from '../helpers/session-pair.js'

async function strictTorrent (dir: string, strict: { info: StrictInfo, secret?: Buffer }, version: 'v1' | 'hybrid' = 'v1') {
  const sum = await randomFile(join(dir, 'seed'), 's.bin', 300_000)
  const { bytes } = await createTorrent(join(dir, 'seed', 's.bin'), { version, pieceLength: 32 * 1024, strict })
  return { metainfo: parseTorrent(bytes), sum, bytes }
}

function secretStrict () {
  const secret = randomBytes(32)
  return { info: { mode: 'secret' as const, commitment: secretCommitment(secret) }, secret }
}

const nextRefusal = (s: { once: (e: 'refused', f: (r: Refusal) => void) => unknown }) => new Promise<Refusal>(resolve => s.once('refused', resolve))

t.test('secret mode: the .torrent carries the secret; transfer over TLS at level strict', async t => {
  const dir = await tempDir(t)
  const { metainfo, sum } = await strictTorrent(dir, secretStrict(), 'hybrid')
  t.equal(metainfo.strict?.mode, 'secret')
  t.ok(metainfo.strictSecret, 'the secret is read from the top level of the .torrent')
  t.notOk(metainfo.infoBytes.includes(metainfo.strictSecret!), 'the secret is not in the info dict (never sent over BEP 9)')
  const seeder = await session(t, { policy: 'prefer-tls' })
  const leecher = await session(t, { policy: 'prefer-tls' })
  await seeder.addTorrent(metainfo, join(dir, 'seed'))
  const h = await leecher.addTorrent(metainfo, join(dir, 'out'))
  const link = await leecher.connect(h, '127.0.0.1', seeder.port)
  t.equal(link?.tls?.level, 'strict')
  await completed(h.swarm)
  t.equal(await fileSha256(join(dir, 'out', 's.bin')), sum)
})

t.test('secret mode by magnet: x.bttls.secret; metadata and data inside Strict TLS', async t => {
  const dir = await tempDir(t)
  const { metainfo, sum } = await strictTorrent(dir, secretStrict())
  const uri = magnetUri(metainfo, { secret: metainfo.strictSecret })
  t.match(uri, /x\.bttls=strict-secret&x\.bttls\.secret=[0-9a-f]{64}/)
  t.notMatch(magnetUri(metainfo), /secret=/, 'without the option the magnet leaves the secret out')
  const seeder = await session(t)
  await seeder.addTorrent(metainfo, join(dir, 'seed'))
  const leecher = await session(t)
  const h = leecher.addMagnet(parseMagnet(uri), join(dir, 'out'))
  await leecher.connect(h, '127.0.0.1', seeder.port)
  await completed(h.swarm)
  t.equal(await fileSha256(join(dir, 'out', 's.bin')), sum)
})

t.test('infohash only: a Basic peer (DHT crawler, indexer, magnet without secret) is refused and learns nothing', async t => {
  const dir = await tempDir(t)
  const { metainfo } = await strictTorrent(dir, secretStrict())
  const seeder = await session(t, { policy: 'prefer-tls' })
  await seeder.addTorrent(metainfo, join(dir, 'seed'))
  const ih = metainfo.infoHashV1!
  // TLS at the Basic level with the right infohash:
  let refused = nextRefusal(seeder)
  const basicErr = await dial({ host: '127.0.0.1', port: seeder.port, level: basicLevel([ih]), wireInfoHash: ih, policy: 'require-tls' }).catch(e => e)
  t.equal(basicErr.attempts[0].error.name, 'DecoyAnswerError', 'initiator: a web answer, without an AuthReply')
  t.equal((await refused).error.name, 'LevelMismatchError', 'responder logs: a Basic proof for a Strict torrent\'s infohash')
  t.match(basicErr.attempts[0].error.message, /does not serve this swarm at level basic/)
  // MSE and plaintext with the right infohash:
  for (const knownTls of [false] as const) {
    refused = nextRefusal(seeder)
    const link = await dial({ host: '127.0.0.1', port: seeder.port, level: basicLevel([ih]), wireInfoHash: ih, policy: 'allow-plain', knownTls })
    link.wire.handshake(ih, randomBytes(20), {})
    const r = await refused
    t.equal(r.error.name, 'PolicyViolationError', `${r.transport}: a Strict torrent is TLS-only`)
    link.close()
  }
  // a magnet without the secret cannot even be added
  const bare = parseMagnet(magnetUri(metainfo))
  const leecher = await session(t)
  t.throws(() => leecher.addMagnet(bare, join(dir, 'x')), { name: 'MissingCredentialError' })
})

t.test('a secret given by the user wins over the one the magnet link carries, for the keys and the metadata check', async t => {
  const dir = await tempDir(t)
  const { metainfo, sum } = await strictTorrent(dir, secretStrict())
  // A link that carries a stale secret; the user knows the right one.
  const stale = parseMagnet(magnetUri(metainfo, { secret: randomBytes(32) }))
  const seeder = await session(t)
  await seeder.addTorrent(metainfo, join(dir, 'seed'))
  const leecher = await session(t)
  const h = leecher.addMagnet(stale, join(dir, 'out'), { secret: metainfo.strictSecret })
  await leecher.connect(h, '127.0.0.1', seeder.port)
  await completed(h.swarm)
  t.equal(await fileSha256(join(dir, 'out', 's.bin')), sum, 'the metadata is checked against the user\'s secret, and the data arrives')
})

t.test('passphrase mode: an empty or ill-formed passphrase is refused, never repaired', async t => {
  const infoHash = randomBytes(20)
  t.throws(() => strictLevel([infoHash], { mode: 'passphrase' }, { passphrase: '' }), { name: 'MissingCredentialError' }, 'empty')
  t.throws(() => strictLevel([infoHash], { mode: 'passphrase' }, { passphrase: 'abc\ud800def' }),
    { name: 'InvalidPassphraseError', code: 'ERR_INVALID_PASSPHRASE' }, 'an unpaired surrogate')
  t.doesNotThrow(() => strictLevel([infoHash], { mode: 'passphrase' }, { passphrase: ' leading and trailing spaces ' }), 'whitespace is part of it')
})

t.test('wrong secret: caught against the commitment before dialing', async t => {
  const dir = await tempDir(t)
  const { metainfo } = await strictTorrent(dir, secretStrict())
  const leecher = await session(t)
  const { strictSecret: _, ...withoutSecret } = metainfo
  await t.rejects(leecher.addTorrent(withoutSecret as typeof metainfo, join(dir, 'out'), { secret: randomBytes(32) }), { name: 'StrictSecretMismatchError' })
  await t.rejects(leecher.addTorrent(withoutSecret as typeof metainfo, join(dir, 'out')), { name: 'MissingCredentialError' })
})

t.test('passphrase mode: right passphrase transfers; a wrong one is refused on both sides', async t => {
  const dir = await tempDir(t)
  const { metainfo, sum } = await strictTorrent(dir, { info: { mode: 'passphrase' } })
  t.equal(metainfo.strictSecret, undefined, 'nothing secret is stored')
  const seeder = await session(t)
  await seeder.addTorrent(metainfo, join(dir, 'seed'), { passphrase: 'correct horse battery staple' })
  const wrong = await session(t)
  const failures: string[] = []
  wrong.on('dial-failed', f => failures.push(f.error.attempts.map(a => `${a.transport}:${a.error.name}`).join()))
  const hw = await wrong.addTorrent(metainfo, join(dir, 'wrong'), { passphrase: 'correct horse battery stapler' })
  const refused = nextRefusal(seeder)
  t.equal(await wrong.connect(hw, '127.0.0.1', seeder.port), undefined)
  t.same(failures, ['tls:DecoyAnswerError'], 'initiator: the web site answered, and no fallback for a Strict torrent')
  t.equal((await refused).error.name, 'UnknownSwarmError')
  const right = await session(t)
  const h = await right.addTorrent(metainfo, join(dir, 'out'), { passphrase: 'correct horse battery staple' })
  await right.connect(h, '127.0.0.1', seeder.port)
  await completed(h.swarm)
  t.equal(await fileSha256(join(dir, 'out', 's.bin')), sum)
})

function publisherKeys () {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  return { privateKey, info: { mode: 'publisher' as const, publisherKey: rawPublisherKey(publicKey) } }
}

t.test('publisher mode: an authentic seed proves the key; --require-publisher refuses other holders', async t => {
  const dir = await tempDir(t)
  const { privateKey, info } = publisherKeys()
  const { metainfo, sum } = await strictTorrent(dir, { info })
  const publisher = await session(t)
  await publisher.addTorrent(metainfo, join(dir, 'seed'), { publisherPrivateKey: privateKey })
  const leecher = await session(t)
  const h = await leecher.addTorrent(metainfo, join(dir, 'out'), { requirePublisher: true })
  await leecher.connect(h, '127.0.0.1', publisher.port)
  await completed(h.swarm)
  t.equal(await fileSha256(join(dir, 'out', 's.bin')), sum)

  // A holder of the torrent without the private key seeds the same data: a leecher that requires the
  // publisher refuses it with a typed error.
  const holder = await session(t)
  await holder.addTorrent(metainfo, join(dir, 'seed'))
  const picky = await session(t)
  const errors: string[] = []
  picky.on('dial-failed', f => errors.push(f.error.attempts[0]!.error.name))
  const h2 = await picky.addTorrent(metainfo, join(dir, 'picky'), { requirePublisher: true })
  t.equal(await picky.connect(h2, '127.0.0.1', holder.port), undefined)
  t.same(errors, ['PublisherRequiredError'])
  // ...while a leecher that does not require it accepts the holder.
  const relaxed = await session(t)
  const h3 = await relaxed.addTorrent(metainfo, join(dir, 'relaxed'))
  t.equal((await relaxed.connect(h3, '127.0.0.1', holder.port))?.tls?.level, 'strict')
})

t.test('publisher mode: a private key that is not the torrent\'s is refused locally', async t => {
  const dir = await tempDir(t)
  const { info } = publisherKeys()
  const { metainfo } = await strictTorrent(dir, { info })
  const s = await session(t)
  await t.rejects(s.addTorrent(metainfo, join(dir, 'seed'), { publisherPrivateKey: generateKeyPairSync('ed25519').privateKey }), { name: 'StrictSecretMismatchError' })
})

t.test('publisher mode: an insider (knows the torrent, not the private key) cannot stand in the middle', async t => {
  const dir = await tempDir(t)
  const { privateKey, info } = publisherKeys()
  const { metainfo } = await strictTorrent(dir, { info })
  const publisher = await session(t)
  await publisher.addTorrent(metainfo, join(dir, 'seed'), { publisherPrivateKey: privateKey })
  const ih = metainfo.infoHashV1!
  const insiderLevel = strictLevel([ih], info)
  const key = insiderLevel.swarmKeys[0]!.key
  // The insider terminates the victim's TLS, makes fresh valid proofs (it knows the swarm key) on both
  // sides, and forwards the publisher's signature, which is bound to the other connection's exporter.
  const { cert, key: tlsKey } = await createResponderCertificate()
  const server = tls.createServer({ cert, key: tlsKey, minVersion: 'TLSv1.3' }, async victim => {
    victim.on('error', () => {})
    try {
      const victimExporter = connectionExporter(victim)
      await readAuthMessage(victim, Deadline.after(5000), 'AuthHello')
      const upstream = tls.connect({ port: publisher.port, host: '127.0.0.1', rejectUnauthorized: false, minVersion: 'TLSv1.3' })
      await once(upstream, 'secureConnect')
      const upExporter = connectionExporter(upstream)
      const h = authHeader('strict')
      upstream.write(encodeAuthMessage({ level: 'strict', proof: computeProof(key, 'initiator', h, upExporter) }))
      const reply = decodeAuthMessage(await readAuthMessage(upstream, Deadline.after(5000), 'AuthReply'))
      const rh = authHeader('strict', reply.flags)
      victim.write(encodeAuthMessage({ level: 'strict', flags: reply.flags, proof: computeProof(key, 'responder', rh, victimExporter), signature: reply.signature }))
    } catch { victim.destroy() }
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const raw = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  await once(raw, 'connect')
  const victimLevel = strictLevel([ih], info, { requirePublisher: true })
  const err = await secureOutbound(raw, victimLevel).catch(e => e)
  t.equal(err.name, 'PublisherProofError', 'the relayed signature does not verify for the victim\'s connection')
})

t.test('magnet: the Strict parameters must fit together', async t => {
  const ih = '0123456789abcdef0123456789abcdef01234567'
  const key = 'ab'.repeat(32)
  t.throws(() => parseMagnet(`magnet:?xt=urn:btih:${ih}&x.bttls.pk=${key}`), { name: 'InvalidMagnetError' }, 'pk without x.bttls')
  t.throws(() => parseMagnet(`magnet:?xt=urn:btih:${ih}&x.bttls=strict-secret&x.bttls.pk=${key}`), { name: 'InvalidMagnetError' }, 'pk with another mode')
  t.throws(() => parseMagnet(`magnet:?xt=urn:btih:${ih}&x.bttls=strict-publisher`), { name: 'InvalidMagnetError' }, 'publisher without pk')
  t.throws(() => parseMagnet(`magnet:?xt=urn:btih:${ih}&x.bttls=strict-passphrase&x.bttls.secret=${key}`), { name: 'InvalidMagnetError' }, 'secret with another mode')
  t.throws(() => parseMagnet(`magnet:?xt=urn:btih:${ih}&x.bttls=full`), { name: 'InvalidMagnetError' }, 'unknown mode')
  t.equal(parseMagnet(`magnet:?xt=urn:btih:${ih}&x.bttls=strict-publisher&x.bttls.pk=${key}`).strict?.mode, 'publisher')
})
