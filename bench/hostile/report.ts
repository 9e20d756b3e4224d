/**
 * The Markdown of a hostile-peer run: per case, the figures issue 18 reported against the code before
 * its fixes (quoted: that code cannot run this script, which drives today's CLI and its events), then
 * a table of what this run measured.
 */
import type { Section } from '../analysis.js'
import type { Machine } from '../machine.js'
import { table } from '../report.js'
import type { CaseResult, Row, Sizes } from './cases.js'

export const CASES = ['insider-flood', 'bad-seeders', 'pex-reflection', 'handshake-flood', 'secure-tracker', 'connections-per-address', 'choke-churn', 'reject-all'] as const
export type CaseName = typeof CASES[number]

export const TITLES: Record<CaseName, string> = {
  'insider-flood': '1. Insiders that never read',
  'bad-seeders': '2. A wrong-block seeder and a silent seeder next to an honest one',
  'pex-reflection': '3. PEX reflection',
  'handshake-flood': '4. Handshake flood with wrong proofs from one address',
  'secure-tracker': '5. Secure tracker: issuance flood and silent connections',
  'connections-per-address': '6. Many connections from one address',
  'choke-churn': '7. Choke/unchoke churn from peers claiming only what was asked of them already',
  'reject-all': '8. A peer that unchokes and rejects every request (BEP 6)'
}

/** What issue 18 measured before the fixes, word for word. */
export const BEFORE: Record<CaseName, readonly string[]> = {
  'insider-flood': [
    '1M interested/not-interested pairs (10 MB sent) with the socket never read raised the seeder from 124 MB to 860–998 MB (15 MB sent: 1.5 GB and rising), over TLS and plaintext alike; an honest download afterwards took 5.2 s instead of 0.5 s.'
  ],
  'bad-seeders': [
    'A peer serving only wrong blocks, or metadata that does not hash, is banned by peer id, which it picks fresh per connection; its address is redialed, and the 60 s "no peer" exit never fires while each bad connection is held a few seconds. `get` never exits (observed > 100 s).',
    'A peer that claims every piece and never sends leaves `get` waiting for ever with 131 requests outstanding.',
    'rejected peers redialed about once a second'
  ],
  'pex-reflection': [
    'one 730-byte ut_pex message made a complete seeder dial all 100 listed addresses within 6 s'
  ],
  'handshake-flood': [
    'no rate limit on failed proofs and no per-address connection limit (a 20 s flood of 14,131 handshakes took 0.7 cores with no slowdown; 500 connections with one peer id were all held)'
  ],
  'secure-tracker': [
    'unlimited certificate issuance per user: 866 certificates in 10 s, after which every announce response grew from 267 B to 30 KB (an hour of it: about 11 MB per response)',
    'the secure tracker holds idle or half-open TLS connections for 120 s.'
  ],
  'connections-per-address': [
    'no rate limit on failed proofs and no per-address connection limit (a 20 s flood of 14,131 handshakes took 0.7 cores with no slowdown; 500 connections with one peer id were all held)'
  ],
  'choke-churn': [
    'Choke/unchoke churn from a peer that claims only pieces we cannot pick (for example one piece, already requested from it) still makes `fill` scan every piece on each unchoke. […] (scratch script, 100,000 pieces): 5,000 unchokes cost about 3.4 CPU-s. The link is never closed: the bucket refills faster than the scans run. That is about 0.35 cores per link'
  ],
  'reject-all': [
    'A peer that rejects every request while unchoking us (BEP 6) makes us start a new piece on each reject, and the rejected pieces stay active for ever. […] Scratch measurement, 100,000 pieces, one have-all peer that rejects everything: 12,800 rejects in 12 s, 0.28 core; the link was never closed (1 token per reject).'
  ]
}

/** Where a case's "before" comes from, when not from the issue itself. */
export const BEFORE_SOURCE: Partial<Record<CaseName, string>> = {
  'choke-churn': 'a weakness found after the issue\'s fixes, measured then by a scratch script; this case run against the code before the fix: bench/results/hostile-2026-12-04-choke-churn-before.md',
  'reject-all': 'a weakness found after the issue\'s fixes, measured then by a scratch script; this case run against the code before the fix: bench/results/hostile-2026-12-05-reject-all-before.md'
}

export interface HostileRun {
  readonly date: string
  readonly quick: boolean
  readonly command: string
  readonly machine: Machine
  readonly sizes: Sizes
  readonly seconds: number
  readonly cases: Partial<Record<CaseName, Section<CaseResult>>>
}

const n = (v: number | undefined, digits: number): string => v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits)

/** One case's rows as a Markdown table (cells never break the table: pipes escaped). */
export function rowsTable (rows: readonly Row[]): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')
  return table(
    ['process / phase', 'RSS start MiB', 'RSS peak MiB', 'FDs max', 'CPU s', 'honest peer s', 'outcome'],
    rows.map(r => [cell(r.what), n(r.rssStartMiB, 0), n(r.rssPeakMiB, 0), r.fdsMax === undefined ? '–' : String(r.fdsMax), n(r.cpuSeconds, 2), n(r.honestSeconds, 2), cell(r.outcome)]),
    'lrrrrrl'
  )
}

export function markdown (run: HostileRun): string {
  const m = run.machine
  const out: string[] = [
    `# Hostile peers and trackers (issue 18), ${run.date.slice(0, 10)}${run.quick ? ' (--quick: smaller floods; a smoke test, not a measurement)' : ''}`,
    `\`${run.command}\`: ${run.seconds.toFixed(0)} s on ${m.cpus} × ${m.cpuModel ?? 'CPU'}, Node ${m.node}, ${m.kernel}; load average ${m.loadAverageAtStart.toFixed(2)} at the start.`,
    'Every process under attack is the `bttls` CLI (seed, get, tracker) on its own 127.0.0.x address, watched from outside through /proc: RSS (VmRSS at the start of the phase, VmHWM as the peak; ' +
      'the peak counts from the phase\'s start where the kernel lets us reset it, else from the process\'s start), FDs (the most entries of /proc/<pid>/fd sampled every 50–100 ms), CPU (utime + stime over the phase). ' +
      'Each hostile peer runs in its own process (bench/hostile/attacker.ts). "Honest peer s" is the `complete` event\'s `seconds` of a `bttls get` (session start to the last verified piece).',
    '**Before** is what issue 18 reported against the code before its fixes, quoted from the issue: that code cannot run this script (it drives the CLI\'s current events and options), so there is no before column measured here.'
  ]
  for (const name of CASES) {
    const c = run.cases[name]
    if (c === undefined) continue
    out.push(`## ${TITLES[name]}`)
    out.push(`Before (${BEFORE_SOURCE[name] ?? 'issue 18'}): ` + BEFORE[name].map(q => `“${q}”`).join(' '))
    if ('error' in c) out.push(`**Not measured:** ${c.error}`)
    else out.push(rowsTable(c.value.rows), `(${c.seconds.toFixed(0)} s)`)
  }
  return out.join('\n\n') + '\n'
}
