/**
 * bttls transfers through the built CLI, one seeder and one leecher per file, both under
 * `--policy require-tls`, each flow on its own loopback address: Basic, Strict (`create
 * --strict-secret`) and Full Strict (`ca create`, `create --full-strict --ca`, peer certificates
 * issued by that CA as a secure tracker would, passed with --cert/--key), with the piece length
 * varying too (plan.ts). Each seeder serves one warm-up download before its flow (see setUp).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createPeerKeyAndCsr, issuePeerCertificate } from '../../src/pki/certificate-profile.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import type { Peer } from '../../interop/lib/processes.js'
import { bttlsCaCreate, bttlsCreate, bttlsGet, bttlsSeed, infohashNeedles } from './bttls-cli.js'
import type { PlannedFlow, TrafficContext } from './flows.js'
import { bttlsVariant, sizeLabel } from './plan.js'

export const BTTLS_FIRST_PORT = 29100

/** Seeder i listens on 127.0.0.(20 + i); its leecher on 127.0.1.(20 + i), its warm-up leecher on 127.0.2.(20 + i). */
const seederHost = (i: number): string => `127.0.0.${20 + (i % 200)}`
const leecherHost = (i: number): string => `127.0.1.${20 + (i % 200)}`
const warmUpHost = (i: number): string => `127.0.2.${20 + (i % 200)}`

async function peerCertificate (ca: { certPem: string, keyPem: string }, torrentFile: string, dir: string, name: string): Promise<string[]> {
  const torrent = parseTorrent(await readFile(torrentFile))
  const { keyPem, csrDer } = await createPeerKeyAndCsr(name)
  const { certPem } = await issuePeerCertificate({ ca, csrDer, torrent, lifetimeSeconds: 86_400 })
  const cert = join(dir, `${name}.pem`)
  const key = join(dir, `${name}.key`)
  await writeFile(cert, certPem)
  await writeFile(key, keyPem, { mode: 0o600 })
  return ['--cert', cert, '--key', key]
}

export async function planBttlsFlows (ctx: TrafficContext): Promise<PlannedFlow[]> {
  const caDir = join(ctx.dir, 'bttls-ca')
  let ca: { certPem: string, keyPem: string } | undefined
  const flows: PlannedFlow[] = []
  for (const [i, file] of ctx.files.entries()) {
    const { level, pieceLength } = bttlsVariant(i)
    const dir = join(ctx.dir, 'bttls', String(i))
    await mkdir(dir, { recursive: true })
    const torrent = join(dir, `${file.name}.torrent`)
    const levelFlags: string[] = []
    if (level === 'strict') levelFlags.push('--strict-secret')
    if (level === 'full-strict') {
      if (ca === undefined) {
        bttlsCaCreate(caDir)
        ca = { certPem: await readFile(join(caDir, 'ca.pem'), 'utf8'), keyPem: await readFile(join(caDir, 'ca.key'), 'utf8') }
      }
      levelFlags.push('--full-strict', '--ca', join(caDir, 'ca.pem'))
    }
    const created = bttlsCreate(file.path, torrent, [...levelFlags, ...(pieceLength !== undefined ? ['--piece-length', String(pieceLength)] : [])])
    const seedFlags = level === 'full-strict' ? await peerCertificate(ca!, torrent, dir, 'seeder') : []
    const getFlags = level === 'full-strict' ? await peerCertificate(ca!, torrent, dir, 'leecher') : []
    const server = { address: seederHost(i), port: BTTLS_FIRST_PORT + i }
    let seed: Peer | undefined
    flows.push({
      label: { kind: 'bttls', variant: `${level}, ${pieceLength === undefined ? 'default' : `${pieceLength / 1024} KiB`} pieces`, size: file.size },
      server,
      needles: infohashNeedles(created),
      setUp: async () => {
        seed = await bttlsSeed(ctx.procs, torrent, file.path, { host: server.address, port: server.port, policy: 'require-tls', extra: seedFlags, logPrefix: ctx.logFile(`bttls-seed-${i}`) })
        // The web servers are long-lived: by the time they serve a flow they have answered the hello
        // runs and the flows before it. A seeder that runs its first connection's JavaScript cold (not
        // yet compiled, no type feedback) answers several milliseconds later than one that has served
        // before, and a timing feature would measure process age, not the protocol. So the seeder
        // serves one download, from another address, before the flow's window opens. The leecher stays a
        // fresh process, as curl is.
        await bttlsGet(ctx.procs, torrent, join(dir, 'warm-up'), `${server.address}:${server.port}`, {
          host: warmUpHost(i), port: 0, policy: 'require-tls', extra: getFlags, logPrefix: ctx.logFile(`bttls-warm-up-${i}`), timeoutMs: 120_000
        })
      },
      transfer: () => bttlsGet(ctx.procs, torrent, join(dir, 'out'), `${server.address}:${server.port}`, {
        host: leecherHost(i), port: 0, policy: 'require-tls', extra: getFlags, logPrefix: ctx.logFile(`bttls-get-${i}`), timeoutMs: 120_000
      }),
      tearDown: async () => { if (seed !== undefined) await ctx.procs.stop(seed) }
    })
    ctx.log(`  planned bttls ${i}: ${sizeLabel(file.size)}, ${level}, ${pieceLength ?? 'default'} pieces`)
  }
  return flows
}
