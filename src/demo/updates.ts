/**
 * `npm run demo:updates`: secure software updates over bttls, end to end on loopback. A publisher
 * makes a TUF repository (offline root and targets keys), publishes two releases, and serves them
 * (HTTPS + Strict publisher seeds); a client updates through the swarm, then, with the swarm blocked,
 * through the pinned HTTPS fallback; then an attacker tries each attack of issue 17, and the demo
 * prints how the client refused it and checks that DIR/current did not change.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { addRelease, initRepository, refreshTimestamp, repositoryPaths, rotateKeys } from '../updates/release-repository.js'
import { ReleaseServer } from '../updates/release-server.js'
import { rollback, update, type UpdateOptions } from '../updates/updater.js'
import { parsePin } from '../updates/spki-pin.js'
import { encodePeerList } from '../updates/seeds.js'
import { Session } from '../session/session.js'
import { parseTorrent } from '../torrent/parse-torrent.js'
import { rawPublisherKey } from '../levels/strict.js'
import {
  currentTimestampKeys, forgeSeedKey, startForeignSeed, forgeTimestamp, forgeWithOnlineKeys, olderTargetsAsCurrent, otherCaCertificate, publisherCertificate, recordRepository, startMirror, type MirrorOptions
} from './update-mirror.js'

const SIZE = 4 * 2 ** 20
/** The swarm bound of the demo's client: short, so the blocked-swarm and bad-peer steps are quick. */
const SWARM_IDLE_MS = 2000

function say (line: string): void { process.stdout.write(line + '\n') }

/**
 * A loopback port in front of the release seeds, which the demo can block as a censor would: new
 * connections are reset, live ones cut.
 */
class Censor {
  private blocked = false
  private readonly sockets = new Set<net.Socket>()
  private constructor (private readonly server: net.Server, private target: number) {}

  static async start (): Promise<Censor> {
    let censor: Censor | undefined
    const server = net.createServer(s => censor!.accept(s))
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    censor = new Censor(server, 0)
    return censor
  }

  get port (): number { return (this.server.address() as net.AddressInfo).port }
  forwardTo (port: number): void { this.target = port }

  block (): void {
    this.blocked = true
    for (const s of this.sockets) s.resetAndDestroy()
  }

  private accept (s: net.Socket): void {
    if (this.blocked) { s.resetAndDestroy(); return }
    const upstream = net.connect(this.target, '127.0.0.1')
    for (const [a, b] of [[s, upstream], [upstream, s]] as const) {
      this.sockets.add(a)
      a.on('error', () => b.destroy())
      a.on('close', () => { this.sockets.delete(a); b.destroy() })
      a.pipe(b)
    }
  }

  async close (): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }
}

async function main (): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'bttls-updates-demo-'))
  const closers: Array<() => Promise<void>> = []
  let failures = 0
  try {
    const repo = join(dir, 'repo')
    const offline = join(dir, 'offline-keys')
    const client = join(dir, 'client')
    say('bttls secure updates demo: TUF metadata, releases over Strict bttls swarms, pinned HTTPS fallback (all on loopback)')
    const init = await initRepository({ repo, offlineKeys: offline, keys: { root: 2 }, thresholds: { root: 1 } })
    say(`  publisher   repository ${repo}; root and targets keys in ${offline} (to keep offline)`)
    say(`              HTTPS pin (SPKI SHA-256 of the publisher's CA): ${init.caPin}`)
    const publish = async (version: string): Promise<Buffer> => {
      const data = randomBytes(SIZE)
      await writeFile(join(dir, 'app.bin'), data)
      const r = await addRelease({ repo, offlineKeys: offline, file: join(dir, 'app.bin'), version })
      say(`  release     ${r.path}: ${r.length} bytes, sha256 ${r.sha256.slice(0, 16)}…, torrent ${r.magnet.slice(0, 60)}… (Strict publisher)`)
      return data
    }
    const v1 = await publish('1.0.0')
    const censor = await Censor.start()
    closers.push(() => censor.close())
    const server = await ReleaseServer.start({ repo, advertisePort: censor.port })
    closers.push(() => server.close())
    censor.forwardTo(server.session.port)
    say(`  server      ${server.url} (metadata, fallback files), seeds on 127.0.0.1:${censor.port} (through a censor we control)`)

    const root = await readFile(init.rootFile)
    const caPem = await readFile(init.caFile, 'utf8')
    const options = (extra: Partial<UpdateOptions> = {}): UpdateOptions => ({
      dir: client, repository: server.url, trustedRoot: root, pins: [parsePin(init.caPin)!], ca: [caPem], swarmIdleMs: SWARM_IDLE_MS, ...extra
    })
    const check = (ok: boolean, text: string): void => { if (!ok) failures++; say(`  ${ok ? '✓' : '✗'} ${text}`) }
    const installed = async (): Promise<string | undefined> => (await readlink(join(client, 'current')).catch(() => undefined))?.split('/').pop()

    let started = Date.now()
    const first = await update(options())
    check(first.status === 'installed' && first.via === 'swarm' && (await readFile(join(client, 'current', 'app.bin'))).equals(v1),
      `update 1: ${JSON.stringify(first)} in ${Date.now() - started} ms`)

    const recorded = await recordRepository(repo, join(dir, 'recorded-1.0.0'))
    const v2 = await publish('1.1.0')
    await server.rescan()
    censor.block()
    say('  censor      the swarm is blocked (connections reset)')
    started = Date.now()
    const second = await update(options())
    const ms = Date.now() - started
    check(second.status === 'installed' && second.via === 'https' && ms < SWARM_IDLE_MS + 3000 && (await readFile(join(client, 'current', 'app.bin'))).equals(v2),
      `update 2: ${JSON.stringify(second)} after ${ms} ms (swarm bound ${SWARM_IDLE_MS} ms)`)

    say('attacks (each must be refused, with DIR/current unchanged):')
    const attack = async (name: string, expected: string, run: () => Promise<unknown>): Promise<void> => {
      const before = await installed()
      const err = await run().then(() => undefined, (e: unknown) => e as Error & { code?: string })
      const after = await installed()
      check(err?.name === expected && before === after,
        `${name.padEnd(34)} ${err === undefined ? 'NOT REFUSED' : `refused: ${err.name} (${err.code}): ${err.message.slice(0, 110)}`}; current ${after ?? '(none)'}`)
    }
    const mirror = async (o: Partial<MirrorOptions>): Promise<string> => {
      const m = await startMirror({ ...await publisherCertificate(repo), dir: repo, ...o })
      closers.push(() => m.close())
      return m.url
    }
    const freshClient = (name: string): Partial<UpdateOptions> => ({ dir: join(dir, name), swarm: false })

    await attack('rollback (older metadata replayed)', 'RollbackAttackError', async () => await update(options({ repository: await mirror({ dir: recorded }), swarm: false })))
    await refreshTimestamp(repo, { now: new Date(Date.now() - 2 * 86_400_000), force: true })
    await attack('freeze (expired metadata replayed)', 'UpdatesWithheldError', async () => await update(options({ repository: await mirror({}), ...freshClient('client-freeze') })))
    await refreshTimestamp(repo, { force: true })
    await attack('arbitrary package from a mirror', 'TargetMismatchError', async () => await update(options({
      repository: await mirror({ override: p => p.startsWith('/targets/') ? randomBytes(SIZE) : undefined }), ...freshClient('client-arbitrary')
    })))
    await attack('endless data', 'DownloadTooLongError', async () => await update(options({
      repository: await mirror({ override: p => p.startsWith('/targets/') ? 'endless' : undefined }), ...freshClient('client-endless')
    })))
    const mixed = await olderTargetsAsCurrent(repo)
    await attack('mix-and-match', 'InconsistentMetadataError', async () => await update(options({ repository: await mirror({ override: p => mixed.get(p) }), ...freshClient('client-mix') })))
    const forged = await forgeWithOnlineKeys(repo, randomBytes(1000))
    await attack('stolen timestamp + snapshot keys', 'MetadataSignatureError', async () => await update(options({ repository: await mirror({ override: p => forged.get(p) }), swarm: false })))
    const oldKeys = await currentTimestampKeys(repo)
    await rotateKeys({ repo, offlineKeys: offline, role: 'timestamp' })
    const stale = await forgeTimestamp(repo, oldKeys)
    await attack('old timestamp key after rotation', 'MetadataSignatureError', async () => await update(options({
      repository: await mirror({ override: p => p === '/metadata/timestamp.json' ? stale : undefined }), swarm: false
    })))
    const seedKeyForged = await forgeSeedKey(repo, rawPublisherKey(generateKeyPairSync('ed25519').privateKey))
    await attack('seed key named without targets key', 'MetadataSignatureError', async () => await update(options({ repository: await mirror({ override: p => seedKeyForged.get(p) }), ...freshClient('client-seedkey') })))
    const other = await otherCaCertificate()
    await attack('MITM, certificate of another CA', 'PinMismatchError', async () => await update(options({
      repository: await mirror({ cert: other.cert, key: other.key }), ca: [caPem, other.caPem], ...freshClient('client-mitm')
    })))

    // Peers: a stalling one, and one that has the release but cannot prove the publisher key.
    const stalled = new Set<net.Socket>()
    const stall = net.createServer(s => { stalled.add(s); s.on('error', () => {}) })
    await new Promise<void>(resolve => stall.listen(0, '127.0.0.1', resolve))
    closers.push(() => new Promise(resolve => { for (const s of stalled) s.destroy(); stall.close(() => resolve()) }))
    const insider = await Session.start({ host: '127.0.0.1', port: 0, pex: false, trackers: false })
    closers.push(() => insider.close())
    const releaseDir = join(repositoryPaths(repo).targets, '1.1.0')
    await insider.addTorrent(parseTorrent(await readFile(join(releaseDir, 'app.bin.torrent'))), releaseDir)
    const foreign = await startForeignSeed(join(releaseDir, 'app.bin.torrent'), generateKeyPairSync('ed25519').privateKey)
    closers.push(() => foreign.close())
    const refusal: Record<string, string> = { 'stalling peer': 'no data', 'peer that is not the publisher': 'PublisherRequiredError', 'seed proving another key': 'PublisherProofError' }
    for (const [name, port] of [['stalling peer', (stall.address() as net.AddressInfo).port], ['peer that is not the publisher', insider.port], ['seed proving another key', foreign.port]] as const) {
      const m = await mirror({ override: p => p === '/seeds.json' ? encodePeerList([{ host: '127.0.0.1', port }]) : undefined })
      started = Date.now()
      const r = await update(options({ repository: m, dir: join(dir, `client-${port}`) }))
      const log = await readFile(join(dir, `client-${port}`, 'update.log'), 'utf8')
      const refusedPeer = name === 'stalling peer' || log.includes(refusal[name]!)
      check(r.status === 'installed' && r.via === 'https' && refusedPeer,
        `${name.padEnd(34)} refused (${refusal[name]!}); HTTPS fallback after ${Date.now() - started} ms installed ${r.status === 'installed' ? r.version : '-'}`)
    }

    const back = await rollback({ dir: client })
    check(back.from === '1.1.0' && back.to === '1.0.0' && (await readFile(join(client, 'current', 'app.bin'))).equals(v1), `rollback: ${back.from} -> ${back.to}, 1.1.0 kept in releases/`)
    say(`update log: ${join(client, 'update.log')}; publication log: ${repositoryPaths(repo).log}`)
    say(failures === 0 ? 'all checks passed' : `${failures} check(s) FAILED`)
    return failures === 0 ? 0 : 1
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {})
    await rm(dir, { recursive: true, force: true })
  }
}

main().then(code => { process.exitCode = code }, err => {
  process.stderr.write(`demo failed: ${String(err?.stack ?? err)}\n`)
  process.exitCode = 1
})
