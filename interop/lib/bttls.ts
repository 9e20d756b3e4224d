/** Drives the `bttls` CLI (bin/bttls.js, --json) as one side of a scenario. */
import { join } from 'node:path'
import type { ScenarioContext } from './context.js'
import type { JsonEvent, Peer } from './processes.js'
import { ConnectionLimitError, MessageFloodError, ProbeLimitError } from '../../src/errors.js'
import { SendBudgetExceededError, SendQueueOverflowError } from '../../src/swarm/errors.js'

export type Policy = 'require-tls' | 'prefer-tls' | 'allow-plain'

interface CommonOptions { port: number, policy: Policy, peers?: string[], extra?: string[] }

function bin (ctx: ScenarioContext): string { return join(ctx.repo, 'bin', 'bttls.js') }

function commonArgs (o: CommonOptions): string[] {
  return ['--port', String(o.port), '--host', '127.0.0.1', '--policy', o.policy, '--json',
    ...(o.peers ?? []).flatMap(p => ['--peer', p]), ...(o.extra ?? [])]
}

/** Starts `bttls seed` and waits until it listens and has checked its data. */
export async function bttlsSeed (ctx: ScenarioContext, input: string, o: CommonOptions): Promise<Peer> {
  const peer = ctx.procs.spawn(process.execPath, [bin(ctx), 'seed', input, '--data', ctx.srcDir, ...commonArgs(o)], {
    name: 'bttls seed', json: true, logPrefix: ctx.log('bttls-seed')
  })
  await peer.event('listening', 15000)
  const t = await peer.event('torrent', 15000)
  if (t.pieces !== undefined && t.have !== t.pieces) throw new Error(`bttls seed found only ${String(t.have)}/${String(t.pieces)} pieces in --data`)
  return peer
}

/** Runs `bttls get` to completion (or the scenario's time limit); the caller checks the bytes. */
export async function bttlsGet (ctx: ScenarioContext, input: string, out: string, o: CommonOptions): Promise<{ peer: Peer, complete: JsonEvent }> {
  const peer = ctx.procs.spawn(process.execPath, [bin(ctx), 'get', input, '--out', out, ...commonArgs(o)], {
    name: 'bttls get', json: true, logPrefix: ctx.log('bttls-get')
  })
  await peer.until('exit', () => !peer.running, ctx.left())
  const complete = peer.events.find(e => e.event === 'complete')
  if (peer.exitCode !== 0 || !complete) throw new Error(`bttls get exited ${peer.exitCode ?? peer.signal}${peer.lastWords()}`)
  return { peer, complete }
}

export interface BttlsPeerView { transport: string, direction: string, address: string, port: number, tls?: { protocol?: string, cipher?: string, level?: string } }

/**
 * bttls' own account of its peer links: transports, ciphers, and why links it refused or lost failed.
 * bttls does not say which MSE method a link uses. Outbound it offers RC4 only, so RC4 is certain;
 * inbound it selects plaintext when the initiator offers both, so the caller passes what it knows
 * (`mseInbound`, e.g. from libtorrent's flags).
 */
export function bttlsLinks (events: JsonEvent[], mseInbound?: string): { links: BttlsPeerView[], transport: string, cipher: string, troubles: string[] } {
  const links = events.filter(e => e.event === 'peer') as unknown as BttlsPeerView[]
  const kinds = [...new Set(links.map(l => l.tls?.protocol ? `${l.transport} ${l.tls.protocol}` : l.transport))]
  const cipherOf = (l: BttlsPeerView): string => {
    if (l.transport === 'tls') return l.tls?.cipher ?? 'TLS (suite not reported)'
    if (l.transport === 'plain') return 'none'
    if (l.direction === 'outbound') return 'RC4 (MSE)'
    return mseInbound ?? 'MSE, method not reported'
  }
  const ciphers = [...new Set(links.map(cipherOf))]
  const troubles = events.filter(e => ['refused', 'dial-failed', 'bad-piece', 'peer-banned', 'error'].includes(e.event) ||
    (e.event === 'peer-closed' && e.error !== undefined)).map(describeTrouble)
  return { links, transport: kinds.join(', ') || 'no peer link', cipher: ciphers.join(', ') || '—', troubles }
}

function describeTrouble (e: JsonEvent): string {
  const err = (e.error ?? e) as { name?: string, message?: string }
  const where = e.address !== undefined ? `${String(e.address)}:${String(e.port)}` : e.host !== undefined ? `${String(e.host)}:${String(e.port)}` : ''
  const transport = e.transport !== undefined ? ` (${String(e.transport)})` : ''
  return `${e.event} ${where}${transport}: ${err.name ?? ''} ${err.message ?? ''}`.replace(/\s+/g, ' ').trim()
}

/**
 * The bounds bttls puts on one link, one address and the process against hostile peers
 * (docs/hostile-peers.md): an honest client must never meet one.
 */
const LIMIT_ERRORS: ReadonlySet<string> = new Set([MessageFloodError, SendQueueOverflowError, SendBudgetExceededError, ConnectionLimitError, ProbeLimitError].map(e => e.name))

/** Every link bttls closed, and every connection it refused, because a hostile-peer bound was met. */
export function limitsMet (events: JsonEvent[]): string[] {
  return events.filter(e => (e.event === 'peer-closed' || e.event === 'refused') && LIMIT_ERRORS.has(String((e.error as { name?: string } | undefined)?.name)))
    .map(describeTrouble)
}
