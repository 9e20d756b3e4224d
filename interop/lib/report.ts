/** The matrix as rows, and its Markdown and JSON renderings (interop/report.md, interop/report.json). */

export type Status = 'PASS' | 'FAIL' | 'SKIP'

export interface Row {
  n: number
  id: string
  scenario: string
  direction: string
  client: string
  torrent: string
  bttlsTransport: string
  clientTransport: string
  cipher: string
  seconds?: number
  mibPerSecond?: number
  timedBy?: string
  sha256: 'ok' | 'MISMATCH' | '—'
  status: Status
  /** Why it failed or was skipped. */
  reason?: string
  notes: string[]
  wallSeconds: number
  /** The processes the scenario started: pid and how each ended (all are stopped at its end). */
  processes: Array<{ name: string, pid?: number, exit: string }>
}

export interface Report {
  generatedAt: string
  environment: Record<string, string>
  notes: string[]
  rows: Row[]
  summary: { pass: number, fail: number, skip: number, wallSeconds: number }
}

export function summarize (rows: Row[], wallSeconds: number): Report['summary'] {
  return {
    pass: rows.filter(r => r.status === 'PASS').length,
    fail: rows.filter(r => r.status === 'FAIL').length,
    skip: rows.filter(r => r.status === 'SKIP').length,
    wallSeconds
  }
}

/** Table cells must not break the table. */
function cell (v: string | number | undefined): string {
  if (v === undefined || v === '') return '—'
  return String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ')
}

export function markdownTable (rows: Row[]): string {
  const head = ['#', 'scenario', 'direction', 'client', 'torrent', 'transport (bttls saw)', 'transport (client saw)', 'cipher', 's', 'MiB/s', 'sha256', 'status', 'reason']
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`]
  for (const r of rows) {
    lines.push(`| ${[
      r.n, r.scenario, r.direction, r.client, r.torrent, r.bttlsTransport, r.clientTransport, r.cipher,
      r.seconds?.toFixed(2), r.mibPerSecond?.toFixed(1), r.sha256, `**${r.status}**`, r.reason
    ].map(cell).join(' | ')} |`)
  }
  return lines.join('\n')
}

export function markdownReport (report: Report): string {
  const s = report.summary
  const skipped = report.rows.filter(r => r.status === 'SKIP')
  const failed = report.rows.filter(r => r.status === 'FAIL')
  const noted = report.rows.filter(r => r.notes.length > 0 || r.timedBy)
  return [
    '# bttls interop report',
    '',
    `Generated ${report.generatedAt} by \`npm run interop\` (interop/run.ts). ` +
    `**${s.pass} passed, ${s.fail} failed, ${s.skip} skipped** in ${s.wallSeconds.toFixed(1)} s.`,
    '',
    '## Environment',
    '',
    ...Object.entries(report.environment).map(([k, v]) => `- ${k}: ${v}`),
    '',
    '## Matrix',
    '',
    markdownTable(report.rows),
    '',
    '"transport (bttls saw)" comes from bttls\' own `peer` events (`--json`); "transport (client saw)" from libtorrent\'s ' +
    '`peer_info` flags (`rc4_encrypted`, `plaintext_encrypted`, the SSL socket bit); aria2 and Transmission do not expose it (n/a). ' +
    '"s" is the leecher\'s time for the whole 16 MiB (see the per-row clock below); at this size it is mostly start-up, not throughput. ' +
    'sha256 compares the leecher\'s file on disk with the source.',
    '',
    ...(failed.length > 0 ? ['## Failures', '', ...failed.map(r => `- #${r.n} ${r.id}: ${r.reason ?? ''}${r.notes.length ? `\n  - ${r.notes.join('\n  - ')}` : ''}`), ''] : []),
    ...(skipped.length > 0 ? ['## Skipped (not passed)', '', ...skipped.map(r => `- #${r.n} ${r.id}: ${r.reason ?? ''}`), ''] : []),
    '## Notes',
    '',
    ...report.notes.map(n => `- ${n}`),
    '',
    '### Per row',
    '',
    ...noted.map(r => `- #${r.n} ${r.id}: ${[r.timedBy && `timed by ${r.timedBy}`, ...r.notes].filter(Boolean).join('; ')}`),
    ''
  ].join('\n')
}
