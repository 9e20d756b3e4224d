/**
 * 'swarm-mixed' (issue 7): one swarm of 8 bttls peers (one seeder, seven leechers), a libtorrent
 * leecher and an aria2 leecher, each on its own loopback address, that find each other ONLY through
 * opentracker, a DHT of our own nodes and PEX: no --peer anywhere.
 *
 * Expected: every bttls ↔ bttls link is TLS (a legacy link that an `upgraded` event replaced counts as
 * replaced, not as a failure), every link with libtorrent or aria2 is plaintext or MSE, and every
 * leecher's file is byte-identical to the source. The connection matrix (each bttls process's `peer`
 * events, address → peer) is printed, written to the scenario directory and put in the row's notes.
 *
 * Order: the legacy clients start first, then the bttls leechers, then the seeder. opentracker asks
 * for 30-minute intervals, so each peer announces about once: starting the seeder last means every
 * leecher is already listed when it announces, and the leechers meet each other before any data
 * exists (a leecher that finished first would exit before later peers could meet it).
 *
 * Client quirks: libtorrent (lt_peer.py --use-tracker) announces to opentracker and gets our peers by
 * PEX as well; its DHT is off. aria2 learns peers only from the tracker (re-announcing every second);
 * neither needs a --peer here.
 */
import { join } from 'node:path'
import { mkdir, writeFile } from 'node:fs/promises'
import { DEBIAN_PYTHON } from './clients.js'
import { PAYLOAD_NAME, SkipScenario, type Outcome, type ScenarioContext } from './context.js'
import { sameBytes } from './files.js'
import { ltTransport } from './libtorrent.js'
import { bttlsLinks } from './bttls.js'
import type { JsonEvent, Peer } from './processes.js'
import type { Scenario } from './scenarios.js'

const BTTLS_PEERS = 8
const bttlsHost = (k: number): string => `127.0.0.${20 + k}`
const LT_HOST = '127.0.0.30'
const ARIA2_HOST = '127.0.0.31'
const DHT_HOST = '127.0.0.1'

interface Member { name: string, host: string, kind: 'bttls' | 'libtorrent' | 'aria2', proc?: Peer, dir: string }

function bin (ctx: ScenarioContext): string { return join(ctx.repo, 'bin', 'bttls.js') }

async function startDhtNode (ctx: ScenarioContext): Promise<string> {
  const node = ctx.procs.spawn(process.execPath, [join(ctx.repo, 'dist', 'interop', 'lib', 'dht-node.js'), '--host', DHT_HOST, '--port', String(ctx.port(0))], {
    name: 'dht bootstrap', json: true, logPrefix: ctx.log('dht-node')
  })
  const e = await node.event('listening', 10000)
  return `${DHT_HOST}:${String(e.port)}`
}

function startBttls (ctx: ScenarioContext, m: Member, k: number, torrent: string, dhtBootstrap: string): Peer {
  const seed = k === 0
  const args = [bin(ctx), seed ? 'seed' : 'get', torrent, seed ? '--data' : '--out', seed ? ctx.srcDir : m.dir,
    '--port', String(ctx.port(k)), '--host', m.host, '--policy', 'prefer-tls', '--json', '--dht-bootstrap', dhtBootstrap]
  return ctx.procs.spawn(process.execPath, args, { name: m.name, json: true, logPrefix: ctx.log(m.name) })
}

async function startLibtorrent (ctx: ScenarioContext, m: Member, torrent: string): Promise<Peer> {
  const port = ctx.port(8)
  const args = [join(ctx.repo, 'interop', 'peers', 'lt_peer.py'), 'leech', '--torrent', torrent, '--save', m.dir, '--listen', `${LT_HOST}:${port}`,
    '--outgoing-interface', LT_HOST, '--enc', 'default', '--use-tracker', '--timeout', String(Math.floor(ctx.left() / 1000)),
    // Capped so the legacy clients cannot finish from each other alone before meeting bttls peers
    // (the swarm completes in a few seconds; uncapped, aria2 sometimes got all 16 MiB from libtorrent).
    '--upload-limit', String(1024 * 1024)]
  const peer = ctx.procs.spawn(DEBIAN_PYTHON, args, { name: m.name, json: true, logPrefix: ctx.log(m.name) })
  await peer.event('listening', 15000, e => e.port === port && e.socket !== 'udp' && !String(e.socket).includes('utp'))
  await peer.event('torrent-ready', 15000)
  return peer
}

function startAria2 (ctx: ScenarioContext, m: Member, torrent: string): Peer {
  return ctx.procs.spawn('aria2c', [
    `--dir=${m.dir}`, `--listen-port=${ctx.port(9)}`, '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false',
    '--enable-peer-exchange=false', '--disable-ipv6=true', `--interface=${ARIA2_HOST}`, '--file-allocation=none', '--summary-interval=0',
    '--console-log-level=warn', `--log=${ctx.log('aria2.log')}`, '--log-level=info', '--bt-tracker-interval=1', '--seed-time=0', torrent
  ], { name: m.name, logPrefix: ctx.log(m.name) })
}

export interface Matrix {
  /** row bttls member -> column member -> transports seen (as that row's process reported them). */
  cells: Map<string, Map<string, Set<string>>>
  problems: string[]
  counts: Record<string, number>
}

/**
 * The connection matrix from the bttls processes' `peer` and `upgraded` events. Each member has its
 * own address, so a link's remote address names the peer whatever the (ephemeral) port.
 */
export function connectionMatrix (members: Member[]): Matrix {
  const byHost = new Map(members.map(m => [m.host, m]))
  const cells = new Map<string, Map<string, Set<string>>>()
  const problems: string[] = []
  const counts: Record<string, number> = {}
  // Pairs with a replaced legacy link: whichever side reported the upgrade.
  const upgradedPairs = new Set<string>()
  const pair = (a: string, b: string): string => [a, b].sort().join('|')
  for (const m of members) {
    for (const e of m.proc?.events ?? []) {
      if (e.event !== 'upgraded') continue
      const other = byHost.get(String(e.host))
      if (other) upgradedPairs.add(pair(m.name, other.name))
    }
  }
  for (const m of members.filter(x => x.kind === 'bttls')) {
    const row = new Map<string, Set<string>>()
    cells.set(m.name, row)
    for (const e of (m.proc?.events ?? []).filter((x: JsonEvent) => x.event === 'peer')) {
      const other = byHost.get(String(e.address))
      const transport = String(e.transport)
      const name = other?.name ?? `${String(e.address)}:${String(e.port)}`
      const set = row.get(name) ?? new Set<string>()
      row.set(name, set)
      const legacyReplaced = other?.kind === 'bttls' && transport !== 'tls' && upgradedPairs.has(pair(m.name, other.name))
      set.add(legacyReplaced ? `${transport}→replaced` : transport)
      const key = `${other?.kind === 'bttls' ? 'bttls↔bttls' : `bttls↔${other?.kind ?? 'unknown'}`} ${legacyReplaced ? `${transport} (replaced)` : transport}`
      counts[key] = (counts[key] ?? 0) + 1
      if (other === undefined) problems.push(`${m.name} linked with ${name}, not a member of the swarm`)
      else if (other.kind === 'bttls' && transport !== 'tls' && !legacyReplaced) problems.push(`${m.name} ↔ ${other.name} over ${transport} (bttls pairs must end on TLS)`)
      else if (other.kind !== 'bttls' && transport === 'tls') problems.push(`${m.name} ↔ ${other.name} over TLS: the legacy client cannot speak bttls`)
    }
  }
  return { cells, problems, counts }
}

export function renderMatrix (members: Member[], matrix: Matrix): string[] {
  const cols = members.map(m => m.name)
  const short = (s: Set<string> | undefined): string => s === undefined ? '·' : [...s].sort().join('+')
  const lines = [`| bttls peer \\ peer | ${cols.join(' | ')} |`, `|---|${cols.map(() => '---').join('|')}|`]
  for (const [row, cells] of matrix.cells) lines.push(`| ${row} | ${cols.map(c => c === row ? '—' : short(cells.get(c))).join(' | ')} |`)
  return lines
}

export const swarmMixed: Scenario = {
  id: 'swarm-mixed',
  title: 'mixed swarm: 8 bttls + libtorrent + aria2, discovery by opentracker + DHT + PEX only (issue 7)',
  direction: 'bttls seeds',
  client: 'libtorrent',
  needs: ['libtorrent', 'aria2', 'opentracker'],
  torrent: 'v1 + tracker',
  limitMs: 60000,
  async run (ctx: ScenarioContext, out: Outcome) {
    if (!ctx.tracker) throw new SkipScenario(`opentracker did not start: ${ctx.trackerError ?? 'unknown'}`)
    const t = ctx.torrents.v1WithTracker
    const members: Member[] = [
      ...Array.from({ length: BTTLS_PEERS }, (_, k): Member => ({ name: k === 0 ? 'b0 (seed)' : `b${k}`, host: bttlsHost(k), kind: 'bttls', dir: join(ctx.dir, `dl-b${k}`) })),
      { name: 'libtorrent', host: LT_HOST, kind: 'libtorrent', dir: join(ctx.dir, 'dl-lt') },
      { name: 'aria2', host: ARIA2_HOST, kind: 'aria2', dir: join(ctx.dir, 'dl-aria2') }
    ]
    for (const m of members) await mkdir(m.dir, { recursive: true })
    const bttls = members.filter(m => m.kind === 'bttls')
    const lt = members.find(m => m.kind === 'libtorrent')!
    const aria2 = members.find(m => m.kind === 'aria2')!

    const dhtBootstrap = await startDhtNode(ctx)
    lt.proc = await startLibtorrent(ctx, lt, t.path)
    aria2.proc = startAria2(ctx, aria2, t.path)
    for (const [k, m] of bttls.entries()) if (k > 0) m.proc = startBttls(ctx, m, k, t.path, dhtBootstrap)
    // Every leecher listens and has announced before the seeder comes.
    await Promise.all(bttls.slice(1).map(async m => {
      await m.proc!.event('listening', 15000)
      await m.proc!.event('discovery', 15000, e => e.source === 'tracker' && (e.kind === 'announced' || e.kind === 'failed'))
    }))
    const started = Date.now()
    bttls[0]!.proc = startBttls(ctx, bttls[0]!, 0, t.path, dhtBootstrap)

    const leechers = [...bttls.slice(1), lt, aria2]
    await Promise.all(leechers.map(async m => {
      const p = m.proc!
      if (m.kind === 'libtorrent') { await p.event('complete', ctx.left()); await p.until('exit', () => !p.running, 10000); return }
      await p.until('exit', () => !p.running, ctx.left())
      if (p.exitCode !== 0) throw new Error(`${m.name} exited ${p.exitCode ?? p.signal}${p.lastWords()}`)
    }))
    const seconds = (Date.now() - started) / 1000
    out.seconds = seconds
    out.mibPerSecond = ctx.payloadBytes * leechers.length / 2 ** 20 / seconds
    out.timedBy = 'harness (seeder start → last of 9 leechers done; MiB/s = total bytes delivered / s)'
    await ctx.procs.stop(bttls[0]!.proc)

    const checks = await Promise.all(leechers.map(async m => ({ m, r: await sameBytes(join(m.dir, PAYLOAD_NAME), ctx.sourceSha256) })))
    out.sha256Ok = checks.every(c => c.r.ok)
    for (const c of checks) if (!c.r.ok) out.problems.push(`${c.m.name}: ${c.r.detail}`)

    const matrix = connectionMatrix(members)
    out.problems.push(...matrix.problems.slice(0, 6))
    for (const legacy of [lt, aria2]) {
      if (![...matrix.cells.values()].some(row => row.has(legacy.name))) out.problems.push(`no bttls peer linked with ${legacy.name}`)
    }
    const table = renderMatrix(members, matrix)
    const counts = Object.entries(matrix.counts).sort().map(([k, v]) => `${k} ×${v}`).join(', ')
    await writeFile(join(ctx.dir, 'matrix.md'), `${table.join('\n')}\n\nlinks reported: ${counts}\n`)
    process.stderr.write(`interop: swarm-mixed connection matrix (row = bttls process's own peer events):\n${table.map(l => `  ${l}`).join('\n')}\n  ${counts}\n`)
    out.bttlsTransport = counts || 'no peer link'
    out.clientTransport = `libtorrent: ${ltTransport(lt.proc.events).transport}; aria2: n/a`
    out.cipher = 'bttls pairs: TLS 1.3; legacy: MSE (RC4 or plaintext after MSE) or plaintext'
    const announces = bttls.map(m => (m.proc?.events ?? []).filter(e => e.event === 'discovery' && e.kind === 'announced'))
    out.notes.push(`discovery: ${announces.flat().filter(e => e.source === 'tracker').length} tracker announces, ${announces.flat().filter(e => e.source === 'dht').length} DHT announces by the bttls peers; no --peer given to anyone`)
    out.notes.push(...table)
    for (const m of bttls) for (const tr of bttlsLinks(m.proc?.events ?? []).troubles.slice(0, 2)) out.notes.push(`${m.name}: ${tr}`)
  }
}
