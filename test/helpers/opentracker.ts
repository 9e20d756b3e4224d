/**
 * Debian's opentracker for tests: a real HTTP and UDP (BEP 15) tracker on 127.0.0.1, whitelisting the
 * infohashes given (Debian builds it whitelist-only). It chroots into a temporary directory and drops
 * to `nobody`, so the directory is world-readable. Tests skip with the reason when it is missing.
 */
import { spawn, spawnSync } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { chmod, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { join } from 'node:path'
import type { Test } from 'tap'
import { tempDir } from './session-pair.js'
import { waitListening } from '../../interop/lib/tcp.js'
import { waitWhitelistLoaded } from '../../interop/lib/opentracker.js'

export interface Opentracker { readonly httpUrl: string, readonly udpUrl: string, readonly port: number }

/** Why opentracker cannot run here, or undefined when it can. */
export function opentrackerMissing (): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v opentracker'], { encoding: 'utf8' })
  return r.status === 0 ? undefined : 'opentracker is not installed (Debian package opentracker; interop/install.sh installs it)'
}

export async function startOpentracker (t: Test, infoHashesHex: readonly string[]): Promise<Opentracker> {
  const dir = await tempDir(t)
  await chmod(dir, 0o755)
  await writeFile(join(dir, 'whitelist.txt'), infoHashesHex.map(h => `${h}\n`).join(''))
  await chmod(join(dir, 'whitelist.txt'), 0o644) // read by `nobody` after the chroot, whatever the umask
  const port = await freePort()
  const child = spawn('opentracker', ['-i', '127.0.0.1', '-p', String(port), '-P', String(port), '-d', dir, '-w', 'whitelist.txt'], { stdio: 'ignore' })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGTERM') })
  const running = (): boolean => child.exitCode === null
  await waitListening(port, 5000, running)
  await waitWhitelistLoaded(`http://127.0.0.1:${port}/announce`, infoHashesHex, 5000, running)
  return { httpUrl: `http://127.0.0.1:${port}/announce`, udpUrl: `udp://127.0.0.1:${port}/announce`, port }
}

/** A port free for both TCP and UDP on 127.0.0.1 (opentracker uses one of each). */
async function freePort (): Promise<number> {
  for (;;) {
    const server = net.createServer()
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as net.AddressInfo).port
    await new Promise<void>(resolve => server.close(() => resolve()))
    const udp = createSocket('udp4')
    const free = await new Promise<boolean>(resolve => { udp.once('error', () => resolve(false)); udp.bind(port, '127.0.0.1', () => resolve(true)) })
    await new Promise<void>(resolve => { try { udp.close(() => resolve()) } catch { resolve() } })
    if (free) return port
  }
}
