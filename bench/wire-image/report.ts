/**
 * The Markdown summary of a wire-image run, laid out like the lab's report: targets first, then (a)
 * hello fingerprints, (b) records and classifiers, (c) active probes; the JSON next to it has every
 * flow's records and every probe's answer.
 */
import { valueOf } from '../analysis.js'
import { table } from '../report.js'
import { FEATURE_SETS } from './features.js'
import type { ProbeSection } from './probe-battery.js'
import type { TrafficSection, WireImageRun } from './results.js'
import { sizeLabel } from './plan.js'

const f = (v: number | undefined, digits = 3): string => v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits)
const code = (s: string | undefined): string => s === undefined || s === '' ? '–' : `\`${s}\``
const hex = (v: number): string => v.toString(16).padStart(4, '0')

function hellos (t: TrafficSection): string[] {
  const out: string[] = ['## (a) Hello fingerprints', '']
  out.push(table(
    ['kind', 'client (→ server)', 'flows', 'JA4', 'JA3', 'JA4S of the server', 'SNI', 'ALPN', 'versions', 'suites', 'ext', 'groups', 'key shares', 'sigalgs', 'padding', 'CH record'],
    t.hellos.map(h => {
      const c = h.hello
      return [h.kind, h.variant, String(h.flows), h.ja4.map(code).join(' '), h.ja3.map(code).join(' '), h.ja4s.map(code).join(' '),
        c?.serverName ?? 'none', c?.alpn?.join(',') ?? 'none', c?.versions.join(', ') ?? '–', String(c?.cipherSuites ?? '–'), String(c?.extensions ?? '–'),
        c === undefined ? '–' : String(c.groups.length), c?.keyShares.map(hex).join(',') ?? '–', String(c?.signatureAlgorithms ?? '–'),
        c?.paddingLength === undefined ? 'no' : `${c.paddingLength} B`, c === undefined ? '–' : `${c.recordLength} B`]
    }), 'lllllllllrrrlrrr'), '')
  out.push('The server side: JA4S, and the lengths of the server\'s handshake records (ServerHello, CCS, then the encrypted EncryptedExtensions, Certificate, CertificateVerify, Finished: the certificate\'s size shows through).', '')
  out.push(table(['server', 'JA4S', 'server handshake records (B)'], t.servers.map(s => [s.server, s.ja4s.map(code).join(' '), s.certificateFlight]), 'lll'), '')
  return out
}

function classifiers (t: TrafficSection): string[] {
  const out: string[] = ['## (b) Records after the handshake, and classifiers', '']
  out.push(`The same ${t.sizes.length} file sizes for every kind (${t.sizes.map(sizeLabel).join(', ')}). ` +
    '`>` client to server, `<` server to client; TLS flows: record length fields, `@ms` the gap to the previous record when ≥ 1 ms; plain and MSE: TCP payload sizes. ' +
    'Handshake records = up to and including the client\'s Finished.', '')
  out.push(t.examples.map(e => `- **${e.name}**, ${sizeLabel(e.size)}${e.handshakeRecords !== undefined ? `, ${e.handshakeRecords} handshake records` : ', TCP segments'}: \`${e.sequence}\``).join('\n'), '')
  out.push('### Hand rules', '', 'Scored on every flow of the named kinds. Constants marked "the commonest among bttls flows" are learned from this very run, so these are upper bounds.', '')
  out.push(table(['rule', 'flows', 'accuracy', 'true positives', 'false positives'],
    t.rules.map(r => [`${r.name}: ${r.description}`, `${r.flows} (${r.population})`, f(r.accuracy), `${r.truePositives}/${r.positives}`, String(r.falsePositives)]), 'lrrrr'), '')
  out.push('### Decision trees', '')
  if (t.trees.skipped !== undefined) out.push(`**Skipped:** ${t.trees.skipped}`, '')
  else {
    out.push(table(['question: features', 'flows', 'CV', 'accuracy (mean ± sd)', 'what the tree splits on first'],
      t.trees.results.filter(r => !r.name.startsWith(WHAT_IF)).map(r => [`${r.name} — ${r.features}`, Object.entries(r.classes).map(([k, n]) => `${n} ${k}`).join(', '),
        r.folds === undefined ? '–' : `${r.folds}-fold × ${r.repeats}`, r.error ?? `${f(r.mean)} ± ${f(r.sd)}`, r.rootRule ?? '–']), 'lllrl'), '')
    out.push('scikit-learn DecisionTreeClassifier(max_depth=3), stratified k-fold repeated (RepeatedStratifiedKFold, seed 1), fitted by bench/wire-image/classify.py on the vectors of bench/wire-image/features.ts: ' +
      FEATURE_SETS.map(s => `\`${s.name}\` ${s.description}`).join('; ') + '. Signed lengths: + client to server, − server to client, 0 past the end of the flow.', '')
    out.push(...whatIf(t))
  }
  return out
}

const WHAT_IF = 'what if: '

/** The counterfactual refits (counterfactuals.ts): why the target is missed, and what closing it would take. */
function whatIf (t: TrafficSection): string[] {
  const rows = t.trees.results.filter(r => r.name.startsWith(WHAT_IF))
  if (rows.length === 0) return []
  return ['### What it would take', '',
    'The target classifier (`hs+post30`) refitted on the bttls flows of this run changed as if bttls did what an HTTPS download does, one respect after another, each on top of the ones before, against the lab\'s reference set; the lengths put in are taken from this run\'s HTTPS flows (bench/wire-image/counterfactuals.ts). The rows marked "against the wider reference" stand alone: against the wider set, whose page visits have bttls\'s shape. The rows marked "padding" pad bttls\'s own records as a sender would (seeded random lengths, never shorter than sent): a page-sized first flight, a request-sized first record, a request-sized first batch of requests. ' +
    'These are not measurements of anything bttls sends: they show what a classifier falls back to once a difference is gone.', '',
    table(['bttls changed as if it had', 'accuracy (mean ± sd)', 'what the tree splits on first'],
      rows.map(r => [r.name.slice(WHAT_IF.length), r.error ?? `${f(r.mean)} ± ${f(r.sd)}`, r.rootRule ?? '–']), 'lrl'), '']
}

function probeCell (a: ProbeSection['rows'][number]['answers'][string] | undefined): string {
  if (a === undefined) return '–'
  const inside = a.inside !== '—' ? ` → ${a.inside}` : ''
  const when = a.closeMs === undefined ? '' : ` at ${a.closeMs < 1000 ? `${a.closeMs.toFixed(0)} ms` : `${(a.closeMs / 1000).toFixed(1)} s`}`
  return `${a.handshake}${inside}; ${a.closer}${when}${a.encryptedAlertAtClose ? ' (19-byte encrypted alert first)' : ''}`
}

function probes (p: ProbeSection): string[] {
  const out: string[] = ['## (c) Active probes', '']
  out.push(`Each probe once against each target, at most ${(p.capMs / 1000).toFixed(0)} s (then "open at cap"). The answer on the wire (ServerHello, HelloRetryRequest, alert, HTTP status, bytes), ` +
    'what the prober read inside TLS, who closed and how (FIN, RST), and when: from the prober\'s last action (connect, handshake, or its last write). ' +
    `Verdict: the same class as ${p.reference} when the answer, the inside answer, the closer and the timing bucket (<100 ms, <1 s, <10 s, ≥10 s) all agree.`, '')
  const names = p.targets.map(t => t.name)
  const bttls = names.filter(n => n.startsWith('bttls'))
  out.push(table(['probe', ...names, ...bttls.map(n => `verdict: ${n}`)],
    p.rows.map(r => [`**${r.probe}** ${r.title}`, ...names.map(n => probeCell(r.answers[n])), ...bttls.map(n => r.answers[n]?.verdict ?? '–')]), 'l' + 'l'.repeat(names.length + bttls.length)), '')
  out.push([
    ...bttls.map(n => `- ${n}: ${p.rows.filter(r => r.answers[n]?.verdict.startsWith('same')).length}/${p.rows.length} probes answered in the same class as ${p.reference}.`),
    ...p.notes.map(n => `- ${n}`)
  ].join('\n'), '')
  return out
}

export function wireImageMarkdown (run: WireImageRun, chart: string): string {
  const out: string[] = []
  const m = run.machine
  out.push(`# bttls wire image, ${run.date.slice(0, 10)}${run.quick ? ' (--quick: few flows, short probe cap; a smoke test, not a measurement)' : ''}`, '')
  out.push(`\`${run.command}\` on commit ${run.commit}: ${run.seconds.toFixed(0)} s on ${m.cpus} × ${m.cpuModel ?? 'CPU'}, Node ${m.node}, OpenSSL ${m.openssl}, ${m.kernel}, load average ${m.loadAverageAtStart.toFixed(2)} at the start. ` +
    'Everything on loopback (127.0.0.0/8): packet sizes follow the 64 KiB loopback MTU and timings are CPU and event-loop delays; record lengths and direction bursts depend on neither.', '')
  out.push('Tools: ' + Object.entries(run.tools).map(([k, c]) => c.available ? `${k} ${c.version}` : `${k} missing (${c.reason ?? ''})`).join(', ') + '.', '')
  out.push(`## Targets (issue #11, for the probe-resistant posture: ${run.posture})`, '')
  out.push(table(['target', 'goal', 'measured', ''], run.targets.map(t => [t.name, t.goal, t.measured, `**${t.verdict}**`]), 'lllc'), '')
  out.push(`![classifier accuracy](${chart})`, '')
  out.push(run.notes.map(n => `- ${n}`).join('\n'), '')

  const traffic = valueOf(run.sections.traffic)
  if (traffic === undefined) out.push('## (a), (b) Captures', '', `**Not measured:** ${'error' in run.sections.traffic ? run.sections.traffic.error : ''}`, '')
  else {
    out.push(...hellos(traffic), ...classifiers(traffic))
    const failed = traffic.runs.filter(r => r.error !== undefined)
    out.push('### Capture', '', `tcpdump \`${traffic.capture.filter}\` on lo: ${traffic.capture.packets ?? '?'} packets, ${traffic.capture.droppedByKernel ?? '?'} dropped by the kernel, ` +
      `${(traffic.capture.bytes / 2 ** 20).toFixed(1)} MiB; ${traffic.samples.length} flows measured of ${traffic.runs.length} run${failed.length > 0 ? `; failed runs:\n\n${failed.map(r => `- ${r.label.kind} ${r.label.variant}: ${r.error ?? ''}`).join('\n')}` : ''}.`, '')
    out.push('Infohash in cleartext (each v1/v2 infohash as raw bytes, hex and HEX, both directions, the first 2 MiB of each): ' +
      traffic.cleartext.map(c => `${c.kind} ${c.hits} hits in ${c.flows} flows`).join('; ') + '.', '')
    const holes = traffic.samples.filter(s => s.hole).length
    if (holes > 0) out.push(`${holes} flows have a hole in a stream (packets the capture missed); their records stop there.`, '')
  }
  const probeSection = valueOf(run.sections.probes)
  if (probeSection === undefined) out.push('## (c) Active probes', '', `**Not measured:** ${'error' in run.sections.probes ? run.sections.probes.error : ''}`, '')
  else out.push(...probes(probeSection))
  out.push('## Section times', Object.entries(run.sections).map(([name, s]) => `- ${name}: ${s.seconds.toFixed(1)} s${'error' in s ? ` (${s.error})` : ''}`).join('\n'))
  return out.filter(s => s !== '').join('\n\n').replace(/\n{3,}/g, '\n\n') + '\n'
}
