/**
 * CLI of the secure tracker (issue 6): `bttls ca create`, `bttls tracker user add|revoke|list`,
 * `bttls tracker torrent add|list` through their exported functions, and `bttls tracker` serving in a
 * child process until SIGTERM. main.ts dispatches `tracker` and `ca` to trackerMain/caMain.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { X509Certificate } from 'node:crypto'
import { Reporter } from '../../src/cli/reporter.js'
import { caCreate, caMain } from '../../src/cli/commands/ca.js'
import { startTracker, trackerMain, trackerTorrentAdd, trackerTorrentList, trackerUserAdd, trackerUserList, trackerUserRevoke } from '../../src/cli/commands/tracker.js'
import { createPeerKeyAndCsr, verifyPeerCertificate } from '../../src/pki/certificate-profile.js'
import { announce } from '../../src/tracker/client/client.js'
import { readBttlsFields, CSR_PARAM } from '../../src/tracker/announce-keys.js'
import { TrackerDb } from '../../src/tracker/server/db.js'
import { fullStrictTorrent, peerId } from '../helpers/tracker.js'
import { tempDir } from '../helpers/session-pair.js'
import { quietly } from '../helpers/cli.js'

function capture (json = false): { reporter: Reporter, out: () => string, err: () => string } {
  const out = new PassThrough()
  const err = new PassThrough()
  let o = ''
  let e = ''
  out.on('data', d => { o += d })
  err.on('data', d => { e += d })
  return { reporter: new Reporter(json, out as unknown as typeof process.stdout, err as unknown as typeof process.stderr), out: () => o, err: () => e }
}

t.test('ca create writes ca.pem and ca.key (0600), refuses to overwrite', async t => {
  const dir = await tempDir(t)
  const c = capture()
  const { certFile, keyFile } = await caCreate({ out: join(dir, 'ca'), name: 'My Swarm' }, c.reporter)
  t.equal((await stat(keyFile)).mode & 0o777, 0o600)
  const cert = new X509Certificate(await readFile(certFile))
  t.ok(cert.ca)
  t.match(cert.subject, /CN=My Swarm/)
  t.ok(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(await readFile(keyFile))))
  t.equal(c.out(), `${certFile}\n`)
  await t.rejects(caCreate({ out: join(dir, 'ca') }, capture().reporter), { code: 'EEXIST' })
  const r = await quietly(() => caMain(['create']))
  t.equal(r.value, 2, 'usage error without --out')
  t.equal((await quietly(() => caMain(['create', '--out', join(dir, 'ca2'), '--json']))).value, 0)
  t.ok(await stat(join(dir, 'ca2', 'ca.key')))
})

t.test('user add prints the token once, revoke and list; the db is created on first use', async t => {
  const dir = await tempDir(t)
  const db = join(dir, 'admin.db')
  const c = capture()
  const token = trackerUserAdd({ db, name: 'alice' }, c.reporter)
  t.equal(c.out(), `${token}\n`, 'stdout is the token alone (scriptable)')
  t.match(c.err(), /shown once/)
  trackerUserAdd({ db, name: 'bob' }, capture().reporter)
  t.throws(() => trackerUserAdd({ db, name: 'alice' }, capture().reporter), { name: 'DuplicateUserError' })

  const j = capture(true)
  const { serials } = trackerUserRevoke({ db, name: 'bob' }, j.reporter)
  t.same(serials, [])
  t.match(JSON.parse(j.out()), { event: 'user-revoked', name: 'bob' })
  t.throws(() => trackerUserRevoke({ db, name: 'carol' }, capture().reporter), { name: 'UnknownUserError' })

  const l = capture()
  const users = trackerUserList({ db }, l.reporter)
  t.same(users.map(u => [u.name, u.revokedAt !== undefined, u.issued]), [['alice', false, 0], ['bob', true, 0]])
  t.match(l.out(), /^alice\tcreated \S+\trevoked -\t0 certificate\(s\)\nbob\tcreated \S+\trevoked 20\d\d-/)
  const lj = capture(true)
  trackerUserList({ db }, lj.reporter)
  t.match(JSON.parse(lj.out()), { event: 'users', users: [{ name: 'alice', revoked: null }, { name: 'bob' }] })

  // Through trackerMain: exit codes and output.
  const added = await quietly(() => trackerMain(['user', 'add', 'dora', '--db', db]))
  t.equal(added.value, 0)
  t.match(added.stdout, /^[0-9a-f]{64}\n$/)
  t.equal((await quietly(() => trackerMain(['user', 'revoke', 'dora', '--db', db]))).value, 0)
  t.equal((await quietly(() => trackerMain(['user', 'revoke', 'nobody', '--db', db]))).value, 1, 'unknown user: failure')
  t.equal((await quietly(() => trackerMain(['user', 'add', 'x']))).value, 2, 'no --db: usage error')
  t.equal((await quietly(() => trackerMain(['user', 'frobnicate', 'x', '--db', db]))).value, 2)
  t.equal((await quietly(() => trackerMain(['--db', db]))).value, 2, 'serving needs the CA')
  const listed = await quietly(() => trackerMain(['user', 'list', '--db', db, '--json']))
  t.equal(JSON.parse(listed.stdout).users.length, 3)
  t.notOk((await readFile(db)).includes(Buffer.from(token)), 'the token is not in the db')
})

t.test('torrent add registers a Full Strict torrent for a tracker started later; startTracker serves it', async t => {
  const dir = await tempDir(t)
  await caCreate({ out: join(dir, 'ca') }, capture().reporter)
  const ca = { certPem: await readFile(join(dir, 'ca', 'ca.pem'), 'utf8'), keyPem: await readFile(join(dir, 'ca', 'ca.key'), 'utf8') }
  const { metainfo, bytes } = await fullStrictTorrent(dir, ca)
  const torrentFile = join(dir, 'x.torrent')
  await writeFile(torrentFile, bytes)
  const db = join(dir, 'tracker.db')
  await trackerTorrentAdd({ db, torrent: torrentFile }, capture().reporter)
  t.same(trackerTorrentList({ db }, capture().reporter).map(x => x.name), [metainfo.name])
  const token = trackerUserAdd({ db, name: 'alice' }, capture().reporter)

  const c = capture(true)
  const running = await startTracker({ db, caCert: join(dir, 'ca', 'ca.pem'), caKey: join(dir, 'ca', 'ca.key'), lifetimeSeconds: 300 }, c.reporter)
  t.teardown(() => running.close())
  const events = c.out().trim().split('\n').map(l => JSON.parse(l))
  t.match(events.find(e => e.event === 'listening'), { port: running.server.port, url: running.server.announceUrl })
  const { csrDer } = await createPeerKeyAndCsr('p')
  const r = await announce(`${running.server.announceUrl}/${token}`, { infoHash: metainfo.wireInfoHash, peerId: peerId(), port: 1234, params: [[CSR_PARAM, csrDer.toString('base64url')]] }, { ca: ca.certPem })
  verifyPeerCertificate({ certDer: readBttlsFields(r.dict).certificateDer!, caCertPem: ca.certPem, torrent: metainfo })
  t.match(c.out(), /"event":"issued","user":"alice"/)
  t.equal(trackerUserList({ db }, capture().reporter)[0]!.issued, 1, 'the admin sees the issuance while the tracker runs')
})

t.test('bttls tracker serves in its own process until SIGTERM, printing its port', async t => {
  const dir = await tempDir(t)
  await caCreate({ out: join(dir, 'ca') }, capture().reporter)
  const ca = { certPem: await readFile(join(dir, 'ca', 'ca.pem'), 'utf8'), keyPem: '' }
  const { metainfo, bytes } = await fullStrictTorrent(dir, { ...ca, keyPem: await readFile(join(dir, 'ca', 'ca.key'), 'utf8') })
  await writeFile(join(dir, 'x.torrent'), bytes)
  const db = join(dir, 'new.db')
  // .js: the compiled module under build/, or its .ts source through the TypeScript loader.
  const module = fileURLToPath(new URL('../../src/cli/commands/tracker.js', import.meta.url))
  const args = ['--db', db, '--ca-cert', join(dir, 'ca', 'ca.pem'), '--ca-key', join(dir, 'ca', 'ca.key'), '--torrent', join(dir, 'x.torrent'), '--json', '--lifetime', '600']
  const child = spawn(process.execPath, ['--import', '@tapjs/typescript/import', '--input-type=module', '-e',
    `const m = await import(${JSON.stringify(module)}); process.exitCode = await m.trackerMain(${JSON.stringify(args)})`], {
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' }, stdio: ['ignore', 'pipe', 'pipe']
  })
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  t.teardown(() => { clearTimeout(killer); child.kill('SIGKILL') })
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', d => { stderr += d })
  const listening = await new Promise<{ port: number, url: string }>((resolve, reject) => {
    child.stdout.on('data', d => {
      stdout += d
      const line = stdout.split('\n').find(l => l.includes('"listening"'))
      if (line) resolve(JSON.parse(line))
    })
    child.once('exit', code => reject(new Error(`exited ${code}: ${stderr}`)))
  })
  t.ok(listening.port > 0)
  t.ok((await stat(db)).isFile(), 'the db was created on first start')
  const token = TrackerDb.open(db)
  const passkey = token.addUser('alice')
  token.close()
  const r = await announce(listening.url, { infoHash: metainfo.wireInfoHash, peerId: peerId(), port: 1, passkey }, { ca: ca.certPem })
  t.same(r.peers, [])
  child.kill('SIGTERM')
  const code = await new Promise(resolve => child.once('exit', resolve))
  t.equal(code, 0, 'exits 0 on SIGTERM')
})
