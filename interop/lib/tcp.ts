/** Loopback port helpers that never connect (a probe connection would be a peer to the client). */
import { readFile } from 'node:fs/promises'

/** Whether something listens on TCP `port` (IPv4 or IPv6), from /proc/net/tcp{,6}. */
export async function isListening (port: number): Promise<boolean> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(file, 'utf8').catch(() => '')
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/)
      if (cols[3] === '0A' && cols[1]?.endsWith(`:${hex}`)) return true
    }
  }
  return false
}

export async function waitListening (port: number, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await isListening(port))) {
    if (!alive()) throw new Error(`process exited before listening on port ${port}`)
    if (Date.now() > deadline) throw new Error(`nothing listening on port ${port} after ${timeoutMs / 1000} s`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}
