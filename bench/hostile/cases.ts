/**
 * The hostile-peer cases of issue 18, each with the process under attack being the unmodified
 * `bttls` CLI (seed, get or tracker) on its own 127.0.0.x address, watched from outside through /proc
 * (proc-stats.ts), and every hostile peer in its own process (attacker.ts). Every wait is bounded.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { JsonEvent, Peer, ProcessGroup } from '../../interop/lib/processes.js'
import { encodeBencode } from '../../src/codec/bencode.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { BTTLS_BIN, bttlsCaCreate, bttlsCreate, bttlsSeed } from '../wire-image/bttls-cli.js'
import type { AttackArgs } from './attacker.js'
import { ProcessWatch, type Watched } from './proc-stats.js'

const ATTACKER = fileURLToPath(new URL('./attacker.js', import.meta.url))
/** Every bttls listener of the bench: unusual, and each on its own 127.0.0.x so one port serves all. */
const PORT = 47_731

export interface Sizes {
  readonly payloadMiB: number
  readonly deafLinks: number
  readonly deafBytesPerLink: number
  readonly deafSeconds: number
  /** `get --stop-timeout` for the runs next to bad seeders (the CLI's default is 60). */
  readonly stopTimeoutS: number
  readonly pexAddresses: number
  readonly pexSeconds: number
  readonly floodSeconds: number
  readonly issuanceSeconds: number
  readonly silentConnections: number
  readonly silentBoundS: number
  /** Connections one address opens at a seeder, insiders (right proof, held as links) and silent ones. */
  readonly heldInsiders: number
  readonly heldSilent: number
  readonly heldSeconds: number
  /** Choke churn at a leecher: the torrent's piece count, links per phase, choke/unchoke pairs per second per link. */
  readonly churnPieces: number
  readonly churnLinks: readonly number[]
  readonly churnPairsPerSecond: number
  readonly churnSeconds: number
  /** Rejecting every request at a leecher: for how long the attacker keeps (re)connecting. */
  readonly rejectSeconds: number
}

export const FULL: Sizes = {
  payloadMiB: 32, deafLinks: 4, deafBytesPerLink: 48e6, deafSeconds: 90, stopTimeoutS: 60,
  pexAddresses: 100, pexSeconds: 6, floodSeconds: 20, issuanceSeconds: 10, silentConnections: 200, silentBoundS: 25,
  heldInsiders: 500, heldSilent: 500, heldSeconds: 20,
  churnPieces: 100_000, churnLinks: [1, 8], churnPairsPerSecond: 480, churnSeconds: 10, rejectSeconds: 10
}
export const QUICK: Sizes = {
  payloadMiB: 4, deafLinks: 2, deafBytesPerLink: 48e6, deafSeconds: 40, stopTimeoutS: 10,
  pexAddresses: 100, pexSeconds: 6, floodSeconds: 4, issuanceSeconds: 3, silentConnections: 50, silentBoundS: 15,
  heldInsiders: 100, heldSilent: 100, heldSeconds: 10,
  churnPieces: 100_000, churnLinks: [1, 4], churnPairsPerSecond: 480, churnSeconds: 3, rejectSeconds: 3
}

export interface Fixture {
  readonly payload: string
  readonly dataDir: string
  readonly torrent: string
  readonly infoHash: string
}

export interface CaseContext {
  readonly procs: ProcessGroup
  readonly work: string
  readonly fixture: Fixture
  readonly sizes: Sizes
  readonly log: (line: string) => void
}

/** A row of a case's table: one process or phase, its cost and what happened. */
export interface Row {
  readonly what: string
  readonly rssStartMiB?: number
  readonly rssPeakMiB?: number
  readonly fdsMax?: number
  readonly cpuSeconds?: number
  /** The honest peer's time (download, or whatever the row says), seconds. */
  readonly honestSeconds?: number
  readonly outcome: string
}

export interface CaseResult {
  readonly rows: Row[]
  /** Everything measured, for the JSON. */
  readonly details: Record<string, unknown>
}

export async function makeFixture (work: string, payloadMiB: number): Promise<Fixture> {
  const dataDir = join(work, 'seed')
  await mkdir(dataDir, { recursive: true })
  const payload = join(dataDir, 'payload.bin')
  await writeFile(payload, randomBytes(payloadMiB * 2 ** 20))
  const torrent = join(work, 'payload.torrent')
  const created = bttlsCreate(payload, torrent, ['--v1', '--piece-length', String(256 * 1024)])
  return { payload, dataDir, torrent, infoHash: created.infoHashV1! }
}

function attack (ctx: CaseContext, name: string, args: AttackArgs): Peer {
  return ctx.procs.spawn(process.execPath, [ATTACKER, JSON.stringify(args)], { name: `attacker ${name}`, json: true, logPrefix: join(ctx.work, `attacker-${name}`) })
}

async function seed (ctx: CaseContext, host: string, name: string, torrent = ctx.fixture.torrent, extra: string[] = []): Promise<Peer> {
  return await bttlsSeed(ctx.procs, torrent, ctx.fixture.dataDir, { host, port: PORT, policy: 'prefer-tls', extra, logPrefix: join(ctx.work, `seed-${name}`) })
}

interface GetRun {
  readonly exitCode: number | null
  /** From spawn to exit (or to the bound). */
  readonly wallSeconds: number
  /** `complete.seconds` as bttls get reports it (session start to the last piece), if it completed. */
  readonly completeSeconds?: number
  /** From its session's start (`listening`) to its first peer link (`peer`), both polled every 100 ms. */
  readonly firstPeerSeconds?: number
  readonly bans: string[]
  readonly lastWords: string
  readonly watched: Watched
  readonly peer: Peer
}

/** `bttls get` from `host` with these --peer endpoints, bounded by `timeoutMs` (killed past it). */
async function get (ctx: CaseContext, host: string, name: string, peers: readonly string[], timeoutMs: number, extra: string[] = []): Promise<GetRun> {
  const out = join(ctx.work, `get-${name}`)
  await mkdir(out, { recursive: true })
  const t0 = performance.now()
  const p = ctx.procs.spawn(process.execPath, [BTTLS_BIN, 'get', ctx.fixture.torrent, '--out', out, '--host', host, '--port', String(PORT), '--json',
    ...peers.flatMap(x => ['--peer', x]), ...extra], { name: `bttls get ${name}`, json: true, logPrefix: join(ctx.work, `get-${name}`) })
  // Once it has exited, the watch keeps its last sample (at most 100 ms before the exit).
  const watch = new ProcessWatch(p.pid!)
  const listened = arrivals(p, e => e.event === 'listening')
  const linked = arrivals(p, e => e.event === 'peer')
  await p.until('exit', () => !p.running, timeoutMs).catch(() => {})
  const wallSeconds = (performance.now() - t0) / 1000
  const watched = watch.stop()
  const [listening, firstPeer] = [listened.stop()[0], linked.stop()[0]]
  const firstPeerSeconds = listening !== undefined && firstPeer !== undefined ? firstPeer - listening : undefined
  await ctx.procs.stop(p)
  const complete = p.events.find(e => e.event === 'complete')
  return {
    exitCode: p.exitCode,
    wallSeconds,
    ...(complete !== undefined ? { completeSeconds: complete.seconds as number } : {}),
    ...(firstPeerSeconds !== undefined ? { firstPeerSeconds } : {}),
    bans: p.events.filter(e => e.event === 'peer-banned').map(e => `${String(e.address)}:${String(e.port)} ${errorName(e)}`),
    lastWords: p.lastWords().replace(/^: /, ''),
    watched,
    peer: p
  }
}

/** The error's name, and its code when the name alone says nothing (a system error). */
function errorName (e: JsonEvent): string {
  const err = e.error as { name?: string, code?: string } | undefined
  if (err === undefined) return 'closed without error'
  return err.name === 'Error' && err.code !== undefined ? `Error ${err.code}` : String(err.name)
}

/** When each event matching `match` arrived, in seconds from now (polled every 100 ms until stop). */
function arrivals (p: Peer, match: (e: JsonEvent) => boolean): { stop: () => number[] } {
  const t0 = performance.now()
  const seen: number[] = []
  const timer = setInterval(() => {
    const count = p.events.filter(match).length
    while (seen.length < count) seen.push((performance.now() - t0) / 1000)
  }, 100)
  return { stop: () => { clearInterval(timer); return seen } }
}

function countBy (xs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const x of xs) out[x] = (out[x] ?? 0) + 1
  return out
}

const describeCounts = (c: Record<string, number>): string => Object.entries(c).map(([k, n]) => `${n} × ${k}`).join(', ') || 'none'

function getRow (what: string, g: GetRun): Row {
  const outcome = g.exitCode === 0
    ? `exit 0${g.bans.length > 0 ? `; banned ${g.bans.join(', ')}` : ''}`
    : `${g.exitCode === null ? 'still running at the bound, killed' : `exit ${g.exitCode}`} after ${g.wallSeconds.toFixed(1)} s${g.bans.length > 0 ? `; banned ${g.bans.join(', ')}` : ''}: ${g.lastWords}`
  return { what, rssPeakMiB: g.watched.rssPeakMiB, fdsMax: g.watched.fdsMax, cpuSeconds: g.watched.cpuSeconds, honestSeconds: g.completeSeconds, outcome }
}

const getDetails = (g: GetRun): Record<string, unknown> => ({ exitCode: g.exitCode, wallSeconds: g.wallSeconds, completeSeconds: g.completeSeconds, firstPeerSeconds: g.firstPeerSeconds, bans: g.bans, lastWords: g.lastWords, watched: g.watched })

/** 1. Insiders that never read flood interested/not-interested pairs at a seeder. */
export async function insiderFlood (ctx: CaseContext): Promise<CaseResult> {
  const s = ctx.sizes
  const seeder = await seed(ctx, '127.0.0.10', 'insider')
  const target = `127.0.0.10:${PORT}`
  const idle = new ProcessWatch(seeder.pid!)
  const baseline = await get(ctx, '127.0.0.11', 'insider-baseline', [target], 120_000)
  const baselineWatched = idle.stop()
  ctx.log(`  honest get without attack: ${baseline.completeSeconds?.toFixed(2) ?? 'failed'} s`)
  const watch = new ProcessWatch(seeder.pid!, 50)
  const isAttackerClose = (e: JsonEvent): boolean => e.event === 'peer-closed' && e.address === '127.0.0.12'
  const closing = arrivals(seeder, isAttackerClose)
  const flood = attack(ctx, 'deaf-flood', { attack: 'deaf-flood', host: '127.0.0.10', port: PORT, infoHash: ctx.fixture.infoHash, from: '127.0.0.12', links: s.deafLinks, bytesPerLink: s.deafBytesPerLink, seconds: s.deafSeconds })
  await flood.event('flooding', 20_000)
  const during = await get(ctx, '127.0.0.13', 'insider-during', [target], 120_000)
  const done = await flood.event('done', (s.deafSeconds + 20) * 1000)
  await new Promise(resolve => setTimeout(resolve, 500))
  const watched = watch.stop()
  const closedAt = closing.stop()
  const closes = seeder.events.filter(isAttackerClose).map(errorName)
  const links = done.links as Array<{ sentBytes: number, finishedSendingMs: number }>
  const sentMB = links.reduce((n, l) => n + l.sentBytes, 0) / 1e6
  // As the issue measured it: an honest download once the attack is over.
  const afterWatch = new ProcessWatch(seeder.pid!)
  const after = await get(ctx, '127.0.0.14', 'insider-after', [target], 120_000)
  const afterWatched = afterWatch.stop()
  ctx.log(`  seeder RSS ${watched.rssStartMiB.toFixed(0)} -> peak ${watched.rssPeakMiB.toFixed(0)} MiB; links closed: ${describeCounts(countBy(closes))}; honest get during: ${during.completeSeconds?.toFixed(2) ?? `failed (${during.lastWords})`} s, after: ${after.completeSeconds?.toFixed(2) ?? 'failed'} s`)
  return {
    rows: [
      { what: 'seeder, honest download alone', rssStartMiB: baselineWatched.rssStartMiB, rssPeakMiB: baselineWatched.rssPeakMiB, fdsMax: baselineWatched.fdsMax, cpuSeconds: baselineWatched.cpuSeconds, honestSeconds: baseline.completeSeconds, outcome: `get exit ${baseline.exitCode ?? 'killed'}` },
      {
        what: `seeder under ${links.length} deaf links (${sentMB.toFixed(0)} MB of interested/not-interested sent)`,
        rssStartMiB: watched.rssStartMiB,
        rssPeakMiB: watched.rssPeakMiB,
        fdsMax: watched.fdsMax,
        cpuSeconds: watched.cpuSeconds,
        honestSeconds: during.completeSeconds,
        outcome: `MB sent per link ${links.map(l => (l.sentBytes / 1e6).toFixed(1)).join(', ')} (bound ${s.deafSeconds} s); links closed: ${describeCounts(countBy(closes))}` +
          `${closedAt.length > 0 ? `, at ${closedAt.map(x => x.toFixed(1)).join(', ')} s` : ''} (an ECONNRESET or a close without error is the attacker's own, at its time bound); ` +
          `honest get during the flood: ${during.exitCode === 0 ? 'exit 0' : `exit ${during.exitCode ?? 'none (killed)'} after ${during.wallSeconds.toFixed(1)} s: ${during.lastWords}`}`
      },
      { what: 'seeder after the flood, honest download', rssStartMiB: afterWatched.rssStartMiB, rssPeakMiB: afterWatched.rssPeakMiB, fdsMax: afterWatched.fdsMax, cpuSeconds: afterWatched.cpuSeconds, honestSeconds: after.completeSeconds, outcome: `get exit ${after.exitCode ?? 'killed'}` }
    ],
    details: { baseline: getDetails(baseline), baselineSeeder: baselineWatched, during: getDetails(during), after: getDetails(after), afterSeeder: afterWatched, seeder: watched, attacker: done, closes: countBy(closes), closedAtS: closedAt }
  }
}

/** 2. A seeder of wrong blocks and a silent one (claims every piece, never sends) next to an honest seeder. */
export async function badSeeders (ctx: CaseContext): Promise<CaseResult> {
  const s = ctx.sizes
  await seed(ctx, '127.0.0.20', 'honest')
  const bad = (behaviour: 'wrong-blocks' | 'silent', host: string): Peer =>
    attack(ctx, behaviour, { attack: 'bad-seeder', behaviour, torrent: ctx.fixture.torrent, data: ctx.fixture.dataDir, host, port: PORT })
  const wrong = bad('wrong-blocks', '127.0.0.21')
  const silent = bad('silent', '127.0.0.22')
  await Promise.all([wrong.event('ready', 30_000), silent.event('ready', 30_000)])
  const [h, w, q] = ['127.0.0.20', '127.0.0.21', '127.0.0.22'].map(x => `${x}:${PORT}`) as [string, string, string]
  const baseline = await get(ctx, '127.0.0.23', 'honest-only', [h], 120_000)
  ctx.log(`  honest seeder alone: ${baseline.completeSeconds?.toFixed(2) ?? 'failed'} s`)
  const stop = ['--stop-timeout', String(s.stopTimeoutS)]
  const boundMs = (s.stopTimeoutS + 90) * 1000
  const runs: Array<[string, string, string[]]> = [
    ['silent + honest seeder', 'silent-honest', [q, h]],
    ['wrong-block + honest seeder', 'wrong-honest', [w, h]],
    ['wrong-block + silent + honest seeder', 'mixed', [w, q, h]],
    ['wrong-block + silent seeder only', 'bad-only', [w, q]]
  ]
  const results: Array<[string, GetRun]> = []
  // 127.0.0.24 onwards: each get on its own address, so no ban or back-off of one run carries to the next.
  for (const [i, [label, name, peers]] of runs.entries()) {
    const g = await get(ctx, `127.0.0.${24 + i}`, name, peers, boundMs, stop)
    ctx.log(`  ${label}: ${g.exitCode === 0 ? `complete in ${g.completeSeconds?.toFixed(2) ?? '?'} s` : `exit ${g.exitCode ?? 'none (killed)'} after ${g.wallSeconds.toFixed(1)} s: ${g.lastWords}`}; bans: ${g.bans.join(', ') || 'none'}`)
    results.push([label, g])
  }
  const totals: Record<string, JsonEvent | undefined> = {}
  for (const [name, p] of [['wrongBlocks', wrong], ['silent', silent]] as const) {
    await ctx.procs.stop(p)
    totals[name] = p.events.find(e => e.event === 'totals')
  }
  return {
    rows: [getRow('get, honest seeder alone', baseline), ...results.map(([label, g]) => getRow(`get, ${label} (--stop-timeout ${s.stopTimeoutS})`, g))],
    details: { baseline: getDetails(baseline), ...Object.fromEntries(results.map(([label, g]) => [label, getDetails(g)])), attackers: totals, boundSeconds: boundMs / 1000 }
  }
}

/** 3. One ut_pex message naming N listening addresses, sent to a complete seeder and to a leecher. */
export async function pexReflection (ctx: CaseContext): Promise<CaseResult> {
  const s = ctx.sizes
  const rows: Row[] = []
  const details: Record<string, unknown> = {}
  const targets: Array<[string, string, () => Promise<Peer>]> = [
    ['complete seeder (bttls seed)', '127.0.1', () => seed(ctx, '127.0.0.30', 'pex')],
    ['leecher (bttls get, its one --peer unreachable)', '127.0.2', async () => {
      const out = join(ctx.work, 'get-pex')
      await mkdir(out, { recursive: true })
      // Nothing listens at 127.0.0.33: the leecher stays incomplete (its redials give up after ~15 s).
      const p = ctx.procs.spawn(process.execPath, [BTTLS_BIN, 'get', ctx.fixture.torrent, '--out', out, '--host', '127.0.0.32', '--port', String(PORT), '--json', '--peer', `127.0.0.33:${PORT}`],
        { name: 'bttls get pex', json: true, logPrefix: join(ctx.work, 'get-pex') })
      await p.event('listening', 20_000)
      return p
    }]
  ]
  for (const [label, sinkPrefix, start] of targets) {
    const target = await start()
    const host = label.startsWith('complete') ? '127.0.0.30' : '127.0.0.32'
    const watch = new ProcessWatch(target.pid!)
    const a = attack(ctx, `pex-${sinkPrefix}`, { attack: 'pex-reflection', host, port: PORT, infoHash: ctx.fixture.infoHash, from: '127.0.0.31', sinkPrefix, sinkPort: PORT, addresses: s.pexAddresses, seconds: s.pexSeconds })
    const done = await a.event('done', (s.pexSeconds + 30) * 1000)
    const watched = watch.stop()
    await ctx.procs.stop(target)
    ctx.log(`  ${label}: ${String(done.addressesDialed)} of ${s.pexAddresses} addresses dialed in ${s.pexSeconds} s (${String(done.connections)} TCP connections)`)
    rows.push({
      what: label,
      rssStartMiB: watched.rssStartMiB,
      rssPeakMiB: watched.rssPeakMiB,
      fdsMax: watched.fdsMax,
      cpuSeconds: watched.cpuSeconds,
      outcome: `${String(done.addressesDialed)} of ${s.pexAddresses} addresses dialed within ${s.pexSeconds} s (${String(done.connections)} TCP connections` +
        `${done.firstDialMs !== null ? `, first after ${String(done.firstDialMs)} ms, last new one after ${String(done.lastFirstDialMs)} ms` : ''}); one ${String(done.messageBytes)}-byte message`
    })
    details[sinkPrefix === '127.0.1' ? 'seeder' : 'leecher'] = { ...done, watched }
  }
  return { rows, details }
}

/** 4. TLS handshakes with wrong proofs from one address; an honest peer from another address meanwhile. */
export async function handshakeFlood (ctx: CaseContext): Promise<CaseResult> {
  const s = ctx.sizes
  const seeder = await seed(ctx, '127.0.0.40', 'probe')
  const watch = new ProcessWatch(seeder.pid!)
  const flood = attack(ctx, 'handshake-flood', { attack: 'handshake-flood', host: '127.0.0.40', port: PORT, realInfoHash: ctx.fixture.infoHash, from: '127.0.0.41', seconds: s.floodSeconds, concurrency: 4 })
  // The honest peer starts once the flood has run a second.
  await new Promise(resolve => setTimeout(resolve, 1000))
  const honest = await get(ctx, '127.0.0.42', 'probe-honest', [`127.0.0.40:${PORT}`], 120_000)
  const done = await flood.event('done', (s.floodSeconds + 60) * 1000)
  await new Promise(resolve => setTimeout(resolve, 300))
  const watched = watch.stop()
  const refusals = seeder.events.filter(e => e.event === 'refused' && e.address === '127.0.0.41').map(errorName)
  const byName = countBy(refusals)
  const handshakes = done.handshakes as number
  const cpuPerHandshakeMs = watched.cpuSeconds / (handshakes + 1) * 1000
  ctx.log(`  ${handshakes} wrong proofs in ${String(done.seconds)} s; seeder refusals: ${describeCounts(byName)}; ${cpuPerHandshakeMs.toFixed(2)} ms CPU each; honest get ${honest.completeSeconds?.toFixed(2) ?? 'failed'} s`)
  return {
    rows: [{
      what: `seeder under ${handshakes} wrong-proof handshakes from one address in ${(done.seconds as number).toFixed(0)} s`,
      rssStartMiB: watched.rssStartMiB,
      rssPeakMiB: watched.rssPeakMiB,
      fdsMax: watched.fdsMax,
      cpuSeconds: watched.cpuSeconds,
      honestSeconds: honest.completeSeconds,
      outcome: `decoy visits by reason: ${describeCounts(byName)} (${refusals.filter(n => n !== 'ProbeLimitError').length} wrong proofs judged before the limit); ` +
        `seeder CPU ${cpuPerHandshakeMs.toFixed(2)} ms per handshake (${(watched.cpuSeconds / watched.seconds).toFixed(2)} cores); a right proof from the flooding address afterwards: ${String(done.rightProofAfter)}; ` +
        `honest get from another address exit ${honest.exitCode ?? 'killed'}`
    }],
    details: { attacker: done, refusals: byName, seeder: watched, cpuPerHandshakeMs, honest: getDetails(honest) }
  }
}

/** 5. The secure tracker: one user's issuance flood, the response size after revoking it, silent TCP connections. */
export async function secureTracker (ctx: CaseContext): Promise<CaseResult> {
  const s = ctx.sizes
  const dir = join(ctx.work, 'tracker')
  bttlsCaCreate(join(dir, 'ca'))
  const caPem = await readFile(join(dir, 'ca', 'ca.pem'), 'utf8')
  const torrent = join(dir, 'full-strict.torrent')
  const created = bttlsCreate(ctx.fixture.payload, torrent, ['--v1', '--full-strict', '--ca', join(dir, 'ca', 'ca.pem')])
  const db = join(dir, 'tracker.db')
  const admin = (...args: string[]): JsonEvent => {
    const r = spawnSync(process.execPath, [BTTLS_BIN, 'tracker', ...args, '--db', db, '--json'], { encoding: 'utf8', timeout: 30_000 })
    const e = r.stdout.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as JsonEvent)[0]
    if (r.status !== 0 || e === undefined) throw new Error(`bttls tracker ${args.join(' ')} failed: ${r.stderr.trim()}`)
    return e
  }
  const mallory = String(admin('user', 'add', 'mallory').token)
  const alice = String(admin('user', 'add', 'alice').token)
  const tracker = ctx.procs.spawn(process.execPath, [BTTLS_BIN, 'tracker', '--db', db, '--ca-cert', join(dir, 'ca', 'ca.pem'), '--ca-key', join(dir, 'ca', 'ca.key'),
    '--torrent', torrent, '--host', '127.0.0.1', '--port', String(PORT), '--json'], { name: 'bttls tracker', json: true, logPrefix: join(ctx.work, 'tracker') })
  const listening = await tracker.event('listening', 20_000)
  const url = String(listening.url)
  const infoHash = created.infoHashV1!
  const size = async (label: string): Promise<JsonEvent> =>
    await attack(ctx, `announce-${label}`, { attack: 'announce-size', url, caPem, infoHash, passkey: alice }).event('done', 30_000)

  const before = await size('before')
  const watchFlood = new ProcessWatch(tracker.pid!)
  const flood = await attack(ctx, 'issuance-flood', { attack: 'issuance-flood', url, caPem, infoHash, passkey: mallory, seconds: s.issuanceSeconds, concurrency: 4 }).event('done', (s.issuanceSeconds + 30) * 1000)
  const floodWatched = watchFlood.stop()
  const revoked = admin('user', 'revoke', 'mallory')
  const after = await size('after')
  ctx.log(`  issuance flood: ${String(flood.issued)} issued, refused ${describeCounts(flood.refused as Record<string, number>)}; response ${String(before.responseBytes)} B -> ${String(after.responseBytes)} B after revoking`)

  const watchSilent = new ProcessWatch(tracker.pid!, 50)
  const silent = await attack(ctx, 'silent-tcp', { attack: 'silent-tcp', host: '127.0.0.1', port: Number(listening.port), from: '127.0.0.51', connections: s.silentConnections, seconds: s.silentBoundS })
    .event('done', (s.silentBoundS + 30) * 1000)
  const silentWatched = watchSilent.stop()
  ctx.log(`  ${s.silentConnections} silent TCP connections: tracker FDs ${silentWatched.fdsStart} -> max ${silentWatched.fdsMax}; closed by the tracker ${String(silent.closedByServer)}, the last after ${String(silent.lastClosedS)} s`)
  await ctx.procs.stop(tracker)
  return {
    rows: [
      {
        what: `tracker, one user announcing with a CSR for ${(flood.seconds as number).toFixed(0)} s`,
        rssStartMiB: floodWatched.rssStartMiB,
        rssPeakMiB: floodWatched.rssPeakMiB,
        fdsMax: floodWatched.fdsMax,
        cpuSeconds: floodWatched.cpuSeconds,
        outcome: `${String(flood.issued)} certificates issued, refused: ${describeCounts(flood.refused as Record<string, number>)}; ` +
          `another user's announce response ${String(before.responseBytes)} B before, ${String(after.responseBytes)} B after revoking the user (${String(after.revokedSerials)} serials listed)`
      },
      {
        what: `tracker, ${s.silentConnections} TCP connections that never send`,
        rssStartMiB: silentWatched.rssStartMiB,
        rssPeakMiB: silentWatched.rssPeakMiB,
        fdsMax: silentWatched.fdsMax,
        cpuSeconds: silentWatched.cpuSeconds,
        outcome: `FDs ${silentWatched.fdsStart} → ${silentWatched.fdsMax} → ${silentWatched.fdsEnd}; ${String(silent.closedByServer)} of ${String(silent.connections)} closed by the tracker, ` +
          `first after ${String(silent.firstClosedS)} s, last after ${String(silent.lastClosedS)} s${(silent.stillOpenAtEnd as number) > 0 ? `; ${String(silent.stillOpenAtEnd)} still open at the ${s.silentBoundS} s bound` : ''}`
      }
    ],
    details: { before, flood, floodWatched, revoked, after, silent, silentWatched }
  }
}

/**
 * 6. Many connections from one address against the per-address bound (src/handshake/held-connections.ts):
 * insiders that pass the TLS handshake with the right proof and hold their links open, then
 * connections that never send a byte (held in the handshake's first step); an honest peer from
 * another address downloads meanwhile.
 */
export async function connectionsPerAddress (ctx: CaseContext): Promise<CaseResult> {
  const s = ctx.sizes
  const seeder = await seed(ctx, '127.0.0.60', 'held')
  const target = `127.0.0.60:${PORT}`
  const idle = new ProcessWatch(seeder.pid!)
  const baseline = await get(ctx, '127.0.0.62', 'held-baseline', [target], 120_000)
  const baselineWatched = idle.stop()
  ctx.log(`  honest get alone: first link ${baseline.firstPeerSeconds?.toFixed(2) ?? '–'} s, complete ${baseline.completeSeconds?.toFixed(2) ?? 'failed'} s`)
  const from = (address: string) => (e: JsonEvent): boolean => e.address === address

  const watchInsiders = new ProcessWatch(seeder.pid!, 50)
  const insiders = attack(ctx, 'held-insiders', {
    attack: 'held-insiders', host: '127.0.0.60', port: PORT, infoHash: ctx.fixture.infoHash, from: '127.0.0.61', connections: s.heldInsiders, concurrency: 16, seconds: s.heldSeconds
  })
  const holding = await insiders.event('holding', (s.heldSeconds + 90) * 1000)
  const duringInsiders = await get(ctx, '127.0.0.63', 'held-insiders', [target], 120_000)
  const insidersDone = await insiders.event('done', (s.heldSeconds + 90) * 1000)
  const insidersWatched = watchInsiders.stop()
  const insiderLinks = seeder.events.filter(e => e.event === 'peer' && from('127.0.0.61')(e)).length
  const insiderRefusals = countBy(seeder.events.filter(e => e.event === 'refused' && from('127.0.0.61')(e)).map(errorName))
  ctx.log(`  ${s.heldInsiders} insiders from one address: ${insiderLinks} links, refused ${describeCounts(insiderRefusals)}; honest get ${duringInsiders.completeSeconds?.toFixed(2) ?? 'failed'} s`)

  const watchSilent = new ProcessWatch(seeder.pid!, 50)
  const silent = attack(ctx, 'held-silent', { attack: 'silent-tcp', host: '127.0.0.60', port: PORT, from: '127.0.0.64', connections: s.heldSilent, seconds: s.silentBoundS })
  await silent.event('opened', 30_000)
  const duringSilent = await get(ctx, '127.0.0.65', 'held-silent', [target], 120_000)
  const silentDone = await silent.event('done', (s.silentBoundS + 30) * 1000)
  const silentWatched = watchSilent.stop()
  const silentRefusals = countBy(seeder.events.filter(e => e.event === 'refused' && from('127.0.0.64')(e)).map(errorName))
  ctx.log(`  ${s.heldSilent} silent connections from one address: FDs ${silentWatched.fdsStart} -> ${silentWatched.fdsMax}; closed by the seeder ${String(silentDone.closedByServer)}, ` +
    `the last after ${String(silentDone.lastClosedS)} s; honest get ${duringSilent.completeSeconds?.toFixed(2) ?? 'failed'} s`)

  const honest = (g: GetRun): string => g.exitCode === 0
    ? `honest get from another address: first link after ${g.firstPeerSeconds?.toFixed(2) ?? '–'} s, exit 0`
    : `honest get from another address: exit ${g.exitCode ?? 'none (killed)'} after ${g.wallSeconds.toFixed(1)} s: ${g.lastWords}`
  return {
    rows: [
      {
        what: 'seeder, honest download alone',
        rssStartMiB: baselineWatched.rssStartMiB,
        rssPeakMiB: baselineWatched.rssPeakMiB,
        fdsMax: baselineWatched.fdsMax,
        cpuSeconds: baselineWatched.cpuSeconds,
        honestSeconds: baseline.completeSeconds,
        outcome: `first link after ${baseline.firstPeerSeconds?.toFixed(2) ?? '–'} s; get exit ${baseline.exitCode ?? 'killed'}`
      },
      {
        what: `seeder, ${String(insidersDone.attempts)} insiders from one address (right proof, links held ${s.heldSeconds} s)`,
        rssStartMiB: insidersWatched.rssStartMiB,
        rssPeakMiB: insidersWatched.rssPeakMiB,
        fdsMax: insidersWatched.fdsMax,
        cpuSeconds: insidersWatched.cpuSeconds,
        honestSeconds: duringInsiders.completeSeconds,
        outcome: `${insiderLinks} became links (the attacker held ${String(holding.held)}, ${String(insidersDone.stillOpenAtEnd)} still open at the end); ` +
          `the seeder refused ${describeCounts(insiderRefusals)}; the attacker saw ${describeCounts(insidersDone.outcomes as Record<string, number>)} in ${((holding.ms as number) / 1000).toFixed(1)} s; ${honest(duringInsiders)}`
      },
      {
        what: `seeder, ${String(silentDone.connections)} connections from one address that never send`,
        rssStartMiB: silentWatched.rssStartMiB,
        rssPeakMiB: silentWatched.rssPeakMiB,
        fdsMax: silentWatched.fdsMax,
        cpuSeconds: silentWatched.cpuSeconds,
        honestSeconds: duringSilent.completeSeconds,
        outcome: `FDs ${silentWatched.fdsStart} → ${silentWatched.fdsMax} → ${silentWatched.fdsEnd}; ${String(silentDone.closedByServer)} closed by the seeder, ` +
          `first after ${String(silentDone.firstClosedS)} s, last after ${String(silentDone.lastClosedS)} s${(silentDone.stillOpenAtEnd as number) > 0 ? `, ${String(silentDone.stillOpenAtEnd)} still open at the ${s.silentBoundS} s bound` : ''}; ` +
          `refused: ${describeCounts(silentRefusals)}; ${honest(duringSilent)}`
      }
    ],
    details: {
      baseline: getDetails(baseline), baselineSeeder: baselineWatched,
      insiders: { attacker: insidersDone, links: insiderLinks, refusals: insiderRefusals, seeder: insidersWatched, honest: getDetails(duringInsiders) },
      silent: { attacker: silentDone, refusals: silentRefusals, seeder: silentWatched, honest: getDetails(duringSilent) }
    }
  }
}

/**
 * A `bttls get` at `host` of a torrent of s.churnPieces 16 KiB pieces (random hashes: no data is
 * needed, none is ever verified), up and idle for `idleSeconds`; the first row is its idle cost.
 */
async function manyPiecesLeecher (ctx: CaseContext, host: string, name: string, idleSeconds: number): Promise<{ leecher: Peer, infoHash: string, rows: Row[], details: Record<string, unknown> }> {
  const s = ctx.sizes
  const pieceLength = 16 * 1024
  const info = { length: s.churnPieces * pieceLength, name: Buffer.from('many-pieces.bin'), 'piece length': pieceLength, pieces: randomBytes(20 * s.churnPieces) }
  const bytes = encodeBencode({ info })
  const torrent = join(ctx.work, 'many-pieces.torrent')
  await writeFile(torrent, bytes)
  const infoHash = Buffer.from(parseTorrent(bytes).wireInfoHash).toString('hex')
  const out = join(ctx.work, `get-${name}`)
  await mkdir(out, { recursive: true })
  // A tracker nobody answers: the leecher keeps looking for peers (and stays up) instead of giving up on its --peer list.
  const leecher = ctx.procs.spawn(process.execPath, [BTTLS_BIN, 'get', torrent, '--out', out, '--host', host, '--port', String(PORT), '--json',
    '--no-dht', '--tracker', 'http://127.0.0.79:9/announce', '--stop-timeout', '600'], { name: `bttls get ${name}`, json: true, logPrefix: join(ctx.work, `get-${name}`) })
  await leecher.event('listening', 20_000)
  const idle = new ProcessWatch(leecher.pid!)
  await new Promise(resolve => setTimeout(resolve, idleSeconds * 1000))
  const idleWatched = idle.stop()
  const rows: Row[] = [{
    what: `leecher of ${s.churnPieces.toLocaleString('en')} pieces, idle for ${idleSeconds} s`,
    rssStartMiB: idleWatched.rssStartMiB, rssPeakMiB: idleWatched.rssPeakMiB, fdsMax: idleWatched.fdsMax, cpuSeconds: idleWatched.cpuSeconds, outcome: 'no peer'
  }]
  return { leecher, infoHash, rows, details: { idle: idleWatched } }
}

/**
 * An attacker (one with a `from` address and a `seconds` bound) against `leecher`: the leecher watched
 * from the attacker's 'ready' to its 'done', and the links from `from` it closed, by error.
 */
async function watchedAttack (ctx: CaseContext, leecher: Peer, name: string, args: Extract<AttackArgs, { from: string, seconds: number }>): Promise<{ done: JsonEvent, watched: Watched, closes: Record<string, number> }> {
  const attacker = attack(ctx, name, args)
  await attacker.event('ready', 30_000)
  const watch = new ProcessWatch(leecher.pid!, 50)
  const done = await attacker.event('done', (args.seconds + 30) * 1000)
  const watched = watch.stop()
  await ctx.procs.stop(attacker)
  await new Promise(resolve => setTimeout(resolve, 300))
  const closes = countBy(leecher.events.filter(e => e.event === 'peer-closed' && e.address === args.from).map(errorName))
  return { done, watched, closes }
}

/**
 * 7. Choke/unchoke churn at a leecher (`bttls get` of a torrent of many 16 KiB pieces, no data needed)
 * from peers that each claim one piece, which it then asks them for: nothing else can be picked from
 * them, and each unchoke used to make the downloader scan every piece for one to request. The churn
 * stays under the message budget (1,024 a second), so only the leecher's own work is at stake.
 */
export async function chokeChurn (ctx: CaseContext): Promise<CaseResult> {
  const s = ctx.sizes
  const { leecher, infoHash, rows, details } = await manyPiecesLeecher(ctx, '127.0.0.70', 'churn', s.churnSeconds)
  for (const [i, links] of s.churnLinks.entries()) {
    const from = `127.0.0.${71 + i}`
    const { done, watched, closes } = await watchedAttack(ctx, leecher, `churn-${links}`,
      { attack: 'choke-churn', host: '127.0.0.70', port: PORT, infoHash, from, links, pieces: s.churnPieces, pairsPerSecond: s.churnPairsPerSecond, seconds: s.churnSeconds })
    const unchokes = (done.pairsPerLink as number) * links
    const cores = watched.cpuSeconds / watched.seconds
    const perUnchokeUs = watched.cpuSeconds / Math.max(1, unchokes) * 1e6
    ctx.log(`  ${links} link(s), ${unchokes} unchokes in ${(done.seconds as number).toFixed(1)} s: leecher ${watched.cpuSeconds.toFixed(2)} CPU s (${cores.toFixed(2)} cores, ${perUnchokeUs.toFixed(0)} µs per unchoke); closed: ${describeCounts(closes)}`)
    rows.push({
      what: `leecher, ${links} link(s) from one address churning ${s.churnPairsPerSecond} choke/unchoke pairs a second each for ${s.churnSeconds} s`,
      rssStartMiB: watched.rssStartMiB,
      rssPeakMiB: watched.rssPeakMiB,
      fdsMax: watched.fdsMax,
      cpuSeconds: watched.cpuSeconds,
      outcome: `${unchokes} unchokes: ${cores.toFixed(2)} cores, ${perUnchokeUs.toFixed(0)} µs of leecher CPU per unchoke; requests received per link: ${(done.requests as number[]).join(', ')}; ` +
        `links closed by the leecher: ${describeCounts(closes)} (a close without error is the attacker's own, at the end)`
    })
    details[`links${links}`] = { attacker: done, leecher: watched, closes, cores, perUnchokeUs }
  }
  await ctx.procs.stop(leecher)
  return { rows, details }
}

/**
 * 8. A peer that claims every piece (have-all), unchokes the leecher and rejects (BEP 6) every request
 * it gets, reconnecting whenever its link is closed, for s.rejectSeconds. Each reject used to leave its
 * piece started (with a buffer of the piece's length) and start another, and the link stayed open.
 */
export async function rejectAll (ctx: CaseContext): Promise<CaseResult> {
  const s = ctx.sizes
  const { leecher, infoHash, rows, details } = await manyPiecesLeecher(ctx, '127.0.0.80', 'reject', s.rejectSeconds)
  const { done, watched, closes } = await watchedAttack(ctx, leecher, 'reject-all',
    { attack: 'reject-all', host: '127.0.0.80', port: PORT, infoHash, from: '127.0.0.81', pieces: s.churnPieces, seconds: s.rejectSeconds })
  const links = done.links as Array<{ rejects: number, closedAtS: number | null }>
  const rejects = links.reduce((n, l) => n + l.rejects, 0)
  const closedByLeecher = links.filter(l => l.closedAtS !== null)
  const cores = watched.cpuSeconds / watched.seconds
  ctx.log(`  ${links.length} link(s), ${rejects} rejects in ${(done.seconds as number).toFixed(1)} s: leecher RSS ${watched.rssStartMiB.toFixed(0)} -> peak ${watched.rssPeakMiB.toFixed(0)} MiB, ` +
    `${watched.cpuSeconds.toFixed(2)} CPU s (${cores.toFixed(2)} cores); closed: ${describeCounts(closes)}`)
  rows.push({
    what: `leecher, a have-all peer rejecting every request for ${s.rejectSeconds} s (reconnecting when closed)`,
    rssStartMiB: watched.rssStartMiB,
    rssPeakMiB: watched.rssPeakMiB,
    fdsMax: watched.fdsMax,
    cpuSeconds: watched.cpuSeconds,
    outcome: `${rejects.toLocaleString('en')} rejects over ${links.length} link(s) (${(rejects / (done.seconds as number)).toFixed(0)} a second), ${cores.toFixed(2)} cores; ` +
      `rejects per link: ${links.slice(0, 5).map(l => l.rejects).join(', ')}${links.length > 5 ? ', …' : ''}; ` +
      `${closedByLeecher.length} closed by the leecher${closedByLeecher.length > 0 ? `, the first after ${closedByLeecher[0]!.closedAtS!.toFixed(2)} s` : ''}: ${describeCounts(closes)} ` +
      '(a close without error is the attacker\'s own, at the end)'
  })
  await ctx.procs.stop(leecher)
  return { rows, details: { ...details, attacker: done, leecher: watched, closes, cores } }
}
