/**
 * The responder side of the handshake, latency and scale benches, in its own process: a Session on
 * 127.0.0.1 seeding the fixture's torrents (bench/fixtures.ts) at their levels, policy prefer-tls so
 * TLS, MSE and plaintext are all accepted. Commands on stdin (one per line), answers on stdout:
 *
 *   cpu     {cpuSeconds, userSeconds, systemSeconds} since the previous `cpu` (or start)
 *   memory  process.memoryUsage() after two full GCs (needs --expose-gc), and the live links
 *   limits  the open-files limit this process runs under
 *
 *   node [--expose-gc] dist/bench/serve.js FIXTURE.json [LEVEL,...]
 */
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { Session } from '../src/session/session.js'
import { credentialsFor, LEVELS, loadFixture, loadTorrent, type LevelKey } from './fixtures.js'
import { emit } from './json-child.js'

async function main (): Promise<void> {
  const fixture = await loadFixture(process.argv[2] ?? '')
  const levels = (process.argv[3]?.split(',') ?? LEVELS) as LevelKey[]
  // Idle links stay open: two seeds would otherwise drop each other once both said they are complete.
  const session = await Session.start({ port: 0, host: '127.0.0.1', policy: 'prefer-tls', swarm: { closeSeedLinks: false } })
  for (const level of levels) await session.addTorrent(await loadTorrent(fixture, level), fixture.seedDir, credentialsFor(fixture, level, 'server'))
  let links = 0
  session.on('link', link => { links++; void link.closed.then(() => { links-- }) })
  let refused = 0
  session.on('refused', () => { refused++ })
  let cpu = process.cpuUsage()

  createInterface({ input: process.stdin }).on('line', line => {
    const command = line.trim()
    if (command === 'cpu') {
      const { user, system } = process.cpuUsage(cpu)
      cpu = process.cpuUsage()
      emit('cpu', { cpuSeconds: (user + system) / 1e6, userSeconds: user / 1e6, systemSeconds: system / 1e6 })
    } else if (command === 'memory') {
      const gc = (globalThis as { gc?: () => void }).gc
      gc?.(); gc?.()
      emit('memory', { ...process.memoryUsage(), links, refused, gc: gc !== undefined })
    } else if (command === 'limits') {
      const row = readFileSync('/proc/self/limits', 'utf8').split('\n').find(l => l.startsWith('Max open files'))
      const [soft, hard] = row?.split(/\s{2,}/).slice(1, 3) ?? []
      emit('limits', { openFilesSoft: Number(soft), openFilesHard: Number(hard) })
    }
  }).on('close', () => { void session.close().then(() => process.exit(0)) })

  emit('ready', { port: session.port, levels })
}

main().catch(err => {
  emit('error', { message: (err as Error).stack ?? String(err) })
  process.exit(1)
})
