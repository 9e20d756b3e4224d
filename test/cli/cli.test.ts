/**
 * The `bttls` CLI as a user runs it: flags, exit codes, one-line failures, and no secret printed.
 * The CLI runs in this process (runInProcess) but for the seeders, which wait for a signal.
 */
import t from 'tap'
import { join } from 'node:path'
import { readFile, writeFile } from 'node:fs/promises'
import { generateKeyPairSync } from 'node:crypto'
import { connect as tlsConnect } from 'node:tls'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { createResponderCertificate } from '../../src/pki/responder-certificate.js'
import { buildCli, inBackground, runInProcess } from '../helpers/cli.js'
import { fileSha256, randomFile, tempDir } from '../helpers/session-pair.js'

t.before(async () => { await buildCli() })

t.test('create --strict-secret, inspect shows the level and not the secret', async t => {
  const dir = await tempDir(t)
  await randomFile(dir, 'data.bin', 100_000)
  const created = await runInProcess(['create', join(dir, 'data.bin'), '-o', join(dir, 's.torrent'), '--strict-secret', '--v1'])
  t.equal(created.code, 0, created.stderr)
  const secret = parseTorrent(await readFile(join(dir, 's.torrent'))).strictSecret!.toString('hex')
  t.match(created.stdout, /level strict \(secret\)/)
  t.match(created.stdout, new RegExp(`x\\.bttls\\.secret=${secret}`), 'create prints the credential magnet once, with a warning')
  for (const json of [false, true]) {
    const inspected = await runInProcess(['inspect', join(dir, 's.torrent'), ...(json ? ['--json'] : [])])
    t.equal(inspected.code, 0)
    t.match(inspected.stdout, /strict/)
    t.match(inspected.stdout, /secret/)
    t.notMatch(inspected.stdout + inspected.stderr, new RegExp(secret), `inspect${json ? ' --json' : ''} never prints the secret`)
  }
})

t.test('create --strict-cert with an Ed25519 public key; seed with --publisher-key, get with --require-publisher', async t => {
  const dir = await tempDir(t)
  const sum = await randomFile(join(dir, 'seed'), 'pub.bin', 200_000)
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  await writeFile(join(dir, 'pub.pem'), publicKey.export({ format: 'pem', type: 'spki' }))
  await writeFile(join(dir, 'key.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }))
  const created = await runInProcess(['create', join(dir, 'seed', 'pub.bin'), '-o', join(dir, 'p.torrent'), '--strict-cert', join(dir, 'pub.pem')])
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, /level strict \(publisher\)/)
  const { port } = await inBackground(t, ['seed', join(dir, 'p.torrent'), '--data', join(dir, 'seed', 'pub.bin'), '--publisher-key', join(dir, 'key.pem')])
  const got = await runInProcess(['get', join(dir, 'p.torrent'), '--out', join(dir, 'out'), '--peer', `127.0.0.1:${port}`, '--require-publisher'])
  t.equal(got.code, 0, got.stderr)
  t.match(got.stdout, /done: pub\.bin/)
  t.equal(await fileSha256(join(dir, 'out', 'pub.bin')), sum)
})

t.test('exit codes: usage error 2, failure 1 with one line saying why', async t => {
  const dir = await tempDir(t)
  await randomFile(dir, 'd.bin', 50_000)
  t.equal((await runInProcess(['create', join(dir, 'd.bin')])).code, 2, 'missing -o')
  t.equal((await runInProcess(['frobnicate', 'x'])).code, 2, 'unknown command')
  t.equal((await runInProcess(['get', 'x.torrent', '--out', dir, '--policy', 'sometimes'])).code, 2, 'bad policy')
  const created = await runInProcess(['create', join(dir, 'd.bin'), '-o', join(dir, 'p.torrent'), '--strict-secret', '--passphrase', 'x', '--v1'])
  t.equal(created.code, 0, created.stderr)
  const noPass = await runInProcess(['get', join(dir, 'p.torrent'), '--out', join(dir, 'o'), '--peer', '127.0.0.1:1'])
  t.equal(noPass.code, 1)
  t.match(noPass.stderr, /^bttls: MissingCredentialError: .*passphrase/)
  t.equal(noPass.stderr.trim().split('\n').length, 1, 'one line')
  const noPeer = await runInProcess(['get', join(dir, 'p.torrent'), '--out', join(dir, 'o'), '--passphrase', 'x'])
  t.equal(noPeer.code, 1)
  t.match(noPeer.stderr, /DownloadFailedError: no peer to download from/)
  // A --peer that refuses: test/cli/messages.test.ts ('a refused connect is said once').
})

t.test('wire image flags: --decoy, --decoy-site, --tls-cert/--tls-key, and their usage errors', async t => {
  const dir = await tempDir(t)
  await randomFile(dir, 'w.bin', 50_000)
  const torrent = join(dir, 'w.torrent')
  t.equal((await runInProcess(['create', join(dir, 'w.bin'), '-o', torrent, '--v1'])).code, 0)
  for (const [flags, message] of [
    [['--decoy', 'https://127.0.0.1:8443'], /only http:\/\//],
    [['--decoy', 'http://127.0.0.1:8080/site'], /give only http:\/\/host:port/],
    [['--decoy-site', join(dir, 'nowhere')], /not a directory/],
    [['--decoy', 'http://127.0.0.1:8080', '--decoy-site', dir], /choose one of --decoy and --decoy-site/],
    [['--tls-cert', join(dir, 'c.pem')], /--tls-cert and --tls-key go together/]
  ] as const) {
    const r = await runInProcess(['seed', torrent, '--data', dir, ...flags])
    t.equal(r.code, 2, flags.join(' '))
    t.match(r.stderr, message)
  }

  // A seed whose port serves the files of --decoy-site, with the certificate of --tls-cert.
  const site = join(dir, 'site')
  await import('node:fs/promises').then(fs => fs.mkdir(site))
  await writeFile(join(site, 'index.html'), '<p>the decoy site</p>\n')
  const { cert, key } = await createResponderCertificate('www.example.org')
  await writeFile(join(dir, 'c.pem'), cert)
  await writeFile(join(dir, 'k.pem'), key)
  const { port } = await inBackground(t, ['seed', torrent, '--data', dir, '--policy', 'require-tls', '--decoy-site', site, '--tls-cert', join(dir, 'c.pem'), '--tls-key', join(dir, 'k.pem')])
  const { page, presented } = await new Promise<{ page: string, presented: string }>(resolve => {
    let presented = ''
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      presented = socket.getPeerX509Certificate()?.subjectAltName ?? ''
      socket.write('GET / HTTP/1.1\r\nHost: www.example.org\r\nConnection: close\r\n\r\n')
    })
    let page = ''
    socket.on('data', (d: Buffer) => { page += d.toString() })
    socket.on('close', () => resolve({ page, presented }))
  })
  t.match(page, /^HTTP\/1\.1 200 OK/)
  t.match(page, /<p>the decoy site<\/p>/, 'the --decoy-site page')
  t.equal(presented, 'DNS:www.example.org', 'the --tls-cert certificate')
})
