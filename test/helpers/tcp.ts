/** Real loopback TCP plumbing for tests: no mocks, every byte crosses a socket. */
import net from 'node:net'

/** A connected pair of TCP sockets on 127.0.0.1; the client's end bound to `localAddress` if given (127.0.0.0/8). */
export async function tcpPair (localAddress?: string): Promise<{ client: net.Socket, server: net.Socket }> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  const accepted = new Promise<net.Socket>(resolve => server.once('connection', resolve))
  const client = net.connect({ port, host: '127.0.0.1', ...(localAddress !== undefined ? { localAddress } : {}) })
  await new Promise<void>((resolve, reject) => { client.once('connect', resolve); client.once('error', reject) })
  const s = await accepted
  server.close()
  return { client, server: s }
}

/** Resolves with the error a promise rejects with; fails the test if it resolves. */
export async function rejection (p: Promise<unknown>): Promise<Error> {
  try { await p } catch (err) { return err as Error }
  throw new Error('expected a rejection, got a result')
}

/** Resolves when the socket is closed (fully destroyed). */
export function closed (socket: net.Socket): Promise<void> {
  return socket.destroyed ? Promise.resolve() : new Promise(resolve => socket.once('close', () => resolve()))
}
