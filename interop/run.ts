/**
 * `npm run interop`: bttls against real BitTorrent clients (libtorrent, aria2, Transmission) on
 * loopback, each direction, each transport, with the downloaded bytes checked by sha256.
 *
 *   node dist/interop/run.js [--no-install] [--only SUBSTRING[,SUBSTRING]] [--keep] [--size MiB]
 *
 * Writes interop/report.md and interop/report.json; exits 1 if any scenario FAILs (a SKIP is never
 * a pass, but does not fail the run).
 */
import { spawnSync } from 'node:child_process'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { detectClients, type Clients } from './lib/clients.js'
import { newOutcome, PAYLOAD_NAME, scenarioContext, SMALL_PIECE_LENGTH, SkipScenario, type Outcome, type RunContext, type TorrentFile } from './lib/context.js'
import { sha256File, writeRandomFile } from './lib/files.js'
import { ltCreate } from './lib/libtorrent.js'
import { bttlsLinks } from './lib/bttls.js'
import { makePki } from './lib/pki.js'
import { killEverythingNow, ProcessGroup } from './lib/processes.js'
import { markdownReport, markdownTable, summarize, type Report, type Row } from './lib/report.js'
import { allScenarios, type Scenario } from './lib/scenarios.js'
import { startTracker, TRACKER_PORT } from './lib/opentracker.js'

/** The whole run must stay under 5 minutes; scenarios that would start after this are skipped. */
const RUN_BUDGET_MS = 270_000

const repo = fileURLToPath(new URL('../..', import.meta.url))
const bttlsBin = join(repo, 'bin', 'bttls.js')

function log (line: string): void { process.stderr.write(`interop: ${line}\n`) }

function bttls (args: string[]): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [bttlsBin, ...args], { encoding: 'utf8', timeout: 60000 })
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' }
}

function createTorrent (srcFile: string, out: string, version: TorrentFile['version'], trackers: string[] = [], extra: string[] = [], pieceLength = 256 * 1024): TorrentFile {
  const r = bttls(['create', srcFile, '-o', out, `--${version}`, '--piece-length', String(pieceLength), ...trackers.flatMap(t => ['--tracker', t]), ...extra, '--json'])
  const created = r.stdout.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, string>).find(e => e.event === 'created')
  if (r.status !== 0 || !created) throw new Error(`bttls create --${version} failed: ${r.stderr.trim()}`)
  return {
    path: out, version, infoHashV1: created.infoHashV1, infoHashV2: created.infoHashV2,
    ...(created.rendezvous !== undefined ? { rendezvous: created.rendezvous, magnet: created.magnet } : {})
  }
}

function git (args: string[]): string {
  const r = spawnSync('git', ['-C', repo, ...args], { encoding: 'utf8' })
  return (r.stdout ?? '').trim()
}

function clientLabel (clients: Clients, s: Scenario): string {
  const names: Record<keyof Clients, string> = { libtorrent: 'libtorrent', aria2: 'aria2', transmission: 'Transmission', opentracker: 'opentracker', openssl: 'OpenSSL' }
  if (s.client === undefined) return 'bttls'
  const c = clients[s.client]
  return c.available ? `${names[s.client]} ${c.version}` : names[s.client]
}

async function main (): Promise<number> {
  const { values } = parseArgs({
    options: { 'no-install': { type: 'boolean' }, only: { type: 'string' }, keep: { type: 'boolean' }, size: { type: 'string' } }
  })
  const startedAt = Date.now()
  process.on('exit', killEverythingNow)
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { killEverythingNow(); process.exit(130) })

  if (!values['no-install']) {
    const r = spawnSync('bash', [join(repo, 'interop', 'install.sh')], { stdio: ['ignore', 'inherit', 'inherit'] })
    if (r.status !== 0) log('install.sh failed; scenarios whose clients are missing will be skipped')
  }
  const help = bttls(['--help'])
  if (help.status !== 0) throw new Error(`bttls CLI does not run (${bttlsBin}): ${help.stderr.trim()} — run "npm run build" first`)
  const clients = detectClients()
  for (const [name, c] of Object.entries(clients)) log(`${name}: ${c.available ? c.version : `missing (${c.reason ?? ''})`}`)

  const work = await mkdtemp(join(tmpdir(), 'bttls-interop-'))
  // opentracker drops to `nobody` inside its chroot under here.
  await chmod(work, 0o755)
  const srcDir = join(work, 'src')
  await mkdir(srcDir, { recursive: true })
  const payloadBytes = Math.round(Number(values.size ?? 16) * 2 ** 20)
  const payload = join(srcDir, PAYLOAD_NAME)
  await writeRandomFile(payload, payloadBytes)
  const sourceSha256 = await sha256File(payload)
  log(`work dir ${work}; payload ${payloadBytes} random bytes, sha256 ${sourceSha256.slice(0, 16)}…`)

  const trackerUrl = `http://127.0.0.1:${TRACKER_PORT}/announce`
  const torrentsDir = join(work, 'torrents')
  await mkdir(torrentsDir)
  // No tracker in the torrents most clients get: peers come only from the harness, never from the
  // tracker's memory of earlier scenarios. aria2 cannot be given a peer, so it gets a copy with one
  // (same info dict, so same infohash).
  const torrents = {
    v1: createTorrent(payload, join(torrentsDir, 'v1.torrent'), 'v1'),
    hybrid: createTorrent(payload, join(torrentsDir, 'hybrid.torrent'), 'hybrid'),
    v2: createTorrent(payload, join(torrentsDir, 'v2.torrent'), 'v2'),
    v1WithTracker: createTorrent(payload, join(torrentsDir, 'v1-tracker.torrent'), 'v1', [trackerUrl]),
    v1WithUdpTracker: createTorrent(payload, join(torrentsDir, 'v1-udp-tracker.torrent'), 'v1', [`udp://127.0.0.1:${TRACKER_PORT}/announce`]),
    // Strict (secret mode, carried by the .torrent and the link), announced to opentracker under its rendezvous.
    strictWithTrackers: createTorrent(payload, join(torrentsDir, 'v1-strict-trackers.torrent'), 'v1', [`udp://127.0.0.1:${TRACKER_PORT}/announce`, trackerUrl], ['--strict-secret']),
    v1SmallPieces: createTorrent(payload, join(torrentsDir, 'v1-16k.torrent'), 'v1', [], [], SMALL_PIECE_LENGTH),
    v1SmallPiecesWithTracker: createTorrent(payload, join(torrentsDir, 'v1-16k-tracker.torrent'), 'v1', [trackerUrl], [], SMALL_PIECE_LENGTH)
  }
  for (const [t, plain] of [[torrents.v1WithTracker, torrents.v1], [torrents.v1WithUdpTracker, torrents.v1], [torrents.v1SmallPiecesWithTracker, torrents.v1SmallPieces]] as const) {
    if (t.infoHashV1 !== plain.infoHashV1) throw new Error('bttls create: adding a tracker changed the infohash')
  }

  const runProcs = new ProcessGroup()
  const only = values.only?.split(',').map(s => s.trim()).filter(Boolean)
  const run: RunContext = {
    repo, work, srcDir, sourceSha256, payloadBytes, torrents, clients, procs: runProcs, bttlsHelp: help.stdout, ...(only ? { only } : {})
  }

  const scenarios = allScenarios().filter(s => !only || only.some(o => s.id.includes(o)))

  // The SSL torrent: libtorrent makes it (bttls create has no ssl-cert yet), with a fresh CA.
  if (clients.libtorrent.available && clients.openssl.available && scenarios.some(s => s.id.startsWith('lt-ssl'))) {
    try {
      const pkiDir = join(work, 'pki')
      await mkdir(pkiDir)
      const pki = await makePki(pkiDir, PAYLOAD_NAME, ['seeder', 'leecher'])
      const torrent = await ltCreate(run, runProcs, { path: payload, out: join(torrentsDir, 'ssl-v1.torrent'), version: 'v1', rootCert: pki.caPem, logPrefix: join(pkiDir, 'create') })
      run.ssl = { torrent, caPem: pki.caPem, seeder: pki.leaves.seeder!, leecher: pki.leaves.leecher! }
    } catch (err) { run.sslError = (err as Error).message }
  }

  if (clients.opentracker.available && scenarios.some(s => s.needs.includes('opentracker') && !s.skip?.(run))) {
    try {
      // The Strict torrent is whitelisted by its rendezvous only: an announce of its infohash is refused.
      const hashes = [torrents.v1WithTracker.infoHashV1, torrents.v1SmallPiecesWithTracker.infoHashV1, torrents.strictWithTrackers.rendezvous].filter((h): h is string => h !== undefined)
      run.tracker = await startTracker(runProcs, join(work, 'tracker'), hashes)
    } catch (err) { run.trackerError = (err as Error).message }
  }

  const rows: Row[] = []
  try {
    for (const [i, s] of scenarios.entries()) {
      const n = i + 1
      const t0 = Date.now()
      const out = newOutcome()
      let processes: Row['processes'] = []
      let status: Row['status'] = 'PASS'
      let reason: string | undefined
      const missing = s.needs.map(k => clients[k]).find(c => !c.available)
      const staticSkip = s.skip?.(run)
      if (staticSkip) { status = 'SKIP'; reason = staticSkip } else if (missing) { status = 'SKIP'; reason = missing.reason } else if (Date.now() - startedAt > RUN_BUDGET_MS) {
        status = 'SKIP'; reason = 'the run\'s 5-minute budget was used up before this scenario'
      } else {
        log(`[${n}/${scenarios.length}] ${s.id} …`)
        const procs = new ProcessGroup()
        const ctx = await scenarioContext({ ...run, procs }, n, s.id, s.limitMs)
        try {
          await withLimit(s.run(ctx, out), s.limitMs + 5000, `${s.id} did not finish within its ${s.limitMs / 1000} s limit`)
        } catch (err) {
          if (err instanceof SkipScenario) { status = 'SKIP'; reason = err.message } else { status = 'FAIL'; reason = (err as Error).message }
        } finally {
          await procs.stopAll()
        }
        if (status === 'PASS' && !s.negative && out.sha256Ok !== true) { status = 'FAIL'; reason = 'downloaded bytes not checked' }
        if (status === 'PASS' && out.problems.length > 0) { status = 'FAIL'; reason = out.problems.join('; ') }
        if (status === 'FAIL') postMortem(out, procs, ctx.dir)
        processes = procs.all.map(p => ({ name: p.name, pid: p.pid, exit: p.signal ?? String(p.exitCode) }))
      }
      const row = { ...toRow(n, s, clientLabel(clients, s), out, status, reason, (Date.now() - t0) / 1000), processes }
      rows.push(row)
      log(`[${n}/${scenarios.length}] ${s.id}: ${status}${reason ? ` — ${reason}` : ''}${row.seconds !== undefined ? ` (${row.seconds.toFixed(2)} s)` : ''}`)
    }
  } finally {
    await runProcs.stopAll()
  }

  const report: Report = {
    generatedAt: new Date().toISOString(),
    environment: environment(clients, payloadBytes),
    notes: reportNotes(run),
    rows,
    summary: summarize(rows, (Date.now() - startedAt) / 1000)
  }
  process.stdout.write(markdownTable(rows) + '\n')
  const s = report.summary
  process.stdout.write(`\n${s.pass} passed, ${s.fail} failed, ${s.skip} skipped in ${s.wallSeconds.toFixed(1)} s\n`)
  // A filtered run (--only) is for debugging: it does not overwrite the committed report.
  const reportDir = join(repo, 'interop')
  const base = only ? join(work, 'report') : join(reportDir, 'report')
  await writeFile(`${base}.md`, markdownReport(report))
  await writeFile(`${base}.json`, JSON.stringify(report, null, 2) + '\n')
  log(`report: ${base}.md, ${base}.json`)

  if (s.fail > 0 || values.keep || only) log(`kept ${work} (logs under scenarios/*/logs)`)
  else await rm(work, { recursive: true, force: true })
  return s.fail > 0 ? 1 : 0
}

async function withLimit<T> (p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  p.catch(() => {})
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(message)), ms) })])
  } finally { clearTimeout(timer) }
}

/** For a failed row: what bttls said went wrong, and what the other processes said last. */
function postMortem (out: Outcome, procs: ProcessGroup, dir: string): void {
  for (const p of procs.all) {
    if (p.name.startsWith('bttls')) {
      const links = bttlsLinks(p.events)
      out.bttlsTransport ??= links.transport
      for (const t of links.troubles.slice(0, 4)) if (!out.notes.includes(`bttls: ${t}`)) out.notes.push(`bttls: ${t}`)
    }
    const words = p.lastWords()
    if (words) out.notes.push(`${p.name} last said${words}`)
  }
  out.notes.push(`logs: ${join(dir, 'logs')}`)
}

function toRow (n: number, s: Scenario, client: string, out: Outcome, status: Row['status'], reason: string | undefined, wallSeconds: number): Omit<Row, 'processes'> {
  return {
    n, id: s.id, scenario: s.title, direction: s.direction, client, torrent: s.torrent,
    bttlsTransport: out.bttlsTransport ?? '—', clientTransport: out.clientTransport ?? '—', cipher: out.cipher ?? '—',
    seconds: out.seconds, mibPerSecond: out.mibPerSecond, timedBy: out.timedBy,
    sha256: out.sha256Ok === undefined ? '—' : out.sha256Ok ? 'ok' : 'MISMATCH', status,
    reason: reason?.replace(/\s+/g, ' ').trim(), notes: out.notes.map(x => x.replace(/\s+/g, ' ').trim()), wallSeconds
  }
}

function environment (clients: Clients, payloadBytes: number): Record<string, string> {
  const os = spawnSync('sh', ['-c', '. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"'], { encoding: 'utf8' }).stdout.trim()
  const dirty = git(['status', '--porcelain', '--', 'src', 'bin']) !== '' ? ' (src/ has uncommitted changes)' : ''
  return {
    bttls: `${git(['rev-parse', '--short', 'HEAD'])}${dirty}, Node ${process.version}, OpenSSL ${process.versions.openssl}`,
    os: os || process.platform,
    libtorrent: clients.libtorrent.available ? `${clients.libtorrent.version} (python3-libtorrent, Debian /usr/bin/python3)` : `missing: ${clients.libtorrent.reason ?? ''}`,
    aria2: clients.aria2.available ? clients.aria2.version : `missing: ${clients.aria2.reason ?? ''}`,
    transmission: clients.transmission.available ? `${clients.transmission.version} (transmission-cli)` : `missing: ${clients.transmission.reason ?? ''}`,
    opentracker: clients.opentracker.available ? clients.opentracker.version : `missing: ${clients.opentracker.reason ?? ''}`,
    payload: `${(payloadBytes / 2 ** 20).toFixed(0)} MiB of fresh random bytes per run, 256 KiB pieces (16 KiB for the small-pieces rows), torrents made by \`bttls create\``,
    network: `loopback only (127.0.0.1); ports 27100-27599 (10 per scenario), tracker ${TRACKER_PORT}; TCP only (uTP, DHT, LSD, PEX off)`
  }
}

function reportNotes (run: RunContext): string[] {
  return [
    'bttls runs with `--policy prefer-tls` (its default) in every legacy-client row: it dials TLS first and, when the client does not speak it, ' +
    'falls back to MSE (RC4) and then plaintext; inbound it accepts TLS, MSE and plaintext on one port. So each row also exercises that fallback.',
    '"libtorrent plain" sets libtorrent\'s in/out encryption policy to disabled, so MSE is refused and plaintext is the only way in; ' +
    '"MSE forced RC4" sets both policies to forced with `allowed_enc_level=rc4` and `prefer_rc4`, and the row passes only if libtorrent reports `rc4_encrypted`.',
    'bttls\' `peer` events say `mse` but not which MSE method. The cipher column says which: outbound bttls offers RC4 only; ' +
    'inbound it selects plaintext whenever the initiator offers both (libtorrent and aria2 defaults do), so the payload then goes in the clear ' +
    'after an MSE handshake. libtorrent confirms this (`plaintext_encrypted`).',
    'When bttls seeds to libtorrent, libtorrent dials bttls (`connect_peer`); when bttls leeches, bttls dials libtorrent (`--peer`).',
    'aria2 has no option to add a peer: for "bttls seeds" the harness itself sends opentracker a ' +
    'plain HTTP announce (event=started, left=0) with bttls\' port, then aria2 finds bttls through the tracker and dials it. ' +
    'aria2 has no switch to turn MSE off; its default dials MSE first and falls back to the legacy handshake, so its "default" row accepts either.',
    'opentracker (Debian) is whitelist-only: the harness whitelists the run\'s v1 infohashes in its chroot.',
    'Transmission never dials peers on 127.x (it calls them martian) but accepts incoming connections, so bttls dials it in both directions. ' +
    'Its `encryption` is 0 (prefers plaintext, tolerates MSE), so bttls\' MSE attempt may be accepted; the row accepts MSE or plaintext.',
    `The libtorrent SSL-torrent rows use a libtorrent-made v1 torrent whose info dict carries \`ssl-cert\` (a fresh P-256 CA), leaf certificates ` +
    `named after the torrent (SAN DNS:${PAYLOAD_NAME}), and libtorrent listening on an SSL port (\`127.0.0.1:PORTs\`).` +
    (run.sslError ? ` SSL setup failed: ${run.sslError}.` : '') +
    ' The control row (libtorrent ↔ libtorrent) shows that recipe works; it is not a bttls result.',
    'Every peer process is spawned in its own process group with its pid tracked, and stopped (SIGTERM, then SIGKILL) at the end of its scenario, pass or fail.'
  ]
}

main().then(code => { process.exitCode = code }, err => {
  process.stderr.write(`interop: ${String((err as Error)?.stack ?? err)}\n`)
  killEverythingNow()
  process.exitCode = 2
})
