/**
 * The responder side of the handshake, latency and scale benches, in its own process: a Session on
 * 127.0.0.1 seeding the fixture's torrents (bench/fixtures.ts) at their levels, policy prefer-tls so
 * TLS, MSE and plaintext are all accepted. Commands on stdin (one per line), answers on stdout:
 *
 *   cpu     {cpuSeconds, userSeconds, systemSeconds} since the previous `cpu` (or start)
 *   memory  process.memoryUsage() after two full GCs (needs --expose-gc), and the live links
 *   limits  the open-files limit this process runs under
 *   heap    writes a heap snapshot (after two full GCs if --expose-gc) into the temp dir: {path}
 *
 * It also listens on two floor ports with nothing of bttls: a node:tls server with the responder's
 * context options and a generated certificate (as the bttls responder's), and a plain TCP server. Each
 * reads the initiator's 68 bytes (a BitTorrent handshake's size) and answers 68: what node:tls and
 * TCP alone cost per connection, for the handshake bench's floor rows.
 *
 *   node [--expose-gc] dist/bench/serve.js FIXTURE.json [LEVEL,...]
 */
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeHeapSnapshot } from 'node:v8'
import tls from 'node:tls'
import { createInterface } from 'node:readline'
import { Session } from '../src/session/session.js'
import { createResponderCertificate } from '../src/pki/responder-certificate.js'
import { responderContextOptions } from '../src/handshake/tls-profile.js'
import { credentialsFor, LEVELS, loadFixture, loadTorrent, type LevelKey } from './fixtures.js'
import { emit } from './json-child.js'
import { FLOOR_MESSAGE_BYTES } from './handshakes.js'

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
    } else if (command === 'heap') {
      const gc = (globalThis as { gc?: () => void }).gc
      gc?.(); gc?.()
      emit('heap', { path: writeHeapSnapshot(join(tmpdir(), `bttls-serve-${process.pid}-${Date.now()}.heapsnapshot`)) })
    } else if (command === 'limits') {
      const row = readFileSync('/proc/self/limits', 'utf8').split('\n').find(l => l.startsWith('Max open files'))
      const [soft, hard] = row?.split(/\s{2,}/).slice(1, 3) ?? []
      emit('limits', { openFilesSoft: Number(soft), openFilesHard: Number(hard) })
    }
  }).on('close', () => { void session.close().then(() => process.exit(0)) })

  const floor = async (server: net.Server): Promise<number> => {
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    return (server.address() as net.AddressInfo).port
  }
  const tlsFloorPort = await floor(tls.createServer({ ...responderContextOptions(), ...await createResponderCertificate(), noDelay: true }, answerFloor))
  const tcpFloorPort = await floor(net.createServer({ noDelay: true }, answerFloor))

  emit('ready', { port: session.port, levels, tlsFloorPort, tcpFloorPort })
}

/** A floor connection: FLOOR_MESSAGE_BYTES in, as many out, then whatever the initiator does. */
function answerFloor (socket: net.Socket): void {
  socket.on('error', () => {})
  let received = 0
  socket.on('data', (data: Buffer) => {
    received += data.length
    if (received >= FLOOR_MESSAGE_BYTES && received - data.length < FLOOR_MESSAGE_BYTES) socket.write(Buffer.alloc(FLOOR_MESSAGE_BYTES))
  })
}

main().catch(err => {
  emit('error', { message: (err as Error).stack ?? String(err) })
  process.exit(1)
})
