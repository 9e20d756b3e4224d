/**
 * `bttls ca issue` (issue 12): Full Strict certificates issued out of band, for users without a
 * secure tracker. The certificates it writes are accepted by real `bttls seed` / `bttls get` peers
 * (a seeder process, a get in process) over loopback TLS; every mistake is refused before anything
 * is written.
 */
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { X509Certificate } from 'node:crypto'
import { buildCli, inBackground, runInProcess, type CliResult } from '../helpers/cli.js'
import { fileSha256, randomFile, tempDir } from '../helpers/session-pair.js'
import { CERT_CLOCK_SKEW_S, MAX_PEER_CERT_LIFETIME_S } from '../../src/protocol/constants.js'

// A compile and a seeder process (the rest runs the CLI in process): slow on a loaded two-core machine.
t.setTimeout(420_000)
t.before(async () => { await buildCli() })

function refused (t: Test, r: CliResult, message: RegExp, what: string, code = 2): void {
  t.equal(r.code, code, `${what}: exit ${code} (${r.stderr})`)
  t.match(r.stderr.split('\n')[0], message, what)
}

t.test('certificates from ca issue let a seed and a get of a Full Strict torrent meet', async t => {
  const dir = await tempDir(t)
  const sum = await randomFile(join(dir, 'seed'), 'data.bin', 200_000)
  const torrent = join(dir, 'fs.torrent')
  const plain = join(dir, 'basic.torrent')
  t.equal((await runInProcess(['ca', 'create', '--out', join(dir, 'ca')])).code, 0)
  t.equal((await runInProcess(['ca', 'create', '--out', join(dir, 'other-ca')])).code, 0)
  const [created, basic] = await Promise.all([
    runInProcess(['create', join(dir, 'seed', 'data.bin'), '-o', torrent, '--v1', '--full-strict', '--ca', join(dir, 'ca', 'ca.pem')]),
    runInProcess(['create', join(dir, 'seed', 'data.bin'), '-o', plain, '--v1'])
  ])
  t.equal(created.code, 0, created.stderr)
  t.equal(basic.code, 0, basic.stderr)
  const ca = ['--ca-cert', join(dir, 'ca', 'ca.pem'), '--ca-key', join(dir, 'ca', 'ca.key')]
  const issued = await Promise.all(['seeder', 'leecher'].map(name => runInProcess(['ca', 'issue', torrent, ...ca, '--out', join(dir, name), '--name', name, '--json'])))
  for (const r of issued) t.equal(r.code, 0, r.stderr)
  const event = JSON.parse(issued[0]!.stdout.split('\n')[0]!)
  t.equal(event.event, 'issued')
  t.equal(event.certFile, join(dir, 'seeder.pem'))
  t.equal((await stat(join(dir, 'seeder.key'))).mode & 0o777, 0o600, 'the key is 0600')

  const cert = new X509Certificate(await readFile(join(dir, 'seeder.pem')))
  const lifetimeS = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 1000
  t.equal(lifetimeS, MAX_PEER_CERT_LIFETIME_S + CERT_CLOCK_SKEW_S, 'default lifetime: the profile\'s cap (notBefore backdated for skew)')
  t.match(cert.subject, /CN=seeder/)

  const seed = await inBackground(t, ['seed', torrent, '--data', join(dir, 'seed'), '--cert', join(dir, 'seeder.pem'), '--key', join(dir, 'seeder.key')])
  const got = await runInProcess(['get', torrent, '--out', join(dir, 'out'), '--peer', `127.0.0.1:${seed.port}`, '--cert', join(dir, 'leecher.pem'), '--key', join(dir, 'leecher.key')])
  t.equal(got.code, 0, got.stderr)
  t.equal(await fileSha256(join(dir, 'out', 'data.bin')), sum, 'downloaded with the issued certificates')

  await t.test('mistakes are refused before anything is written', async t => {
    await writeFile(join(dir, 'not-a-key'), 'hello')
    const other = ['--ca-cert', join(dir, 'other-ca', 'ca.pem'), '--ca-key', join(dir, 'other-ca', 'ca.key')]
    const runs = await Promise.all([
      runInProcess(['ca', 'issue', torrent, ...other, '--out', join(dir, 'x1')]),
      runInProcess(['ca', 'issue', torrent, '--ca-cert', join(dir, 'ca', 'ca.pem'), '--ca-key', join(dir, 'other-ca', 'ca.key'), '--out', join(dir, 'x2')]),
      runInProcess(['ca', 'issue', plain, ...ca, '--out', join(dir, 'x3')]),
      runInProcess(['ca', 'issue', torrent, ...ca, '--out', join(dir, 'x4'), '--lifetime', String(MAX_PEER_CERT_LIFETIME_S + 1)]),
      runInProcess(['ca', 'issue', torrent, '--ca-cert', join(dir, 'ca', 'ca.pem'), '--ca-key', join(dir, 'not-a-key'), '--out', join(dir, 'x5')]),
      runInProcess(['ca', 'issue', torrent, ...ca, '--out', join(dir, 'seeder')]),
      runInProcess(['ca', 'issue', torrent, '--out', join(dir, 'x6')])
    ])
    refused(t, runs[0]!, /^bttls: --ca-cert .* is not this torrent's swarm CA/, 'another CA')
    refused(t, runs[1]!, /^bttls: --ca-key .* is not the private key of --ca-cert/, 'another CA\'s key')
    refused(t, runs[2]!, /^bttls: .*basic\.torrent is not a Full Strict torrent/, 'a Basic torrent')
    refused(t, runs[3]!, /^bttls: --lifetime must be an integer 1\.\.604800/, 'longer than the profile allows')
    refused(t, runs[4]!, /^bttls: --ca-key .*: not a PEM private key/, 'not a key')
    refused(t, runs[5]!, /^bttls: Error: EEXIST/, 'an existing certificate is not overwritten', 1)
    refused(t, runs[6]!, /^bttls: ca issue needs --ca-cert <ca\.pem> and --ca-key <ca\.key>/, 'no CA')
    for (const x of ['x1', 'x2', 'x3', 'x4', 'x5', 'x6']) {
      t.equal(await stat(join(dir, `${x}.key`)).then(() => true, () => false), false, `${x}: nothing written`)
    }
    const unchanged = new X509Certificate(await readFile(join(dir, 'seeder.pem')))
    t.equal(unchanged.serialNumber, cert.serialNumber, 'the existing certificate is intact')
  })
})
