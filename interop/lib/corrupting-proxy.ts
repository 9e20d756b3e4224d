/**
 * A TCP relay for plaintext BitTorrent that spoils data on its way to the downloader: a `piece` message
 * from the seed comes out with one bit of its block flipped. What a faulty path or a lying peer
 * looks like from the downloader's side, while the seed behind it stays honest and answers hash
 * requests truthfully.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net'

const HANDSHAKE_LENGTH = 68
const PIECE_ID = 7

export interface CorruptingProxy {
  /** Blocks spoiled so far. */
  readonly corrupted: () => number
  close: () => Promise<void>
}

/**
 * Listens on `host:listenPort` (a loopback address of its own, so a client's ban of it is not of the seed's
 * address too). Spoils the first `maxCorrupted` blocks it carries, then relays the rest as they are.
 */
export async function corruptingProxy (host: string, listenPort: number, targetPort: number, maxCorrupted = Infinity): Promise<CorruptingProxy> {
  let corrupted = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer(client => {
    const seed = createConnection({ host: '127.0.0.1', port: targetPort })
    for (const s of [client, seed]) {
      sockets.add(s)
      s.on('error', () => { client.destroy(); seed.destroy() })
      s.on('close', () => { sockets.delete(s); client.destroy(); seed.destroy() })
    }
    client.pipe(seed)
    // Seed to downloader: the handshake as it is, then message by message, in order.
    let pending = Buffer.alloc(0)
    let handshakeLeft = HANDSHAKE_LENGTH
    seed.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk])
      const out: Buffer[] = []
      if (handshakeLeft > 0) {
        const take = Math.min(handshakeLeft, pending.length)
        out.push(pending.subarray(0, take))
        pending = pending.subarray(take)
        handshakeLeft -= take
      }
      while (handshakeLeft === 0 && pending.length >= 4) {
        const length = pending.readUInt32BE(0)
        if (pending.length < 4 + length) break
        const message = Buffer.from(pending.subarray(0, 4 + length))
        pending = pending.subarray(4 + length)
        if (length > 9 && message[4] === PIECE_ID && corrupted < maxCorrupted) {
          message[13]! ^= 1
          corrupted++
        }
        out.push(message)
      }
      if (!client.destroyed && out.length > 0) client.write(Buffer.concat(out))
    })
  })
  await new Promise<void>((resolve, reject) => server.listen(listenPort, host, resolve).once('error', reject))
  return {
    corrupted: () => corrupted,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}
