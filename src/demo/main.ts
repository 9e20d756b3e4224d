/**
 * `npm start`: a local swarm that moves a 64 MiB file over BitTorrent-over-TLS (Basic level) and
 * says what it proved. Two `bttls` processes (a seeder and a leecher) talk through a recorder on
 * loopback that sees every byte a passive observer on the path would see, and scans them for the
 * torrent's infohash in every form it could take. A control connection shows the same scanner does
 * find the infohash in a plaintext BitTorrent handshake, so "0 hits" means something.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { connect as tlsConnect } from 'node:tls'
import { parseClientHello, EXTENSION_PRE_SHARED_KEY, EXTENSION_SERVER_NAME } from '../protocol/client-hello.js'
import { stockClientHello } from './capture-hello.js'
import { createTorrent } from '../torrent/create-torrent.js'
import { describeLevel } from '../session/torrent-level.js'
import { CliProcess, type CliEvent } from './child.js'
import { infohashNeedles, Recorder, type DirectionEnd, type Needle } from './recorder.js'
import { TLS13_CLOSE_NOTIFY_RECORD } from '../wire/close-notify.js'

const SIZE = 64 * 2 ** 20

interface Check { ok: boolean, text: string }

async function main (): Promise<number> {
  const started = Date.now()
  const dir = await mkdtemp(join(tmpdir(), 'bttls-demo-'))
  const children: CliProcess[] = []
  const recorders: Recorder[] = []
  try {
    log(`bttls demo: ${SIZE / 2 ** 20} MiB over BitTorrent-over-TLS (Basic level) between two processes on loopback`)
    const file = join(dir, 'seed', 'demo-payload.bin')
    const sourceSha = await writeRandomFile(file, SIZE)
    const { bytes: torrentBytes, metainfo } = await createTorrent(file, { version: 'hybrid' })
    const torrentFile = join(dir, 'demo.torrent')
    await import('node:fs/promises').then(fs => fs.writeFile(torrentFile, torrentBytes))
    log(`  torrent   ${metainfo.name}, hybrid (v1 ${metainfo.infoHashV1!.toString('hex')}, v2 ${metainfo.infoHashV2!.toString('hex').slice(0, 16)}…)`)

    const seeder = new CliProcess(['seed', torrentFile, '--data', file, '--policy', 'require-tls'])
    children.push(seeder)
    const seederPort = Number((await seeder.next('listening')).port)
    log(`  seeder    pid ${seeder.pid}, bttls seed on 127.0.0.1:${seederPort}, policy require-tls`)

    const needles: Needle[] = [
      ...infohashNeedles('v1 infohash', metainfo.infoHashV1!),
      ...infohashNeedles('v2 infohash', metainfo.infoHashV2!),
      ...infohashNeedles('v2 infohash, 20-byte form', metainfo.infoHashV2!.subarray(0, 20)),
      { label: '"BitTorrent protocol"', bytes: Buffer.from('\x13BitTorrent protocol', 'latin1') },
      { label: 'file content (first 32 bytes)', bytes: await firstBytes(file, 32) }
    ]
    const recorder = await Recorder.start({ host: '127.0.0.1', port: seederPort }, needles)
    recorders.push(recorder)
    const leecher = new CliProcess(['get', torrentFile, '--out', join(dir, 'leech'), '--peer', `127.0.0.1:${recorder.port}`, '--policy', 'require-tls'])
    children.push(leecher)
    log(`  leecher   pid ${leecher.pid}, bttls get via the recorder on 127.0.0.1:${recorder.port}, policy require-tls`)

    const complete = await leecher.next('complete', 60_000)
    const exitCode = await leecher.exited
    const leechPeer = leecher.events.find(e => e.event === 'peer')
    const seedPeer = await seeder.next('peer')
    const downloadedSha = await sha256File(join(dir, 'leech', metainfo.name))
    // The seeder's answer to the leecher's close_notify crosses once the leecher has exited.
    await recorder.quiet(5000)
    const ends = recorder.recording.connections[0]

    // Control: one plaintext BitTorrent handshake through a second recorder with the same needles.
    const control = await Recorder.start({ host: '127.0.0.1', port: seederPort }, needles)
    recorders.push(control)
    await plainHandshake(control.port, metainfo.wireInfoHash)

    const hello = parseClientHello(recorder.recording.firstFlights[0] ?? Buffer.alloc(0))
    const stock = parseClientHello(await stockClientHello())
    const sameAsStock = hello.cipherSuites.join() === stock.cipherSuites.join() && hello.extensions.join() === stock.extensions.join()
    const visit = await webVisit(seederPort)
    // A torrent made without bttls parameters: the level of keys from the infohash alone.
    const expectedLevel = describeLevel(metainfo).level
    const tls = (e: CliEvent | undefined): { protocol?: string, cipher?: string, level?: string } => (e?.tls ?? {}) as { protocol?: string, cipher?: string, level?: string }
    const hits = recorder.recording.hits
    const leaked = [...hits].filter(([, n]) => n > 0)
    const controlHits = [...control.recording.hits].filter(([label, n]) => label.startsWith('v1 infohash (raw)') && n > 0)
    const mib = Number(complete.bytes) / 2 ** 20

    const checks: Check[] = [
      { ok: tls(leechPeer).protocol === 'TLSv1.3' && tls(seedPeer).protocol === 'TLSv1.3', text: `TLS 1.3 on both ends: ${tls(leechPeer).protocol} ${tls(leechPeer).cipher} (leecher), ${tls(seedPeer).protocol} ${tls(seedPeer).cipher} (seeder)` },
      { ok: tls(leechPeer).level === expectedLevel && tls(seedPeer).level === expectedLevel, text: `level ${tls(leechPeer).level}: keys from the infohash alone, nothing added to the torrent` },
      { ok: exitCode === 0 && downloadedSha === sourceSha, text: `bytes match: sha256 ${downloadedSha.slice(0, 16)}… of ${mib.toFixed(1)} MiB, ${String(complete.verifiedPieces)} pieces re-verified on disk, bttls get exit ${exitCode}` },
      { ok: true, text: `throughput ${Number(complete.mibPerSecond).toFixed(1)} MiB/s (${Number(complete.seconds).toFixed(2)} s) through the recorder relay; peers by transport: ${JSON.stringify(complete.peersByTransport)}` },
      { ok: leaked.length === 0 && recorder.recording.bytes > SIZE, text: `no infohash in cleartext: ${recorder.recording.bytes.toLocaleString('en')} bytes scanned both ways, 0 hits for the v1, v2 and 20-byte v2 infohash as raw bytes, hex and HEX${leaked.length ? ` — LEAKED: ${leaked.map(([l, n]) => `${l} ×${n}`).join(', ')}` : ''}` },
      { ok: hits.get('"BitTorrent protocol"') === 0 && hits.get('file content (first 32 bytes)') === 0, text: 'no plaintext BitTorrent handshake and no file content on the wire' },
      {
        ok: sameAsStock && !hello.extensions.includes(EXTENSION_SERVER_NAME) && !hello.extensions.includes(EXTENSION_PRE_SHARED_KEY) && hello.alpn?.join() === 'h2,http/1.1',
        text: `ClientHello (parsed from the recording) is Node's own HTTPS client's: the same ${hello.cipherSuites.length} suites and ${hello.extensions.length} extensions, TLS ${hello.supportedVersions?.includes(0x0303) === true ? '1.2 and ' : ''}1.3 offered, ALPN ${hello.alpn?.join(',') ?? 'none'}, no SNI, no PSK identity`
      },
      {
        ok: isCloseNotify(ends?.up) && isCloseNotify(ends?.down),
        text: `the link ended as HTTPS connections do: close_notify each way, then a FIN each way (last records ${describeEnd(ends?.up)} from the leecher, ${describeEnd(ends?.down)} from the seeder)`
      },
      { ok: visit.page.startsWith('HTTP/1.1 200') && visit.probe.startsWith('HTTP/1.1 400'), text: `the seeder's port is a web site to everyone else: GET / over TLS → "${visit.page.split('\r\n')[0] ?? ''}", a wrong proof → "${visit.probe.split('\r\n')[0] ?? ''}"` },
      { ok: controlHits.length > 0, text: `control: the same scanner finds the infohash ${control.recording.hits.get('v1 infohash (raw)')}× in one plaintext BitTorrent handshake` }
    ]
    log('proved:')
    for (const c of checks) log(`  ${c.ok ? '✓' : '✗'} ${c.text}`)
    const failed = checks.filter(c => !c.ok).length
    log(failed === 0 ? `all ${checks.length} checks passed in ${((Date.now() - started) / 1000).toFixed(1)} s` : `${failed} check(s) FAILED`)
    if (failed > 0 && leecher.errorOutput) log(`leecher stderr: ${leecher.errorOutput}`)
    return failed === 0 ? 0 : 1
  } finally {
    await Promise.all(children.map(c => c.stop()))
    await Promise.all(recorders.map(r => r.close()))
    await rm(dir, { recursive: true, force: true })
  }
}

function log (line: string): void { process.stdout.write(line + '\n') }

function isCloseNotify (end: DirectionEnd | undefined): boolean {
  return end?.ending === 'fin' && end.lastRecord?.join() === TLS13_CLOSE_NOTIFY_RECORD.join()
}

function describeEnd (end: DirectionEnd | undefined): string {
  return end?.lastRecord === undefined ? 'none' : `${end.lastRecord[1]} B then ${end.ending === 'fin' ? 'FIN' : end.ending}`
}

/** What a web browser and a prober without the infohash get from the seeder's port. */
async function webVisit (port: number): Promise<{ page: string, probe: string }> {
  const ask = (bytes: Buffer): Promise<string> => new Promise(resolve => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ALPNProtocols: ['h2', 'http/1.1'], rejectUnauthorized: false }, () => socket.write(bytes))
    let answer = ''
    const timer = setTimeout(() => socket.destroy(), 5000)
    socket.on('data', (d: Buffer) => { answer += d.toString('latin1') })
    socket.on('close', () => { clearTimeout(timer); resolve(answer) })
    socket.on('error', () => {})
  })
  const page = await ask(Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'))
  const probe = await ask(Buffer.concat([Buffer.from([1, 1, 0, 0]), randomBytes(32), Buffer.from([0, 0])]))
  return { page, probe }
}

async function writeRandomFile (path: string, size: number): Promise<string> {
  await import('node:fs/promises').then(fs => fs.mkdir(join(path, '..'), { recursive: true }))
  const out = createWriteStream(path)
  const hash = createHash('sha256')
  for (let written = 0; written < size;) {
    const chunk = randomBytes(Math.min(4 * 2 ** 20, size - written))
    hash.update(chunk)
    written += chunk.length
    if (!out.write(chunk)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
  return hash.digest('hex')
}

async function sha256File (path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

async function firstBytes (path: string, n: number): Promise<Buffer> {
  const handle = await import('node:fs/promises').then(fs => fs.open(path))
  const buf = Buffer.alloc(n)
  await handle.read(buf, 0, n, 0)
  await handle.close()
  return buf
}

/** What a legacy peer sends first: the BEP 3 handshake, infohash in the clear. */
async function plainHandshake (port: number, infoHash: Buffer): Promise<void> {
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.end(Buffer.concat([Buffer.from('\x13BitTorrent protocol', 'latin1'), Buffer.alloc(8), infoHash, randomBytes(20)]))
  await once(socket, 'close')
}

main().then(code => { process.exitCode = code }, err => {
  process.stderr.write(`demo failed: ${String((err as Error)?.stack ?? err)}\n`)
  process.exitCode = 1
})
