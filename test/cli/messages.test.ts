/**
 * `bttls` never misleads (issue 12): every line it prints is true and one line, usage errors are
 * usage errors, and what a BitTorrent user expects is there (--version, SSLKEYLOGFILE, credentials
 * outside argv, keygen, a status line that fits the terminal). Real files, loopback sockets; the CLI
 * runs in this process, and in a child process where the process is the point: seeders (they wait for
 * a signal), the environment, a closed stdout, the display through a pty (`script`).
 */
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { ROOT } from '../helpers/project-root.js'
import { execFile, spawn } from 'node:child_process'
import { createServer } from 'node:http'
import { networkInterfaces } from 'node:os'
import { generateKeyPairSync } from 'node:crypto'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { buildCli, CLI_MAIN, inBackground, runCli, runInProcess, type CliResult } from '../helpers/cli.js'
import { fileSha256, randomFile, tempDir } from '../helpers/session-pair.js'
import { createPeerKeyAndCsr, createSwarmCa, issuePeerCertificate } from '../../src/pki/certificate-profile.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { VERSION } from '../../src/version.js'
import { PEER_ID_PREFIX } from '../../src/swarm/peer-id.js'
import { EventEmitter } from 'node:events'
import { Reporter, reportSession } from '../../src/cli/reporter.js'
import { DialError } from '../../src/errors.js'
import type { Session } from '../../src/session/session.js'

/** The ANSI erase-to-end-of-line the status line redraws with. */
const ERASE_LINE = '\u001b[K'

// A compile, the CLI's modules loaded here, and a handful of CLI processes on a loaded 2-core machine.
t.setTimeout(480_000)
t.before(async () => { await buildCli() })

/**
 * `bttls <args>` in this process (helpers/cli.ts); with `env`, in a child process, as the environment
 * is the process's.
 */
async function run (args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
  return env === undefined ? await runInProcess(args) : await runCli(args, { env, timeoutMs: 90_000 }).result
}

/** A usage error: exit 2, the reason and the hint on stderr, nothing on stdout. */
function usageError (t: Test, r: CliResult, message: RegExp, what: string): void {
  t.equal(r.code, 2, `${what}: exit 2 (${r.stderr})`)
  t.match(r.stderr, new RegExp(`^bttls: ${message.source}`), what)
  t.notMatch(r.stderr, /Error:/, `${what}: no error class name`)
  t.equal(r.stdout, '', `${what}: nothing on stdout`)
}

/** Starts `bttls seed` in a child process (helpers/cli.ts inBackground); resolves with its port and its JSON events. */
async function seeder (t: Test, args: string[]): Promise<{ port: number, events: Array<Record<string, unknown>> }> {
  return await inBackground(t, ['seed', ...args])
}

function sh (command: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise(resolve => {
    execFile('bash', ['-c', command], { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr })
    })
  })
}

const quote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`
const cli = (args: string[]): string => [process.execPath, CLI_MAIN, ...args].map(quote).join(' ')

t.test('usage errors say what is wrong, on stderr, exit 2', async t => {
  const dir = await tempDir(t)
  await randomFile(dir, 'u.bin', 40_000)
  const torrent = join(dir, 'u.torrent')
  t.equal((await run(['create', join(dir, 'u.bin'), '-o', torrent, '--v1'])).code, 0)
  const { privateKey: rsa } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  await writeFile(join(dir, 'rsa.pem'), rsa.export({ format: 'pem', type: 'pkcs8' }))
  const [unknown, missing, none, dht, secret, passphrase, requirePublisher, rsaKey, version, help] = await Promise.all([
    run(['foo', 'x']),
    run(['get', torrent, '--out']),
    run([]),
    run(['get', torrent, '--out', dir, '--dht-bootstrap', 'nowhere']),
    run(['get', torrent, '--out', dir, '--secret', 'ab'.repeat(32), '--peer', '127.0.0.1:1']),
    run(['get', torrent, '--out', dir, '--passphrase', 'x', '--peer', '127.0.0.1:1']),
    run(['get', torrent, '--out', dir, '--require-publisher', '--peer', '127.0.0.1:1']),
    run(['seed', torrent, '--data', dir, '--publisher-key', join(dir, 'rsa.pem')]),
    run(['--version']),
    run(['--help'])
  ])
  usageError(t, unknown, /unknown command "foo"/, 'unknown command')
  usageError(t, missing, /--out needs a value/, 'missing option value')
  t.equal(none.code, 2, 'no command: exit 2')
  t.match(none.stderr, /^usage:/, 'no command: the usage on stderr')
  t.equal(none.stdout, '', 'no command: nothing on stdout')
  usageError(t, dht, /--dht-bootstrap wants host:port/, '--dht-bootstrap names itself')
  usageError(t, secret, /--secret: for Strict torrents, and this torrent is Basic/, '--secret on a Basic torrent')
  usageError(t, passphrase, /--passphrase: for Strict torrents/, '--passphrase on a Basic torrent')
  usageError(t, requirePublisher, /--require-publisher: for Strict torrents/, '--require-publisher on a Basic torrent')
  usageError(t, rsaKey, /--publisher-key .*rsa\.pem: an RSA key; a publisher key is Ed25519 \(make one with "bttls keygen"\)/, 'RSA publisher key')
  t.equal(version.code, 0)
  t.equal(version.stdout, `bttls ${VERSION}\n`, '--version')
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  t.equal(VERSION, pkg.version, 'src/version.ts is package.json\'s version')
  t.equal(help.code, 0)
  t.match(help.stdout, /^usage:/, '--help: the usage on stdout')
})

t.test('create: hybrid by default is warned about; --v1, sizes, --private, --comment; inspect --json lists the files', async t => {
  const dir = await tempDir(t)
  await randomFile(join(dir, 'tree'), 'a.bin', 70_000)
  await randomFile(join(dir, 'tree'), 'b.bin', 10_000)
  const [hybrid, v1, badSize] = await Promise.all([
    run(['create', join(dir, 'tree'), '-o', join(dir, 'h.torrent')]),
    run(['create', join(dir, 'tree'), '-o', join(dir, 'v1.torrent'), '--v1', '--piece-length', '32K', '--private', '--comment', 'made by a test']),
    run(['create', join(dir, 'tree'), '-o', join(dir, 'x.torrent'), '--piece-length', 'big'])
  ])
  t.equal(hybrid.code, 0, hybrid.stderr)
  t.match(hybrid.stderr, /^warning: hybrid \(v1\+v2\) by default: aria2 1\.36 .* Transmission 3\.00 .*--v1/m, 'hybrid default warned')
  t.equal(v1.code, 0, v1.stderr)
  t.equal(v1.stderr, '', 'an explicit version: no warning')
  usageError(t, badSize, /--piece-length wants a size such as/, '--piece-length big')
  const inspected = await run(['inspect', join(dir, 'v1.torrent'), '--json'])
  t.equal(inspected.code, 0, inspected.stderr)
  const e = JSON.parse(inspected.stdout.trim())
  t.equal(e.event, 'inspect')
  t.equal(e.pieceLength, 32768, '32K')
  t.equal(e.private, true, '--private')
  t.equal(e.comment, 'made by a test', '--comment')
  t.same(e.fileList, [{ path: 'a.bin', length: 70_000 }, { path: 'b.bin', length: 10_000 }], 'the file list')
})

t.test('keygen makes the publisher key create --strict-cert and seed --publisher-key take', async t => {
  const dir = await tempDir(t)
  await randomFile(dir, 'k.bin', 20_000)
  const key = join(dir, 'publisher.pem')
  const made = await run(['keygen', key])
  t.equal(made.code, 0, made.stderr)
  t.equal((await stat(key)).mode & 0o777, 0o600, 'the private key is 0600')
  const created = await run(['create', join(dir, 'k.bin'), '-o', join(dir, 'k.torrent'), '--strict-cert', join(dir, 'publisher.pub.pem')])
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, /level strict \(publisher\)/)
  const again = await run(['keygen', key])
  usageError(t, again, /.*publisher\.pem exists; keygen never overwrites a key/, 'keygen again')
})

t.test('credentials from a file or the environment; a missing or unusable Full Strict credential fails at once', async t => {
  const dir = await tempDir(t)
  await randomFile(dir, 'p.bin', 20_000)
  const torrent = join(dir, 'p.torrent')
  t.equal((await run(['create', join(dir, 'p.bin'), '-o', torrent, '--strict-secret', '--passphrase', 'x', '--v1'])).code, 0)
  await writeFile(join(dir, 'pass.txt'), 'correct horse\n', { mode: 0o600 })
  const ca = await createSwarmCa('test CA')
  await writeFile(join(dir, 'ca.pem'), ca.certPem)
  const fsTorrent = join(dir, 'fs.torrent')
  t.equal((await run(['create', join(dir, 'p.bin'), '-o', fsTorrent, '--full-strict', '--ca', join(dir, 'ca.pem'), '--v1'])).code, 0)
  const m = parseTorrent(await readFile(fsTorrent))
  const { keyPem, csrDer } = await createPeerKeyAndCsr('peer')
  const expired = await issuePeerCertificate({ ca, csrDer, torrent: m, lifetimeSeconds: 3600, now: new Date(Date.now() - 10 * 86_400_000) })
  await writeFile(join(dir, 'old.pem'), expired.certPem)
  await writeFile(join(dir, 'peer.key'), keyPem)
  const [none, fromFile, fromEnv, noCert, oldCert] = await Promise.all([
    run(['get', torrent, '--out', join(dir, 'o')]),
    run(['get', torrent, '--out', join(dir, 'o'), '--passphrase-file', join(dir, 'pass.txt')]),
    run(['get', torrent, '--out', join(dir, 'o')], { BTTLS_PASSPHRASE: 'correct horse' }),
    run(['get', fsTorrent, '--out', join(dir, 'o'), '--peer', '127.0.0.1:1']),
    run(['get', fsTorrent, '--out', join(dir, 'o'), '--peer', '127.0.0.1:1', '--cert', join(dir, 'old.pem'), '--key', join(dir, 'peer.key')])
  ])
  t.match(none.stderr, /MissingCredentialError: .*passphrase/, 'without it: the passphrase is missing')
  for (const [r, what] of [[fromFile, '--passphrase-file'], [fromEnv, 'BTTLS_PASSPHRASE']] as const) {
    t.equal(r.code, 1, what)
    t.match(r.stderr, /DownloadFailedError: no peer to download from/, `${what}: the credential was taken, the run went on`)
  }
  t.equal(noCert.code, 1)
  t.match(noCert.stderr, /^bttls: MissingCredentialError: this Full Strict torrent needs a certificate from its CA: --cert .* or --passkey/m, 'no certificate')
  t.equal(oldCert.code, 1)
  t.match(oldCert.stderr, /^bttls: CertificateExpiredError: --cert: the certificate expired at .*; peers would refuse it/m, 'an expired certificate')
  t.notMatch(noCert.stderr + oldCert.stderr, /could not connect/, 'said before dialing anyone')
})

t.test('downloads and seeding: true numbers, true lines', async t => {
  const dir = await tempDir(t)
  const sum = await randomFile(join(dir, 'seed'), 'data.bin', 1_000_000)
  const torrent = join(dir, 'data.torrent')
  t.equal((await run(['create', join(dir, 'seed', 'data.bin'), '-o', torrent, '--v1', '--piece-length', '16K'])).code, 0)
  const seed = await seeder(t, [torrent, '--data', join(dir, 'seed', 'data.bin')])
  const peer = `127.0.0.1:${seed.port}`

  await t.test('the final rate counts this session\'s bytes; SSLKEYLOGFILE is honoured, 0600', async t => {
    const keylog = join(dir, 'keys.log')
    const first = await run(['get', torrent, '--out', join(dir, 'out'), '--peer', peer], { SSLKEYLOGFILE: keylog })
    t.equal(first.code, 0, first.stderr)
    t.match(first.stdout, /done: data\.bin, 1\.0 MiB, 1\.0 MiB received in [\d.]+ s/)
    t.equal(await fileSha256(join(dir, 'out', 'data.bin')), sum)
    t.equal((await stat(keylog)).mode & 0o777, 0o600, 'the key log is 0600')
    t.match(await readFile(keylog, 'utf8'), /^CLIENT_HANDSHAKE_TRAFFIC_SECRET [0-9a-f]+ [0-9a-f]+$/m, 'TLS secrets in SSLKEYLOGFILE format')
    const again = await run(['get', torrent, '--out', join(dir, 'out'), '--peer', peer])
    t.equal(again.code, 0, again.stderr)
    t.match(again.stdout, /done: data\.bin, 1\.0 MiB, already on disk, nothing downloaded; (\d+)\/\1 pieces verified/)
    t.notMatch(again.stdout, /MiB\/s/, 'no rate for bytes not transferred')
  })

  await t.test('get --json | head -2 does not exit 0 without a verified download', async t => {
    const r = await sh(`${cli(['get', torrent, '--out', join(dir, 'epipe'), '--json', '--peer', '127.0.0.1:1', '--tracker', 'http://127.0.0.1:1/announce', '--stop-timeout', '20'])} | head -2; echo "status=\${PIPESTATUS[0]}" >&2`)
    t.equal(r.stdout.trim().split('\n').length, 2, 'head read two lines')
    t.match(r.stderr, /status=1\b/, 'bttls exited 1')
    t.match(r.stderr, /^bttls: stdout was closed before the command finished$/m)
  })

  await t.test('a refused connect is said once, as such', async t => {
    const r = await run(['get', torrent, '--out', join(dir, 'dead'), '--peer', '127.0.0.1:1'])
    t.equal(r.code, 1)
    t.match(r.stderr, /^could not connect to 127\.0\.0\.1:1: connection refused$/m)
    t.match(r.stderr, /^bttls: DownloadFailedError: no peer can complete the download \(127\.0\.0\.1:1: connection refused\)$/m)
    t.notMatch(r.stderr, /could not connect to 127\.0\.0\.1:1.*could not connect/, 'no repeated prefix')
  })

  await t.test('a magnet\'s tr= tracker is announced to (and our peer id is our own client code)', async t => {
    const peerIds: string[] = []
    const tracker = createServer((req, res) => {
      const id = /[?&]peer_id=([^&]*)/.exec(req.url ?? '')?.[1]
      if (id !== undefined) peerIds.push(id.replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))))
      const compact = Buffer.from([127, 0, 0, 1, seed.port >> 8, seed.port & 0xff])
      res.end(Buffer.concat([Buffer.from(`d8:intervali60e5:peers${compact.length}:`), compact, Buffer.from('e')]))
    })
    await new Promise<void>(resolve => tracker.listen(0, '127.0.0.1', resolve))
    t.teardown(() => { tracker.close() })
    const { port } = tracker.address() as { port: number }
    const m = parseTorrent(await readFile(torrent))
    const magnet = `magnet:?xt=urn:btih:${m.infoHashV1!.toString('hex')}&dn=data.bin&tr=${encodeURIComponent(`http://127.0.0.1:${port}/announce`)}`
    const r = await run(['get', magnet, '--out', join(dir, 'magnet')])
    t.equal(r.code, 0, r.stderr)
    t.equal(await fileSha256(join(dir, 'magnet', 'data.bin')), sum)
    t.ok(peerIds.length > 0, 'the tracker was announced to')
    // The id's tail is random bytes: shown as hex, since raw they make a log look binary to grep (.ci/run's summary).
    t.ok(peerIds.every(id => id.startsWith(PEER_ID_PREFIX)), `peer id ${Buffer.from(peerIds[0] ?? '', 'latin1').toString('hex')} starts with ${PEER_ID_PREFIX}`)
    t.match(PEER_ID_PREFIX, /^-BQ\d{4}-$/, 'BEP 20 Azureus style, our code BQ')
  })

  await t.test('a seeder whose peer downloaded and left does not warn', async t => {
    // get listens on a fixed port; a second seeder dials it (--peer), serves it, and sees it leave.
    const getPort = 20_000 + Math.floor(Math.random() * 20_000)
    const dialer = await seeder(t, [torrent, '--data', join(dir, 'seed', 'data.bin'), '--peer', `127.0.0.1:${getPort}`])
    const r = await run(['get', torrent, '--out', join(dir, 'dialed'), '--port', String(getPort), '--tracker', 'http://127.0.0.1:1/announce'])
    t.equal(r.code, 0, r.stderr)
    await new Promise(resolve => setTimeout(resolve, 2000))
    t.same(dialer.events.filter(e => e.event === 'warning'), [], `no warning: ${JSON.stringify(dialer.events.filter(e => e.event === 'warning'))}`)
  })

  await t.test('seed with data that verifies no piece exits 1', async t => {
    await randomFile(join(dir, 'wrong'), 'data.bin', 1_000_000)
    const r = await run(['seed', torrent, '--data', join(dir, 'wrong', 'data.bin')])
    t.equal(r.code, 1)
    t.match(r.stderr, /^bttls: SeedDataError: no piece of data\.bin verifies in --data/m)
  })

  await t.test('a .torrent by HTTP URL', async t => {
    const bytes = await readFile(torrent)
    const server = createServer((req, res) => { if (req.url === '/data.torrent') res.end(bytes); else { res.statusCode = 404; res.end() } })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    t.teardown(() => { server.close() })
    const { port } = server.address() as { port: number }
    const [ok, missing] = await Promise.all([
      run(['get', `http://127.0.0.1:${port}/data.torrent`, '--out', join(dir, 'url'), '--peer', peer]),
      run(['inspect', `http://127.0.0.1:${port}/nothing.torrent`])
    ])
    t.equal(ok.code, 0, ok.stderr)
    t.equal(await fileSha256(join(dir, 'url', 'data.bin')), sum)
    t.equal(missing.code, 1)
    t.match(missing.stderr, /^bttls: TorrentFetchError: http:\/\/127\.0\.0\.1:\d+\/nothing\.torrent: HTTP 404/)
  })

  await t.test('the status line on a 50-column terminal: speed, ETA or stall, peers, and never wider', async t => {
    const out = join(dir, 'pty')
    // `script` gives the CLI a pty; stty sets its width as a user's terminal would.
    const r = await sh(`script -qfec ${quote(`stty cols 50; ${cli(['get', torrent, '--out', out, '--peer', peer])}`)} /dev/null`)
    t.equal(r.code, 0, r.stdout)
    const frames = r.stdout.split(/\r|\n/).map(l => l.replaceAll(ERASE_LINE, '')).filter(l => l.length > 0)
    const status = frames.filter(l => /DL /.test(l))
    t.ok(status.length > 0, `a status line was drawn: ${JSON.stringify(frames)}`)
    t.match(status[0], /^\d+% {2}[\d.]+\/976\.6 KiB {2}DL [\d.]+ (B|KiB|MiB)\/s {2}UL [\d.]+ (B|KiB|MiB)\/s/, 'percent, done/total, current speeds')
    // Log lines may wrap; the status line, redrawn in place with \r, must not (a wrapped one floods).
    t.ok(status.every(l => l.length <= 49), `every status line fits 50 columns: ${JSON.stringify(status.filter(l => l.length > 49))}`)
    t.match(r.stdout, /done: data\.bin/)
  })

  await t.test('a seeding status line', async t => {
    // The shell prints its pid, then becomes the seeder (exec): that pid gets the user's Ctrl-C.
    const child = spawn('script', ['-qfec', `stty cols 100; echo "pid=$$"; exec ${cli(['seed', torrent, '--data', join(dir, 'seed', 'data.bin')])}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] })
    t.teardown(() => { child.kill('SIGKILL') })
    const exited = new Promise(resolve => child.once('exit', resolve))
    let out = ''
    await new Promise<void>(resolve => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        const pid = /pid=(\d+)/.exec(out)?.[1]
        if (pid !== undefined && /seeding {2}UL/.test(out)) { process.kill(Number(pid), 'SIGINT'); resolve() }
      })
      void exited.then(() => resolve())
    })
    await exited
    t.match(out, /seeding {2}UL [\d.]+ (B|KiB|MiB)\/s {2}up [\d.]+ (B|KiB|MiB) {2}\d+ peers?/, out)
    t.match(out, /uploaded [\d.]+ MiB/, 'the totals at the end')
  })
})

t.test('IPv6: seed --host ::1 and get --peer [::1]:port under the default --host', { skip: hasIpv6Loopback() ? undefined : 'no ::1 on this machine' }, async t => {
  const dir = await tempDir(t)
  const sum = await randomFile(join(dir, 'seed'), 'six.bin', 100_000)
  const torrent = join(dir, 'six.torrent')
  t.equal((await run(['create', join(dir, 'seed', 'six.bin'), '-o', torrent, '--v1'])).code, 0)
  const seed = await seeder(t, [torrent, '--data', join(dir, 'seed', 'six.bin'), '--host', '::1'])
  const r = await run(['get', torrent, '--out', join(dir, 'out'), '--peer', `[::1]:${seed.port}`])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stderr, new RegExp(`peer outbound \\[::1\\]:${seed.port} over tls`), 'IPv6 endpoints in brackets')
  t.equal(await fileSha256(join(dir, 'out', 'six.bin')), sum)
})

t.test('a peer known to speak bttls that refuses the TCP connect is not reported as a downgrade', async t => {
  const session = new EventEmitter() as unknown as Session
  const lines: string[] = []
  const err = { write: (s: string) => { lines.push(s); return true }, isTTY: false } as unknown as NodeJS.WriteStream
  reportSession(session, new Reporter(false, err as typeof process.stdout, err as typeof process.stderr))
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7'), { code: 'ECONNREFUSED', syscall: 'connect' })
  const tlsFailed = new Error('TLS handshake failed: 80:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:\n')
  tlsFailed.name = 'TlsHandshakeError'
  for (const error of [refused, tlsFailed]) {
    const dial = new DialError(`could not connect to 127.0.0.1:7 (tls: ${error.name}: ${error.message})`, [{ transport: 'tls', error }])
    session.emit('downgrade-refused', { host: '127.0.0.1', port: 7, knownFrom: 'pex', error: dial })
    session.emit('dial-failed', { host: '127.0.0.1', port: 7, error: dial })
  }
  t.same(lines, [
    'could not connect to 127.0.0.1:7: connection refused\n',
    'not falling back to plaintext: 127.0.0.1:7 is known to speak bttls (pex) but its TLS handshake failed: tls: TlsHandshakeError: TLS handshake failed: 80:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:\n',
    'could not connect to 127.0.0.1:7: tls: TlsHandshakeError: TLS handshake failed: 80:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:\n'
  ], 'a refused connect is no downgrade; OpenSSL\'s newline gone')
})

function hasIpv6Loopback (): boolean {
  return Object.values(networkInterfaces()).some(list => list?.some(a => a.address === '::1'))
}

t.test('the README lists every --json event the CLI emits, and no other', async t => {
  const { readdir } = await import('node:fs/promises')
  const root = join(ROOT, 'src', 'cli')
  const files = (await readdir(root, { recursive: true })).filter(f => f.endsWith('.ts'))
  const emitted = new Set<string>(['error'])
  for (const f of files) for (const m of (await readFile(join(root, f), 'utf8')).matchAll(/\.event\('([a-z-]+)'/g)) emitted.add(m[1]!)
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
  const section = /- \*\*Output\.\*\*[\s\S]*?`event`\s+field:\n([\s\S]*?)\n\n/.exec(readme)?.[1] ?? ''
  const documented = new Set([...section.matchAll(/`([a-z-]+)`/g)].map(m => m[1]!))
  t.same([...emitted].filter(e => !documented.has(e)).sort(), [], 'emitted but not documented')
  t.same([...documented].filter(e => !emitted.has(e)).sort(), [], 'documented but never emitted')
})
