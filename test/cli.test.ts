/** The `bttls` CLI as a user runs it: flags, exit codes, one-line failures, and no secret printed. */
import t from 'tap'
import { join } from 'node:path'
import { readFile, writeFile } from 'node:fs/promises'
import { generateKeyPairSync } from 'node:crypto'
import { parseTorrent } from '../src/torrent/parse-torrent.js'
import { buildCli, runCli } from './helpers/cli.js'
import { rm } from 'node:fs/promises'
import { fileSha256, randomFile, tempDir } from './helpers/session-pair.js'

t.before(async () => { await buildCli() })
t.teardown(() => rm(new URL(`../node_modules/.cache/bttls-cli-test-${process.pid}`, import.meta.url), { recursive: true, force: true }))

t.test('create --strict-secret, inspect shows the level and not the secret', async t => {
  const dir = await tempDir(t)
  await randomFile(dir, 'data.bin', 100_000)
  const created = await runCli(['create', join(dir, 'data.bin'), '-o', join(dir, 's.torrent'), '--strict-secret', '--v1']).result
  t.equal(created.code, 0, created.stderr)
  const secret = parseTorrent(await readFile(join(dir, 's.torrent'))).strictSecret!.toString('hex')
  t.match(created.stdout, /level strict \(secret\)/)
  t.match(created.stdout, new RegExp(`x\\.bttls\\.secret=${secret}`), 'create prints the credential magnet once, with a warning')
  for (const json of [false, true]) {
    const inspected = await runCli(['inspect', join(dir, 's.torrent'), ...(json ? ['--json'] : [])]).result
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
  const created = await runCli(['create', join(dir, 'seed', 'pub.bin'), '-o', join(dir, 'p.torrent'), '--strict-cert', join(dir, 'pub.pem')]).result
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, /level strict \(publisher\)/)
  let port = 0
  const seed = runCli(['seed', join(dir, 'p.torrent'), '--data', join(dir, 'seed', 'pub.bin'), '--publisher-key', join(dir, 'key.pem'), '--json'], {
    onStdout: line => { const e = JSON.parse(line); if (e.event === 'listening') port = e.port }
  })
  t.teardown(seed.kill)
  while (port === 0) await new Promise(resolve => setTimeout(resolve, 50))
  const got = await runCli(['get', join(dir, 'p.torrent'), '--out', join(dir, 'out'), '--peer', `127.0.0.1:${port}`, '--require-publisher']).result
  t.equal(got.code, 0, got.stderr)
  t.match(got.stdout, /done: pub\.bin/)
  t.equal(await fileSha256(join(dir, 'out', 'pub.bin')), sum)
})

t.test('exit codes: usage error 2, failure 1 with one line saying why', async t => {
  const dir = await tempDir(t)
  await randomFile(dir, 'd.bin', 50_000)
  t.equal((await runCli(['create', join(dir, 'd.bin')]).result).code, 2, 'missing -o')
  t.equal((await runCli(['frobnicate', 'x']).result).code, 2, 'unknown command')
  t.equal((await runCli(['get', 'x.torrent', '--out', dir, '--policy', 'sometimes']).result).code, 2, 'bad policy')
  const created = await runCli(['create', join(dir, 'd.bin'), '-o', join(dir, 'p.torrent'), '--strict-secret', '--passphrase', 'x']).result
  t.equal(created.code, 0, created.stderr)
  const noPass = await runCli(['get', join(dir, 'p.torrent'), '--out', join(dir, 'o'), '--peer', '127.0.0.1:1']).result
  t.equal(noPass.code, 1)
  t.match(noPass.stderr, /^bttls: MissingCredentialError: .*passphrase/)
  t.equal(noPass.stderr.trim().split('\n').length, 1, 'one line')
  const noPeer = await runCli(['get', join(dir, 'p.torrent'), '--out', join(dir, 'o'), '--passphrase', 'x']).result
  t.equal(noPeer.code, 1)
  t.match(noPeer.stderr, /DownloadFailedError: no peer to download from/)
  const deadPeer = await runCli(['get', join(dir, 'p.torrent'), '--out', join(dir, 'o'), '--passphrase', 'x', '--peer', '127.0.0.1:1']).result
  t.equal(deadPeer.code, 1)
  t.match(deadPeer.stderr, /no peer can complete the download/)
})
