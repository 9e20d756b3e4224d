/** The Markdown summary of a bench run: targets first, then each section with its limits and commands. */
import type { Analysis, BenchRun, Section } from './analysis.js'
import { IDLE_LINK_TARGET_BYTES, valueOf } from './analysis.js'
import type { ChartFiles } from './charts.js'
import { NOT_RUN } from './sections.js'
import { FLOOR_MESSAGE_BYTES } from './handshakes.js'

const f = (v: number | undefined, digits = 1): string => v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits)
const pct = (v: number | undefined): string => v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(0)} %`

export function table (header: readonly string[], rows: ReadonlyArray<readonly string[]>, align: string = 'l' + 'r'.repeat(header.length - 1)): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map((_, i) => align[i] === 'l' ? ':--' : '--:')), ...rows.map(line)].join('\n')
}

function failed (s: Section<unknown>): string {
  return 'error' in s ? `**Not measured:** ${s.error}\n` : ''
}

export function markdown (run: BenchRun, analysis: Analysis, files: ChartFiles): string {
  const { sections } = run
  const limits = valueOf(sections.limits)
  const tp = valueOf(sections.throughput)
  const lt = valueOf(sections.libtorrent)
  const hs = valueOf(sections.handshakes)
  const lat = valueOf(sections.latency)
  const scale = valueOf(sections.scale)
  const out: string[] = []
  const m = run.machine
  out.push(`# bttls bench, ${run.date.slice(0, 10)}${run.quick ? ' (--quick: small sizes, one run each; smoke test, not a measurement)' : ''}`, '')
  out.push(`\`${run.command}\`: ${f(run.seconds, 0)} s in all on ${m.cpus} × ${m.cpuModel ?? 'CPU'}, Node ${m.node}, OpenSSL ${m.openssl}, ${m.kernel}; ` +
    `load average ${f(m.loadAverageAtStart, 2)} at the start. Everything on 127.0.0.1. Figures are medians; see the JSON for every run.`, '')

  out.push('## Targets (issue #14)', '')
  out.push(table(['target', 'goal', 'measured', ''], analysis.targets.map(t => [t.name, t.goal, t.measured, `**${t.verdict}**`]), 'lllc'), '')

  out.push('## Physical limits of this machine', '')
  out.push(failed(sections.limits))
  if (limits) {
    const rows = Object.entries(limits.ciphers).map(([name, c]) => [name, `${f(c.mibPerSecond, 0)} MiB/s`, `${f(c.cpuSecondsPerGiB, 2)} CPU-s/GiB`, `\`${c.command}\``])
    const gib = limits.tcp.mibPerSecond * limits.tcp.seconds / 1024
    rows.push(['raw TCP loopback', `${f(limits.tcp.mibPerSecond, 0)} MiB/s`, `sender ${f(limits.tcp.senderCpuSeconds / gib, 2)}, receiver ${f(limits.tcp.receiverCpuSeconds / gib, 2)} CPU-s/GiB`, 'Node → Node, 256 KiB writes (bench/limits.ts)'])
    if (limits.sha1) rows.push(['sha1', `${f(limits.sha1.mibPerSecond, 0)} MiB/s`, `${f(limits.sha1.cpuSecondsPerGiB, 2)} CPU-s/GiB`, `\`${limits.sha1.command}\``])
    if (limits.pageCacheWrite) {
      const w = limits.pageCacheWrite
      rows.push(['page-cache write, fresh file', '', `${f(w.cpuSecondsPerGiB, 2)} CPU-s/GiB (samples ${w.samples.map(v => f(v, 2)).join(', ')})`, w.command])
    }
    const hs = limits.opensslHandshakes
    if (hs) rows.push(['TLS 1.3 handshakes, OpenSSL alone', `${f(hs.perSecondPerCore, 0)} per s per core`, `${hs.handshakes} in ${f(hs.clientCpuSeconds, 2)} + ${f(hs.serverCpuSeconds, 2)} CPU-s (client + server)`, `\`${hs.command}\``])
    const pk = limits.publicKey
    rows.push(['public key (ops/s)', `X25519 ${f(pk.x25519, 0)}; Ed25519 sign ${f(pk.ed25519Sign, 0)} verify ${f(pk.ed25519Verify, 0)}; P-256 sign ${f(pk.p256Sign, 0)} verify ${f(pk.p256Verify, 0)}`, '', `\`${pk.command}\``])
    out.push(table(['what', 'one core', 'CPU', 'command'], rows, 'lrll'), '')
    out.push(`${limits.openssl}. Cipher figures are one core, 16 KiB blocks (one TLS record). The throughput limit of an encrypted mode is raw TCP composed with one core's cipher, 1 / (1/TCP + 1/cipher); a seeder's CPU floor per GiB is its raw TCP CPU plus the cipher alone; a leecher's adds SHA-1 (every piece is verified) and the page-cache write of a fresh file. ` +
      'That write is not a constant of the hardware: on a virtual machine that backs memory on first write and takes back what the guest frees (virtio-balloon free page reporting), a fresh page costs the hypervisor\'s fault, and how many pages are fresh changes from moment to moment (bench/limits.ts).', '')
    if (limits.errors.length > 0) out.push(`Errors: ${limits.errors.join('; ')}`, '')
  }

  out.push('## Bulk transfer', '')
  out.push(failed(sections.throughput), failed(sections.libtorrent))
  if (analysis.bulk.length > 0) {
    out.push(table(
      ['implementation', 'mode', 'MiB/s', 'of raw TCP', 'of limit', 'CPU-s/GiB seeder', 'leecher', 'floor/used seeder', 'leecher'],
      analysis.bulk.map(b => [b.implementation, b.label, f(b.mibPerSecond), pct(b.ofTcp), pct(b.ofLimit), f(b.seederCpuSecondsPerGiB, 2), f(b.leecherCpuSecondsPerGiB, 2),
        pct(b.seederCpuFloor !== undefined ? b.seederCpuFloor / b.seederCpuSecondsPerGiB : undefined), pct(b.leecherCpuFloor !== undefined ? b.leecherCpuFloor / b.leecherCpuSecondsPerGiB : undefined)]),
      'llrrrrrrr'), '')
    out.push('Ratios of MiB/s:\n\n' + analysis.ratios.map(r => `- ${r.name}: ${r.value === undefined ? '–' : `${r.value.toFixed(2)}×`}`).join('\n'))
  }
  if (tp) out.push(`bttls: \`${tp.command}\`: ${tp.sizeMiB} MiB, median of ${tp.runsPerMode} run(s) per mode; seeder and leecher are separate Node processes sharing the ${m.cpus} cores (bench/throughput.ts, bench/README.md).`, '')
  if (lt) {
    const settings = lt.settings as { preset: string, presetChanges: Record<string, unknown>, overrides: Record<string, Record<string, unknown>> }
    out.push(`libtorrent ${lt.libtorrent}: \`${lt.command}\`: ${lt.sizeMiB} MiB, median of ${lt.runsPerMode} run(s), v1 torrent with 1 MiB pieces, a seeder and a leecher process. ` +
      `Settings on both sides: \`${settings.preset}\` (changes from the defaults: ${Object.entries(settings.presetChanges).map(([k, v]) => `${k}=${String(v)}`).join(', ')}), ` +
      'then DHT, LSD, UPnP, NAT-PMP and the IP notifier off, uTP off both ways (TCP only), allow_multiple_connections_per_ip, listen on 127.0.0.1 only; ' +
      'plain: in/out_enc_policy=disabled; RC4: in/out_enc_policy=forced, allowed_enc_level=rc4, prefer_rc4; SSL torrent: a CA made with openssl in info["ssl-cert"], ' +
      'a P-256 certificate per peer (SAN DNS:payload.bin), the "s" listen suffix, encryption policy disabled (libtorrent never runs MSE inside TLS). CPU is getrusage(RUSAGE_SELF), all threads.', '')
  }

  out.push('## Handshake cost', '')
  out.push(failed(sections.handshakes))
  if (hs) {
    out.push(table(
      ['mode', 'handshakes', 'per s per core', 'of public-key limit', 'responder per s per core', 'CPU µs initiator', 'CPU µs responder', 'wall per s', 'latency p50 ms', 'p99 ms'],
      hs.rows.map(r => [r.label, String(r.count), f(r.perSecondPerCore, 0), pct(analysis.handshakeLimits[r.mode] !== undefined ? r.perSecondPerCore / analysis.handshakeLimits[r.mode]! : undefined),
        f(r.responderPerSecondPerCore, 0), f(r.initiatorCpuMicros, 0), f(r.responderCpuMicros, 0), f(r.perSecondWall, 0), f(r.latencyMsP50, 2), f(r.latencyMsP99, 2)])), '')
    out.push(`One handshake = TCP connect + the transport's handshake + the BitTorrent handshake, until the initiator holds the responder's BitTorrent handshake; then the initiator closes. ` +
      `At most ${hs.options.count} per mode or ${hs.options.seconds} s, ${hs.options.concurrency} in flight; initiators = one Session per connection in flight in the bench process (a Session shares one link among concurrent connects to an endpoint), responder = a Session in its own process (bench/serve.ts). ` +
      'Per core = handshakes / (initiator + responder CPU seconds). The public-key limit counts only the asymmetric operations of both sides (4 X25519, one P-256 signature and verification for the responder certificate; Full Strict adds 2 P-256 signatures and 4 verifications), timed by openssl speed above; MSE has no such figure (768-bit DH). ' +
      `The floor rows have nothing of bttls: node:tls alone is a TLS handshake with the initiator's shared context and ClientHello against a node:tls server with the responder's context options and a generated certificate, then the exporter and ${FLOOR_MESSAGE_BYTES} bytes each way; TCP alone is the same without TLS. What Basic and plaintext cost beyond them is ours.`, '')
  }

  out.push('## Latency to the first verified block', '')
  out.push(failed(sections.latency))
  if (lat) {
    const rtts = [...new Set(lat.rows.map(r => r.rttMs))]
    const modes = [...new Set(lat.rows.map(r => r.mode))]
    out.push(table(
      ['mode', ...rtts.map(r => `${r} ms RTT`), ...rtts.filter(r => r > 0).map(r => `round trips at ${r} ms`), ...rtts.filter(r => r > 0).map(r => `of which handshakes, at ${r} ms`)],
      modes.map(mode => {
        const row = (rtt: number) => lat.rows.find(r => r.mode === mode && r.rttMs === rtt)
        return [row(0)?.label ?? mode, ...rtts.map(r => `${f(row(r)?.firstBlockMs)} ms`), ...rtts.filter(r => r > 0).map(r => f(row(r)?.roundTrips)), ...rtts.filter(r => r > 0).map(r => f(row(r)?.linkRoundTrips))]
      })), '')
    out.push(`Median of ${lat.options.samples} fresh leecher(s) per cell, each dialing through bench/delay-proxy.ts (its own process; each direction delayed by RTT/2, chunk by chunk, in order) to a seeder in another process; one 16 KiB piece, so the first verified block is the piece. ` +
      'Round trips = (time at the RTT − time at 0 ms) / RTT; "handshakes" counts until the link reached the swarm. The proxy cannot delay TCP\'s SYN/SYN-ACK, so a real network adds one round trip to every mode alike.', '')
  }

  out.push('## Scale: idle TLS peers in one process', '')
  out.push(failed(sections.scale))
  if (scale) {
    const kib = (b: number): string => `${(b / 1024).toFixed(1)} KiB`
    const p = (x: { p50: number, p95: number, p99: number, max: number }): string => `p50 ${f(x.p50)} / p95 ${f(x.p95)} / p99 ${f(x.p99)} / max ${f(x.max)} ms`
    out.push(table(['what', 'value'], [
      ['Basic TLS links held by the responder', String(scale.peers)],
      ['memory per peer (larger of RSS and heap + external)', `**${kib(scale.perPeerBytes.total)}** (${pct(scale.perPeerBytes.total / IDLE_LINK_TARGET_BYTES)} of the ${IDLE_LINK_TARGET_BYTES / 1024} KiB target)`],
      ['… RSS / JS heap used / external (OpenSSL, buffers)', `${kib(scale.perPeerBytes.rss)} / ${kib(scale.perPeerBytes.heapUsed)} / ${kib(scale.perPeerBytes.external)}`],
      ['responder RSS before → after', `${(scale.before.rss / 2 ** 20).toFixed(1)} → ${(scale.after.rss / 2 ** 20).toFixed(1)} MiB`],
      [`handshake latency while connecting (${scale.options.concurrency} in flight)`, p(scale.connectLatencyMs)],
      ['… the last quarter (≥ 3/4 of the peers connected)', p(scale.lastQuarterLatencyMs)],
      [`one more handshake with all ${scale.peers} held (${scale.options.probes} probes)`, p(scale.probeLatencyMs)],
      ['time to connect them all', `${f(scale.connectSeconds)} s`],
      ['open-files limit (responder / initiator)', `${scale.openFilesLimit.responder} / ${scale.openFilesLimit.initiator}`]
    ], 'll'), '')
    out.push('Responder: a Session in its own process, started with --expose-gc under `ulimit -n $(ulimit -Hn)`; memory after two full GCs, before (after a 20-connection warm-up) and after the links went idle. Initiators: one Session in the bench process.', '')
  }

  out.push('## Swarm at scale: one seeder and many leechers, each its own process', '')
  out.push(failed(sections['swarm-scale']))
  const swarm = valueOf(sections['swarm-scale'])
  if (swarm) {
    const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)}`
    const plain = swarm.modes.find(r => r.mode === 'plain')
    out.push(table(
      ['mode', 'until all complete s', 'vs plaintext', 'first / median leecher s', 'CPU s (user + sys)', 'CPU-s per GiB delivered', 'seeder / median leecher CPU s', 'peak RSS sum MiB', 'max MiB', 'seeder share', 'links', 'load at start'],
      swarm.modes.map(r => [
        r.label + (r.ciphers.length > 0 ? ` (${r.ciphers.join(', ')})` : ''), f(r.secondsToAllComplete), plain ? `${f(r.secondsToAllComplete / plain.secondsToAllComplete, 2)}×` : '–',
        `${f(r.completionSeconds[0])} / ${f(r.completionSeconds[Math.floor(r.completionSeconds.length / 2)])}`,
        `${f(r.cpu.totalSeconds)} (${f(r.cpu.userSeconds)} + ${f(r.cpu.systemSeconds)})`, f(r.cpu.perGiBDelivered, 2), `${f(r.cpu.seederSeconds)} / ${f(r.cpu.leecherMedianSeconds)}`,
        mib(r.peakRss.sumBytes), mib(r.peakRss.maxBytes), pct(r.seederShare), String(Object.values(r.links).reduce((a, b) => a + b, 0)), f(r.loadAverageAtStart, 2)
      ]), 'lrrrrrrrrrrr'), '')
    out.push(`One seeder (127.0.0.2) and ${swarm.options.leechers} leechers (127.0.0.3 onwards), each a Node process (bench/swarm-peer.ts) running a Session, share a ${swarm.options.sizeMiB} MiB v1 torrent in ${swarm.options.pieceLength / 1024} KiB pieces. ` +
      'Nobody is given a peer: they find each other through the torrent\'s tracker (our tracker, src/tracker, in the bench process, a fresh one per mode) and PEX. Every link of a mode runs over its transport (SessionOptions.forceTransport); MSE runs RC4 in OpenSSL (--openssl-legacy-provider). ' +
      'The clock starts when every process, already started and (seeder) past its resume scan, is told to go, and stops when the last leecher has verified and written its last piece. ' +
      'CPU: each process\'s process.cpuUsage() over that span, all threads, summed; peak RSS: each process\'s own peak resident set over its whole life (VmHWM: getrusage\'s maxrss also counts the bench process, which the peer was forked from). Seeder share: what the seeder uploaded over everything delivered; the rest went leecher to leecher. ' +
      `Links counts both ends of each link. ${swarm.options.leechers + 1} processes share ${m.cpus} cores, so time follows total CPU; one run per mode.`, '')
  }

  out.push('## Charts', '')
  const captions: Record<keyof ChartFiles, string> = { throughput: 'throughput', cpu: 'CPU per GiB', latency: 'latency vs RTT', swarm: 'swarm completions over time', swarmCost: 'swarm time and CPU' }
  for (const [chart, file] of Object.entries(files)) out.push(`![${captions[chart as keyof ChartFiles]}](${file})`, '')
  out.push('## Section times', Object.entries(sections).map(([name, s]) => `- ${name}: ${'error' in s && s.error === NOT_RUN ? 'not run' : `${f(s.seconds)} s${'error' in s ? ' (failed)' : ''}`}`).join('\n'))
  return out.filter(s => s !== '').join('\n\n').replace(/\n{3,}/g, '\n\n') + '\n'
}
