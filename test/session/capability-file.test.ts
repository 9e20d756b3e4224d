/**
 * The capability memory across restarts (issue 16, item 5): a session that reached a peer over TLS
 * remembers it after a restart; third-party claims are not saved; the file is bounded (size, entries,
 * expiries) and private (0600); a bad file is a typed error, bad lines are skipped.
 */
import t from 'tap'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { BttlsError } from '../../src/errors.js'
import { CapabilityCache, DEFAULT_TLS_MEMORY_MS } from '../../src/session/capability-cache.js'
import {
  CAPABILITY_FILE_HEADER, CapabilityFileError, MAX_ENTRIES, MAX_FILE_BYTES, readCapabilityFile, writeCapabilityFile
} from '../../src/session/capability-file.js'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { Session } from '../../src/session/session.js'
import { rejection } from '../helpers/tcp.js'
import { randomFile, session, tempDir } from '../helpers/session-pair.js'

t.test('a peer reached over TLS is still known after a restart; PEX and tracker claims are not saved', async t => {
  const dir = await tempDir(t)
  await randomFile(join(dir, 'seed'), 'd.bin', 40_000)
  const metainfo = parseTorrent((await createTorrent(join(dir, 'seed', 'd.bin'), { version: 'v1', pieceLength: 16 * 1024 })).bytes)
  const file = join(dir, 'capabilities')
  const seeder = await session(t, { host: '127.0.0.2', pex: false, trackers: false })
  await seeder.addTorrent(metainfo, join(dir, 'seed'))
  const a = await Session.start({ host: '127.0.0.3', pex: false, trackers: false, capabilityFile: file })
  const h = await a.addTorrent(metainfo, join(dir, 'a'))
  t.ok(await a.connect(h, '127.0.0.2', seeder.port))
  t.ok(a.capabilities.knownTls('127.0.0.2', seeder.port), 'known in this session')
  a.capabilities.markTls('127.0.0.9', 6881, 'pex')
  a.capabilities.markTls('127.0.0.10', 6881, 'tracker')
  await a.close()
  const text = await readFile(file, 'utf8')
  t.match(text, new RegExp(`^${CAPABILITY_FILE_HEADER}\\n127\\.0\\.0\\.2 ${seeder.port} tls-link \\d+\\n$`), 'one first-hand entry')
  t.equal((await stat(file)).mode & 0o777, 0o600, 'readable by the user only')
  const b = await session(t, { host: '127.0.0.3', pex: false, trackers: false, capabilityFile: file })
  t.equal(b.capabilities.knownTls('127.0.0.2', seeder.port)?.source, 'tls-link', 'known again after the restart')
  t.notOk(b.capabilities.knownTls('127.0.0.9', 6881), 'the PEX claim died with the session')
  t.notOk(b.capabilities.knownTls('127.0.0.10', 6881), 'the tracker claim too')
})

t.test('reading: missing file, bad lines, capped and expired entries, the entry bound', async t => {
  const dir = await tempDir(t)
  const now = 1_800_000_000_000
  const cache = new CapabilityCache(DEFAULT_TLS_MEMORY_MS, () => now)
  t.same(await readCapabilityFile(join(dir, 'none'), cache), { restored: 0, skipped: 0 }, 'no file: empty memory')
  const s = Math.floor(now / 1000)
  await writeFile(join(dir, 'f'), [CAPABILITY_FILE_HEADER,
    `10.0.0.1 6881 tls-link ${s + 3600}`,
    `10.0.0.2 6881 extended-handshake ${s + 100 * 365 * 86400}`,
    `10.0.0.3 6881 tls-link ${s - 1}`,
    `10.0.0.4 6881 pex ${s + 3600}`,
    `not-an-ip 6881 tls-link ${s + 3600}`,
    `10.0.0.5 0 tls-link ${s + 3600}`,
    `10.0.0.6 70000 tls-link ${s + 3600}`,
    `10.0.0.7 6881 tls-link soon`,
    '10.0.0.8 6881 tls-link',
    `2001:db8::1 6881 tls-link ${s + 3600}`, ''].join('\n'))
  t.same(await readCapabilityFile(join(dir, 'f'), cache), { restored: 4, skipped: 6 })
  t.equal(cache.knownTls('10.0.0.1', 6881)?.expires, (s + 3600) * 1000)
  t.equal(cache.knownTls('10.0.0.2', 6881)?.expires, now + DEFAULT_TLS_MEMORY_MS, 'a far expiry is capped at one lifetime')
  t.notOk(cache.knownTls('10.0.0.3', 6881), 'expired: dropped')
  t.notOk(cache.knownTls('10.0.0.4', 6881), 'a third-party source in the file is refused')
  t.ok(cache.knownTls('2001:db8::1', 6881))

  const many = [CAPABILITY_FILE_HEADER, ...Array.from({ length: MAX_ENTRIES + 5 }, (_, i) => `10.1.${i >> 8 & 255}.${i & 255} ${1000 + (i >> 16)} tls-link ${s + 60}`)].join('\n')
  const big = new CapabilityCache(DEFAULT_TLS_MEMORY_MS, () => now)
  await writeFile(join(dir, 'many'), many)
  t.same(await readCapabilityFile(join(dir, 'many'), big), { restored: MAX_ENTRIES, skipped: 5 }, `at most ${MAX_ENTRIES} entries`)
  t.equal(big.size, MAX_ENTRIES)
})

t.test('a file that is not a capability file, or too large, is a typed error (also from Session.start)', async t => {
  const dir = await tempDir(t)
  await writeFile(join(dir, 'wrong'), 'something else\n')
  await writeFile(join(dir, 'large'), CAPABILITY_FILE_HEADER + '\n' + 'x'.repeat(MAX_FILE_BYTES))
  for (const [name, re] of [['wrong', /not a capability memory file/], ['large', /larger than/]] as const) {
    const err = await rejection(readCapabilityFile(join(dir, name), new CapabilityCache()))
    t.equal(err.name, 'CapabilityFileError')
    t.ok(err instanceof CapabilityFileError && err instanceof BttlsError)
    t.equal((err as CapabilityFileError).code, 'ERR_CAPABILITY_FILE')
    t.match(err.message, re)
  }
  const err = await rejection(Session.start({ host: '127.0.0.1', trackers: false, capabilityFile: join(dir, 'wrong') }))
  t.equal(err.name, 'CapabilityFileError', 'the session does not start on a bad file')
  const dirErr = await rejection(readCapabilityFile(dir, new CapabilityCache()))
  t.equal(dirErr.name, 'CapabilityFileError', 'a directory in its place')
  const writeErr = await rejection(writeCapabilityFile(join(dir, 'no', 'such', 'dir'), new CapabilityCache()))
  t.equal(writeErr.name, 'CapabilityFileError', 'an unwritable path')
})

t.test('writing keeps the latest expiries within the bound, and round-trips', async t => {
  const dir = await tempDir(t)
  let now = 1_800_000_000_000
  const cache = new CapabilityCache(DEFAULT_TLS_MEMORY_MS, () => now)
  cache.markTls('10.0.0.1', 1, 'tls-link')
  now += 5000
  cache.markTls('::ffff:10.0.0.2', 2, 'extended-handshake')
  cache.markTls('10.0.0.3', 3, 'user')
  t.equal(await writeCapabilityFile(join(dir, 'f'), cache), 2, 'first-hand entries only')
  const back = new CapabilityCache(DEFAULT_TLS_MEMORY_MS, () => now)
  t.same(await readCapabilityFile(join(dir, 'f'), back), { restored: 2, skipped: 0 })
  t.ok(back.knownTls('10.0.0.2', 2), 'the IPv4-mapped form is stored as the plain address')
  t.equal(back.knownTls('10.0.0.1', 1)?.expires, Math.floor((now - 5000 + DEFAULT_TLS_MEMORY_MS) / 1000) * 1000)
})
