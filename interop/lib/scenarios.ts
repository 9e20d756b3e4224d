/**
 * The scenario matrix: each client and transport, bttls seeding and bttls leeching, each torrent
 * version the client supports. A scenario fills in its Outcome as it goes (so a failure still shows
 * what was seen), throws SkipScenario when it cannot run here, and anything else it throws is a FAIL.
 */
import { join } from 'node:path'
import { aria2Leech, aria2Seed } from './aria2.js'
import { bttlsGet, bttlsLinks, bttlsSeed, limitsMet, type Policy } from './bttls.js'
import type { Clients } from './clients.js'
import { PAYLOAD_NAME, SkipScenario, SMALL_PIECE_LENGTH, type Outcome, type RunContext, type ScenarioContext, type TorrentFile } from './context.js'
import { sameBytes } from './files.js'
import { ltFinish, ltStart, ltTransport, type LtEnc } from './libtorrent.js'
import type { Peer } from './processes.js'
import { transmissionDone, transmissionStart } from './transmission.js'
import { swarmMixed } from './swarm-mixed.js'
import { ltBlockHashes } from './block-hashes.js'

export type Direction = 'bttls seeds' | 'bttls leeches' | 'control: libtorrent ↔ libtorrent' | 'control: bttls ↔ bttls'

export interface Scenario {
  id: string
  title: string
  direction: Direction
  /** The client under test (its version goes in the row); none for the bttls ↔ bttls control. */
  client?: keyof Clients
  /** Everything the scenario needs installed. */
  needs: Array<keyof Clients>
  torrent: string
  limitMs: number
  /** A refusal test: passes when no payload moves (no sha256 to check). */
  negative?: boolean
  /** A reason this scenario cannot run at all (known client limitation), decided before it starts. */
  skip?: (run: RunContext) => string | undefined
  run: (ctx: ScenarioContext, out: Outcome) => Promise<void>
}

/** bttls dials TLS first and falls back to MSE, then plain: the policy a real user would run. */
const POLICY: Policy = 'prefer-tls'
const SSL_SKIP = 'bttls Full Strict/libtorrent SSL profile not implemented yet (issue 6)'

function dl (ctx: ScenarioContext): string { return join(ctx.dir, 'dl') }

async function checkBytes (ctx: ScenarioContext, out: Outcome, path: string): Promise<void> {
  const r = await sameBytes(path, ctx.sourceSha256)
  out.sha256Ok = r.ok
  if (!r.ok) out.problems.push(r.detail)
}

function rate (ctx: ScenarioContext, out: Outcome, seconds: number, timedBy: string): void {
  out.seconds = seconds
  out.mibPerSecond = ctx.payloadBytes / 2 ** 20 / seconds
  out.timedBy = timedBy
}

/** bttls' transport (and cipher) from its JSON events, with the expectation for this row. */
function bttlsSaw (out: Outcome, peer: Peer, expect?: string[], mseInbound?: string): void {
  const links = bttlsLinks(peer.events, mseInbound)
  out.bttlsTransport = links.transport
  out.cipher = links.cipher
  if (links.links.length === 0) out.problems.push('bttls reported no peer link')
  const kinds = [...new Set(links.links.map(l => l.transport))]
  if (expect && kinds.some(k => !expect.includes(k))) out.problems.push(`bttls used ${kinds.join(', ')}; expected ${expect.join(' or ')}`)
  for (const t of links.troubles.slice(0, 4)) out.notes.push(`bttls: ${t}`)
}

/** libtorrent's view; returns the MSE method it reports, for bttls' inbound MSE links. */
function ltSaw (out: Outcome, peer: Peer, expect?: string): string | undefined {
  const lt = ltTransport(peer.events)
  out.clientTransport = lt.transport
  if (expect && lt.transport !== expect) out.problems.push(`libtorrent saw ${lt.transport}; expected ${expect}`)
  if (lt.peers.some(p => p.rc4_encrypted)) return 'RC4 (MSE)'
  if (lt.peers.some(p => p.plaintext_encrypted)) return 'none (MSE handshake, then plaintext)'
  return undefined
}

function magnetOf (t: TorrentFile): string {
  const xt = [t.infoHashV1 && `xt=urn:btih:${t.infoHashV1}`, t.infoHashV2 && `xt=urn:btmh:1220${t.infoHashV2}`].filter(Boolean)
  return `magnet:?${xt.join('&')}&dn=${PAYLOAD_NAME}`
}

/**
 * A v2 magnet leecher has no piece layers: bttls must have answered its BEP 52 hash requests. (libtorrent
 * can also verify a file it holds whole against the file's root, so completion alone does not show it.)
 */
function bttlsServedHashes (out: Outcome, bttls: Peer): void {
  const served = (bttls.events.find(e => e.event === 'stats')?.hashRequests ?? {}) as { served?: number, rejected?: number }
  out.notes.push(`bttls answered ${served.served ?? '?'} hash requests with hashes, ${served.rejected ?? '?'} with a reject`)
  if (!(Number(served.served) > 0)) out.problems.push('libtorrent got no hashes from bttls')
}

// ---- libtorrent ----------------------------------------------------------------------------------

interface LtRow { title: string, enc: LtEnc, version: 'v1' | 'hybrid' | 'v2', magnet?: boolean, bttlsExpect?: string[], ltExpect?: string }

function libtorrentScenarios (row: LtRow): Scenario[] {
  const base = { client: 'libtorrent' as const, needs: ['libtorrent' as const], torrent: row.magnet ? `${row.version} magnet` : row.version, limitMs: 30000 }
  const slug = `lt-${row.enc}-${row.version}${row.magnet ? '-magnet' : ''}`
  return [{
    ...base,
    id: `${slug}-seed`,
    title: row.title,
    direction: 'bttls seeds',
    async run (ctx, out) {
      const t = ctx.torrents[row.version]
      const bttls = await bttlsSeed(ctx, t.path, { port: ctx.port(1), policy: POLICY })
      const lt = await ltStart(ctx, {
        mode: 'leech', ...(row.magnet ? { magnet: magnetOf(t) } : { torrent: t.path }), save: dl(ctx), port: ctx.port(2), enc: row.enc, connect: [`127.0.0.1:${ctx.port(1)}`]
      })
      const complete = await ltFinish(ctx, lt)
      rate(ctx, out, complete.seconds as number, row.magnet ? 'libtorrent (add magnet → complete)' : 'libtorrent (add torrent → complete)')
      await checkBytes(ctx, out, join(dl(ctx), PAYLOAD_NAME))
      await ctx.procs.stop(bttls)
      bttlsSaw(out, bttls, row.bttlsExpect, ltSaw(out, lt, row.ltExpect))
      if (row.version === 'v2' && row.magnet) bttlsServedHashes(out, bttls)
    }
  }, {
    ...base,
    id: `${slug}-leech`,
    title: row.title,
    direction: 'bttls leeches',
    async run (ctx, out) {
      const t = ctx.torrents[row.version]
      const lt = await ltStart(ctx, { mode: 'seed', torrent: t.path, save: ctx.srcDir, port: ctx.port(2), enc: row.enc })
      const input = row.magnet ? magnetOf(t) : t.path
      try {
        const { peer, complete } = await bttlsGet(ctx, input, dl(ctx), { port: ctx.port(1), policy: POLICY, peers: [`127.0.0.1:${ctx.port(2)}`] })
        rate(ctx, out, complete.seconds as number, 'bttls (start → verified on disk)')
        bttlsSaw(out, peer, row.bttlsExpect)
      } finally {
        await ctx.procs.stop(lt)
        ltSaw(out, lt, row.ltExpect)
      }
      await checkBytes(ctx, out, join(dl(ctx), PAYLOAD_NAME))
    }
  }]
}

// ---- Hostile-peer bounds against honest traffic ------------------------------------------------------

/** A seeding row waits for the client: if a bound closed its link, that is the reason to give, not the wait's end. */
async function finished<T> (bttls: Peer, waiting: Promise<T>): Promise<T> {
  try {
    return await waiting
  } catch (err) {
    const met = limitsMet(bttls.events)
    throw met.length > 0 ? new Error(`bttls met a hostile-peer bound: ${met[0]!} (then: ${(err as Error).message})`) : err
  }
}

/** What a row checks of the bttls process once the payload has moved (the small-pieces rows: its bounds). */
type BttlsCheck = (ctx: ScenarioContext, out: Outcome, bttls: Peer) => void

/**
 * bttls' per-link message budget, send-queue bounds and per-address connection bound (issue 18,
 * docs/hostile-peers.md) must never close an honest client. 16 KiB pieces make a client's ordinary
 * traffic as dense as it gets: one have and one request per 16 KiB, 1,024 of each for 16 MiB, and
 * endgame cancels at the end. Each row fails if bttls closed or refused any link for meeting a bound,
 * for libtorrent, Transmission and aria2, each way.
 */
function limitScenarios (): Scenario[] {
  const kib = SMALL_PIECE_LENGTH / 1024
  const title = (client: string): string => `${client}, ${kib} KiB pieces: honest have/request traffic meets no hostile-peer bound`
  const torrent = `v1, ${kib} KiB pieces`
  const checkLimits = (ctx: ScenarioContext, out: Outcome, bttls: Peer): void => {
    const met = limitsMet(bttls.events)
    for (const m of met.slice(0, 4)) out.problems.push(`bttls met a hostile-peer bound: ${m}`)
    const pieces = Math.ceil(ctx.payloadBytes / SMALL_PIECE_LENGTH)
    out.notes.push(`${pieces} pieces; bttls closed or refused ${met.length} links for a hostile-peer bound`)
  }
  const lt = { title: title('libtorrent'), client: 'libtorrent' as const, needs: ['libtorrent' as const], torrent, limitMs: 40000 }
  const tr = { title: title('Transmission'), client: 'transmission' as const, needs: ['transmission' as const], torrent, limitMs: 60000 }
  const aria2 = { title: title('aria2'), client: 'aria2' as const, needs: ['aria2' as const, 'opentracker' as const], torrent: `${torrent} + tracker`, limitMs: 40000 }
  return [{
    ...lt,
    id: 'lt-small-pieces-seed',
    direction: 'bttls seeds',
    async run (ctx, out) {
      const t = ctx.torrents.v1SmallPieces
      const bttls = await bttlsSeed(ctx, t.path, { port: ctx.port(1), policy: POLICY })
      const lt = await ltStart(ctx, { mode: 'leech', torrent: t.path, save: dl(ctx), port: ctx.port(2), enc: 'default', connect: [`127.0.0.1:${ctx.port(1)}`] })
      const complete = await finished(bttls, ltFinish(ctx, lt))
      rate(ctx, out, complete.seconds as number, 'libtorrent (add torrent → complete)')
      await checkBytes(ctx, out, join(dl(ctx), PAYLOAD_NAME))
      await ctx.procs.stop(bttls)
      bttlsSaw(out, bttls, undefined, ltSaw(out, lt))
      checkLimits(ctx, out, bttls)
    }
  }, {
    ...lt,
    id: 'lt-small-pieces-leech',
    direction: 'bttls leeches',
    async run (ctx, out) {
      const t = ctx.torrents.v1SmallPieces
      const lt = await ltStart(ctx, { mode: 'seed', torrent: t.path, save: ctx.srcDir, port: ctx.port(2), enc: 'default' })
      try {
        const { peer, complete } = await bttlsGet(ctx, t.path, dl(ctx), { port: ctx.port(1), policy: POLICY, peers: [`127.0.0.1:${ctx.port(2)}`] })
        rate(ctx, out, complete.seconds as number, 'bttls (start → verified on disk)')
        bttlsSaw(out, peer)
        checkLimits(ctx, out, peer)
      } finally {
        await ctx.procs.stop(lt)
        ltSaw(out, lt)
      }
      await checkBytes(ctx, out, join(dl(ctx), PAYLOAD_NAME))
    }
  }, {
    ...tr,
    id: 'transmission-small-pieces-seed',
    direction: 'bttls seeds',
    run: transmissionSeedRun('v1SmallPieces', checkLimits)
  }, {
    ...tr,
    id: 'transmission-small-pieces-leech',
    direction: 'bttls leeches',
    run: transmissionLeechRun('v1SmallPieces', checkLimits)
  }, {
    ...aria2,
    id: 'aria2-small-pieces-seed',
    direction: 'bttls seeds',
    run: aria2SeedRun('v1SmallPiecesWithTracker', false, checkLimits)
  }, {
    ...aria2,
    id: 'aria2-small-pieces-leech',
    direction: 'bttls leeches',
    run: aria2LeechRun('v1SmallPiecesWithTracker', false, checkLimits)
  }]
}

// ---- libtorrent SSL torrents ---------------------------------------------------------------------

/**
 * The flags bttls takes for a Full Strict (ssl-cert) torrent: its certificate, and --libtorrent-ssl so
 * that, libtorrent not speaking bttls, bttls retries with libtorrent's SNI profile when it dials.
 */
function bttlsSslFlags (help: string, leaf: { cert: string, key: string }): string[] | undefined {
  return /--cert\b/.test(help) && /--key\b/.test(help) && /--libtorrent-ssl\b/.test(help)
    ? ['--cert', leaf.cert, '--key', leaf.key, '--libtorrent-ssl']
    : undefined
}

function sslReady (ctx: ScenarioContext): NonNullable<RunContext['ssl']> {
  if (!ctx.ssl) throw new SkipScenario(`SSL torrent setup failed: ${ctx.sslError ?? 'unknown'}`)
  return ctx.ssl
}

const sslScenarios: Scenario[] = [{
  id: 'lt-ssl-seed',
  title: 'libtorrent SSL torrent',
  direction: 'bttls seeds',
  client: 'libtorrent',
  needs: ['libtorrent', 'openssl'],
  torrent: 'v1 + ssl-cert',
  limitMs: 30000,
  skip: run => bttlsSslFlags(run.bttlsHelp, { cert: '', key: '' }) ? undefined : SSL_SKIP,
  async run (ctx, out) {
    const ssl = sslReady(ctx)
    const bttls = await bttlsSeed(ctx, ssl.torrent.path, { port: ctx.port(1), policy: 'require-tls', extra: bttlsSslFlags(ctx.bttlsHelp, ssl.seeder) })
    const lt = await ltStart(ctx, { mode: 'leech', torrent: ssl.torrent.path, save: dl(ctx), port: ctx.port(2), enc: 'default', ssl: ssl.leecher, connect: [`127.0.0.1:${ctx.port(1)}`] })
    const complete = await ltFinish(ctx, lt)
    rate(ctx, out, complete.seconds as number, 'libtorrent (add torrent → complete)')
    await checkBytes(ctx, out, join(dl(ctx), PAYLOAD_NAME))
    await ctx.procs.stop(bttls)
    bttlsSaw(out, bttls, ['tls'])
    ltSaw(out, lt, 'ssl')
  }
}, {
  id: 'lt-ssl-leech',
  title: 'libtorrent SSL torrent',
  direction: 'bttls leeches',
  client: 'libtorrent',
  needs: ['libtorrent', 'openssl'],
  torrent: 'v1 + ssl-cert',
  limitMs: 30000,
  skip: run => bttlsSslFlags(run.bttlsHelp, { cert: '', key: '' }) ? undefined : SSL_SKIP,
  async run (ctx, out) {
    const ssl = sslReady(ctx)
    const lt = await ltStart(ctx, { mode: 'seed', torrent: ssl.torrent.path, save: ctx.srcDir, port: ctx.port(2), enc: 'default', ssl: ssl.seeder })
    try {
      const { peer, complete } = await bttlsGet(ctx, ssl.torrent.path, dl(ctx), {
        port: ctx.port(1), policy: 'require-tls', peers: [`127.0.0.1:${ctx.port(2)}`], extra: bttlsSslFlags(ctx.bttlsHelp, ssl.leecher)
      })
      rate(ctx, out, complete.seconds as number, 'bttls (start → verified on disk)')
      bttlsSaw(out, peer, ['tls'])
    } finally {
      await ctx.procs.stop(lt)
      ltSaw(out, lt, 'ssl')
    }
    await checkBytes(ctx, out, join(dl(ctx), PAYLOAD_NAME))
  }
}, {
  id: 'lt-ssl-control',
  title: 'libtorrent SSL torrent (control: shows the lt recipe works; not a bttls result)',
  direction: 'control: libtorrent ↔ libtorrent',
  client: 'libtorrent',
  needs: ['libtorrent', 'openssl'],
  torrent: 'v1 + ssl-cert',
  limitMs: 30000,
  async run (ctx, out) {
    const ssl = sslReady(ctx)
    await ltStart(ctx, { mode: 'seed', name: 'libtorrent ssl seed', torrent: ssl.torrent.path, save: ctx.srcDir, port: ctx.port(2), enc: 'default', ssl: ssl.seeder })
    const leech = await ltStart(ctx, {
      mode: 'leech', name: 'libtorrent ssl leech', torrent: ssl.torrent.path, save: dl(ctx), port: ctx.port(3), enc: 'default', ssl: ssl.leecher, connect: [`127.0.0.1:${ctx.port(2)}`]
    })
    const complete = await ltFinish(ctx, leech)
    rate(ctx, out, complete.seconds as number, 'libtorrent leecher (add torrent → complete)')
    await checkBytes(ctx, out, join(dl(ctx), PAYLOAD_NAME))
    out.bttlsTransport = '— (control)'
    out.cipher = 'TLS (libtorrent ↔ libtorrent)'
    ltSaw(out, leech, 'ssl')
  }
}]

// ---- aria2 ---------------------------------------------------------------------------------------

function needTracker (ctx: ScenarioContext): NonNullable<RunContext['tracker']> {
  if (!ctx.tracker) throw new SkipScenario(`this row needs opentracker, which did not start: ${ctx.trackerError ?? 'unknown'}`)
  return ctx.tracker
}

function aria2Scenarios (forceMse: boolean): Scenario[] {
  const title = forceMse ? 'aria2 forced MSE (--bt-require-crypto, arc4)' : 'aria2 default (MSE first, legacy fallback)'
  const base = { title, client: 'aria2' as const, needs: ['aria2' as const, 'opentracker' as const], torrent: 'v1', limitMs: 40000 }
  const slug = `aria2-${forceMse ? 'mse' : 'plain'}`
  const hybridSkip = 'aria2 1.36 does not support v2: it computes another infohash for hybrid torrents, so the swarms never meet'
  return [{
    ...base,
    id: `${slug}-seed`,
    direction: 'bttls seeds',
    run: aria2SeedRun('v1WithTracker', forceMse)
  }, {
    ...base,
    id: `${slug}-leech`,
    direction: 'bttls leeches',
    run: aria2LeechRun('v1WithTracker', forceMse)
  }, ...(forceMse
    ? []
    : (['bttls seeds', 'bttls leeches'] as const).map((direction): Scenario => ({
        ...base, title: 'aria2', id: `aria2-hybrid-${direction === 'bttls seeds' ? 'seed' : 'leech'}`, direction, torrent: 'hybrid', skip: () => hybridSkip, run: async () => {}
      })))]
}

/** bttls seeds aria2, which learns bttls' port from opentracker. */
function aria2SeedRun (torrent: 'v1WithTracker' | 'v1SmallPiecesWithTracker', forceMse: boolean, check?: BttlsCheck): Scenario['run'] {
  return async (ctx, out) => {
    const tracker = needTracker(ctx)
    const t = ctx.torrents[torrent]
    const bttls = await bttlsSeed(ctx, t.path, { port: ctx.port(1), policy: POLICY })
    // bttls has no tracker client yet: announce its port on its behalf so aria2 learns it.
    await tracker.announce(t.infoHashV1!, ctx.port(1))
    out.notes.push('harness announced bttls\' port to opentracker on its behalf')
    const started = Date.now()
    const aria2 = aria2Leech(ctx, { torrent: t.path, dir: dl(ctx), port: ctx.port(2), forceMse })
    await finished(bttls, aria2.until('exit', () => !aria2.running, ctx.left()).then(() => {
      if (aria2.exitCode !== 0) throw new Error(`aria2c exited ${aria2.exitCode ?? aria2.signal}${aria2.lastWords()}`)
    }))
    rate(ctx, out, (Date.now() - started) / 1000, 'aria2 process wall time (includes its ~3 s tracker/startup overhead)')
    await checkBytes(ctx, out, join(dl(ctx), PAYLOAD_NAME))
    await ctx.procs.stop(bttls)
    // aria2 offers RC4 only at --bt-min-crypto-level=arc4, else plaintext and RC4; bttls' MSE responder
    // selects RC4 whenever it is offered (src/wire/listener.ts), so both rows run RC4.
    bttlsSaw(out, bttls, aria2Transports(forceMse), forceMse ? 'RC4 (MSE; aria2 offers only RC4)' : 'RC4 (MSE; aria2 offers plaintext and RC4, bttls selects RC4)')
    out.clientTransport = 'n/a'
    check?.(ctx, out, bttls)
  }
}

/** bttls leeches from an aria2 seed it is given. */
function aria2LeechRun (torrent: 'v1WithTracker' | 'v1SmallPiecesWithTracker', forceMse: boolean, check?: BttlsCheck): Scenario['run'] {
  return async (ctx, out) => {
    needTracker(ctx)
    const t = ctx.torrents[torrent]
    await aria2Seed(ctx, { torrent: t.path, dir: ctx.srcDir, port: ctx.port(2), forceMse })
    const { peer, complete } = await bttlsGet(ctx, t.path, dl(ctx), { port: ctx.port(1), policy: POLICY, peers: [`127.0.0.1:${ctx.port(2)}`] })
    rate(ctx, out, complete.seconds as number, 'bttls (start → verified on disk)')
    bttlsSaw(out, peer, aria2Transports(forceMse))
    out.clientTransport = 'n/a'
    check?.(ctx, out, peer)
    await checkBytes(ctx, out, join(dl(ctx), PAYLOAD_NAME))
  }
}

/** The transports bttls may use with aria2: MSE only when aria2 requires it, else MSE or plaintext. */
function aria2Transports (forceMse: boolean): string[] {
  return forceMse ? ['mse'] : ['mse', 'plain']
}

// ---- UDP tracker (BEP 15) ----------------------------------------------------------------------

/**
 * bttls and libtorrent find each other only through opentracker's UDP port: no --peer, no --connect.
 * bttls' UDP announces carry nothing of bttls (signalling companion, "UDP trackers"), so the link falls
 * back from TLS to what libtorrent speaks.
 */
function udpTrackerScenarios (): Scenario[] {
  const base = { title: 'libtorrent via opentracker over UDP (BEP 15; no peer given)', client: 'libtorrent' as const, needs: ['libtorrent' as const, 'opentracker' as const], torrent: 'v1 + udp:// tracker', limitMs: 40000 }
  return [{
    ...base,
    id: 'lt-udp-tracker-seed',
    direction: 'bttls seeds',
    async run (ctx, out) {
      needTracker(ctx)
      const t = ctx.torrents.v1WithUdpTracker
      const bttls = await bttlsSeed(ctx, t.path, { port: ctx.port(1), policy: POLICY })
      const announced = await bttls.event('discovery', 15000, e => e.kind === 'announced' && e.error === undefined && String(e.tracker).startsWith('udp://'))
      out.notes.push(`bttls announced to ${String(announced.tracker)}`)
      const lt = await ltStart(ctx, { mode: 'leech', torrent: t.path, save: dl(ctx), port: ctx.port(2), enc: 'default', useTracker: true })
      const complete = await ltFinish(ctx, lt)
      rate(ctx, out, complete.seconds as number, 'libtorrent (add torrent → complete, peer from the tracker)')
      await checkBytes(ctx, out, join(dl(ctx), PAYLOAD_NAME))
      await ctx.procs.stop(bttls)
      bttlsSaw(out, bttls, undefined, ltSaw(out, lt))
    }
  }, {
    ...base,
    id: 'lt-udp-tracker-leech',
    direction: 'bttls leeches',
    async run (ctx, out) {
      needTracker(ctx)
      const t = ctx.torrents.v1WithUdpTracker
      const lt = await ltStart(ctx, { mode: 'seed', torrent: t.path, save: ctx.srcDir, port: ctx.port(2), enc: 'default', useTracker: true })
      try {
        const { peer, complete } = await bttlsGet(ctx, t.path, dl(ctx), { port: ctx.port(1), policy: POLICY })
        rate(ctx, out, complete.seconds as number, 'bttls (start → verified on disk, peer from the tracker)')
        bttlsSaw(out, peer)
      } finally {
        await ctx.procs.stop(lt)
        ltSaw(out, lt)
      }
      await checkBytes(ctx, out, join(dl(ctx), PAYLOAD_NAME))
    }
  }]
}

// ---- Strict rendezvous on a real tracker -------------------------------------------------------------

/**
 * Two bttls peers of a Strict torrent find each other only through opentracker, over UDP and HTTP, under
 * the torrent's rendezvous (Strict companion, "Strict rendezvous"): the whitelist holds the rendezvous and
 * not the infohash, so every announce that succeeds carried the rendezvous, and the row also checks that
 * opentracker refuses the infohash itself. The leecher starts from the magnet link alone.
 */
const strictRendezvousScenario: Scenario = {
  id: 'opentracker-strict-rendezvous',
  title: 'bttls Strict swarm via opentracker, UDP and HTTP, under the rendezvous (magnet link, no peer given)',
  direction: 'control: bttls ↔ bttls',
  client: 'opentracker',
  needs: ['opentracker'],
  torrent: 'v1 Strict (secret) + udp:// and http:// trackers',
  limitMs: 40000,
  async run (ctx, out) {
    const tracker = needTracker(ctx)
    const t = ctx.torrents.strictWithTrackers
    if (t.rendezvous === undefined || t.magnet === undefined || t.infoHashV1 === undefined) throw new Error('bttls create gave no rendezvous or magnet for the Strict torrent')
    if (t.rendezvous === t.infoHashV1) out.problems.push('the rendezvous equals the infohash')
    const seed = await bttlsSeed(ctx, t.path, { port: ctx.port(1), policy: POLICY })
    for (const scheme of ['udp://', 'http://']) {
      const e = await seed.event('discovery', 15000, e => e.kind === 'announced' && e.error === undefined && String(e.tracker).startsWith(scheme))
      out.notes.push(`seed announced to ${String(e.tracker)}`)
    }
    const refused = await tracker.announce(t.infoHashV1, ctx.port(3)).then(() => false, () => true)
    if (!refused) out.problems.push('opentracker accepted an announce of the Strict torrent\'s infohash: its whitelist should hold the rendezvous only')
    else out.notes.push('opentracker refuses the infohash (not whitelisted); only the rendezvous is')
    const { peer, complete } = await bttlsGet(ctx, t.magnet, dl(ctx), { port: ctx.port(2), policy: POLICY })
    rate(ctx, out, complete.seconds as number, 'bttls leecher (magnet link → verified on disk, peer from the tracker)')
    bttlsSaw(out, peer, ['tls'])
    out.clientTransport = '— (the tracker carries no peer traffic)'
    await checkBytes(ctx, out, join(dl(ctx), PAYLOAD_NAME))
  }
}

// ---- Transmission --------------------------------------------------------------------------------

function transmissionScenarios (): Scenario[] {
  const base = { title: 'Transmission (encryption tolerated, prefers plaintext)', client: 'transmission' as const, needs: ['transmission' as const], torrent: 'v1', limitMs: 60000 }
  const hybridSkip = 'Transmission 3.00 rejects hybrid torrents ("invalid or corrupt torrent file")'
  return [{
    ...base,
    id: 'transmission-seed',
    direction: 'bttls seeds',
    run: transmissionSeedRun('v1')
  }, {
    ...base,
    id: 'transmission-leech',
    direction: 'bttls leeches',
    run: transmissionLeechRun('v1')
  }, ...(['bttls seeds', 'bttls leeches'] as const).map((direction): Scenario => ({
    ...base, title: 'Transmission', id: `transmission-hybrid-${direction === 'bttls seeds' ? 'seed' : 'leech'}`, direction, torrent: 'hybrid', skip: () => hybridSkip, run: async () => {}
  }))]
}

/** bttls seeds Transmission, which never dials loopback peers: bttls dials it. */
function transmissionSeedRun (torrent: 'v1' | 'v1SmallPieces', check?: BttlsCheck): Scenario['run'] {
  return async (ctx, out) => {
    const t = ctx.torrents[torrent]
    const transmission = await transmissionStart(ctx, { torrent: t.path, dir: dl(ctx), port: ctx.port(2), encryption: 'tolerated', mode: 'leech' })
    const started = Date.now()
    const bttls = await bttlsSeed(ctx, t.path, { port: ctx.port(1), policy: POLICY, peers: [`127.0.0.1:${ctx.port(2)}`] })
    await finished(bttls, transmissionDone(ctx, transmission))
    rate(ctx, out, (Date.now() - started) / 1000, 'harness (bttls start → Transmission says "Seeding")')
    await checkBytes(ctx, out, join(dl(ctx), PAYLOAD_NAME))
    await ctx.procs.stop(bttls)
    bttlsSaw(out, bttls, ['mse', 'plain'])
    out.clientTransport = 'n/a'
    check?.(ctx, out, bttls)
  }
}

/** bttls leeches from a Transmission seed it is given. */
function transmissionLeechRun (torrent: 'v1' | 'v1SmallPieces', check?: BttlsCheck): Scenario['run'] {
  return async (ctx, out) => {
    const t = ctx.torrents[torrent]
    await transmissionStart(ctx, { torrent: t.path, dir: ctx.srcDir, port: ctx.port(2), encryption: 'tolerated', mode: 'seed' })
    const { peer, complete } = await bttlsGet(ctx, t.path, dl(ctx), { port: ctx.port(1), policy: POLICY, peers: [`127.0.0.1:${ctx.port(2)}`] })
    rate(ctx, out, complete.seconds as number, 'bttls (start → verified on disk)')
    bttlsSaw(out, peer, ['mse', 'plain'])
    out.clientTransport = 'n/a'
    check?.(ctx, out, peer)
    await checkBytes(ctx, out, join(dl(ctx), PAYLOAD_NAME))
  }
}

/** bttls ↔ bttls over TLS: the baseline the legacy rows compare with (a control, not interop). */
const bttlsControl: Scenario = {
  id: 'bttls-tls-control',
  title: 'bttls TLS (control: bttls ↔ bttls, require-tls; not an interop result)',
  direction: 'control: bttls ↔ bttls',
  needs: [],
  torrent: 'hybrid',
  limitMs: 30000,
  async run (ctx, out) {
    const t = ctx.torrents.hybrid
    await bttlsSeed(ctx, t.path, { port: ctx.port(1), policy: 'require-tls' })
    const { peer, complete } = await bttlsGet(ctx, t.path, dl(ctx), { port: ctx.port(2), policy: 'require-tls', peers: [`127.0.0.1:${ctx.port(1)}`] })
    rate(ctx, out, complete.seconds as number, 'bttls leecher (start → verified on disk)')
    bttlsSaw(out, peer, ['tls'])
    out.clientTransport = '— (control)'
    await checkBytes(ctx, out, join(dl(ctx), PAYLOAD_NAME))
  }
}

// ---- No downgrade under require-tls ---------------------------------------------------------------

/** bttls --policy require-tls must not talk to a client that cannot do TLS: nothing may move. */
const requireTlsScenarios: Scenario[] = [{
  id: 'lt-require-tls-seed',
  title: 'libtorrent default settings vs bttls --policy require-tls (must refuse, no downgrade)',
  direction: 'bttls seeds',
  client: 'libtorrent',
  needs: ['libtorrent'],
  torrent: 'v1',
  negative: true,
  limitMs: 20000,
  async run (ctx, out) {
    const t = ctx.torrents.v1
    const bttls = await bttlsSeed(ctx, t.path, { port: ctx.port(1), policy: 'require-tls' })
    const lt = await ltStart(ctx, { mode: 'leech', torrent: t.path, save: dl(ctx), port: ctx.port(2), enc: 'default', connect: [`127.0.0.1:${ctx.port(1)}`], timeoutSeconds: 5 })
    await lt.until('exit', () => !lt.running, ctx.left())
    await ctx.procs.stop(bttls)
    const links = bttlsLinks(bttls.events)
    const refused = bttls.events.filter(e => e.event === 'refused')
    out.bttlsTransport = links.links.length === 0 ? `none (refused ${refused.length} connection${refused.length === 1 ? '' : 's'})` : links.transport
    out.clientTransport = ltTransport(lt.events).transport
    out.cipher = '—'
    if (links.links.length > 0) out.problems.push(`bttls accepted a ${links.transport} peer under require-tls`)
    if (refused.length === 0) out.problems.push('bttls reported no refused connection (did libtorrent dial?)')
    if (lt.events.some(e => e.event === 'complete')) out.problems.push('libtorrent completed the download')
    const first = refused[0]?.error as { name?: string, message?: string } | undefined
    if (first) out.notes.push(`bttls refused: ${first.name ?? ''}: ${first.message ?? ''}`)
  }
}, {
  id: 'lt-require-tls-leech',
  title: 'libtorrent default settings vs bttls --policy require-tls (must refuse, no downgrade)',
  direction: 'bttls leeches',
  client: 'libtorrent',
  needs: ['libtorrent'],
  torrent: 'v1',
  negative: true,
  limitMs: 20000,
  async run (ctx, out) {
    const t = ctx.torrents.v1
    const lt = await ltStart(ctx, { mode: 'seed', torrent: t.path, save: ctx.srcDir, port: ctx.port(2), enc: 'default' })
    const get = ctx.procs.spawn(process.execPath, [join(ctx.repo, 'bin', 'bttls.js'), 'get', t.path, '--out', dl(ctx), '--peer', `127.0.0.1:${ctx.port(2)}`,
      '--port', String(ctx.port(1)), '--host', '127.0.0.1', '--policy', 'require-tls', '--json'], { name: 'bttls get', json: true, logPrefix: ctx.log('bttls-get') })
    await get.until('exit', () => !get.running, ctx.left())
    await ctx.procs.stop(lt)
    const links = bttlsLinks(get.events)
    out.bttlsTransport = links.links.length === 0 ? 'none (every dial failed)' : links.transport
    out.clientTransport = ltTransport(lt.events).transport
    out.cipher = '—'
    if (get.exitCode === 0) out.problems.push('bttls get exited 0 under require-tls against a TLS-less peer')
    if (links.links.length > 0) out.problems.push(`bttls connected over ${links.transport} under require-tls`)
    out.notes.push(`bttls get exited ${get.exitCode ?? get.signal}${get.lastWords()}`)
  }
}]

export function allScenarios (): Scenario[] {
  return [
    bttlsControl,
    ...libtorrentScenarios({ title: 'libtorrent plain (encryption disabled)', enc: 'plain', version: 'v1', bttlsExpect: ['plain'], ltExpect: 'plain' }),
    ...libtorrentScenarios({ title: 'libtorrent plain (encryption disabled)', enc: 'plain', version: 'hybrid', bttlsExpect: ['plain'], ltExpect: 'plain' }),
    ...libtorrentScenarios({ title: 'libtorrent plain (encryption disabled)', enc: 'plain', version: 'v2', bttlsExpect: ['plain'], ltExpect: 'plain' }),
    ...libtorrentScenarios({ title: 'libtorrent MSE forced RC4', enc: 'rc4', version: 'v1', bttlsExpect: ['mse'], ltExpect: 'rc4_encrypted' }),
    ...libtorrentScenarios({ title: 'libtorrent MSE forced RC4', enc: 'rc4', version: 'hybrid', bttlsExpect: ['mse'], ltExpect: 'rc4_encrypted' }),
    ...libtorrentScenarios({ title: 'libtorrent magnet (BEP 9, default encryption settings)', enc: 'default', version: 'v1', magnet: true }),
    ...libtorrentScenarios({ title: 'libtorrent magnet (BEP 9, default encryption settings)', enc: 'default', version: 'hybrid', magnet: true }),
    // v2-only magnet: the piece layers are not in the info dict; they come by BEP 52 hash requests.
    ...libtorrentScenarios({ title: 'libtorrent magnet (BEP 9 + BEP 52 hash requests, default encryption settings)', enc: 'default', version: 'v2', magnet: true }),
    ltBlockHashes,
    ...udpTrackerScenarios(),
    strictRendezvousScenario,
    ...limitScenarios(),
    ...requireTlsScenarios,
    ...sslScenarios,
    ...aria2Scenarios(false),
    ...aria2Scenarios(true),
    ...transmissionScenarios(),
    swarmMixed
  ]
}
