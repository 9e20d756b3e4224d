/**
 * Captures the first TLS record a client sends (its ClientHello) on a throwaway loopback listener that
 * answers nothing. The demo and the tests use it to compare our initiator's hello with the one Node's
 * own HTTPS client sends, which is what the BEP asks it to look like.
 */
import net from 'node:net'
import tls from 'node:tls'
import { ALPN_OFFER } from '../protocol/constants.js'

export async function captureClientHello (dial: (port: number) => net.Socket, timeoutMs = 5000): Promise<Buffer> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  try {
    const port = (server.address() as net.AddressInfo).port
    const accepted = new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ClientHello arrived')), timeoutMs)
      server.once('connection', socket => {
        let bytes = Buffer.alloc(0)
        socket.on('data', (chunk: Buffer) => {
          bytes = Buffer.concat([bytes, chunk])
          if (bytes.length >= 5 && bytes.length >= 5 + bytes.readUInt16BE(3)) {
            clearTimeout(timer)
            socket.destroy()
            resolve(bytes.subarray(0, 5 + bytes.readUInt16BE(3)))
          }
        })
        socket.on('error', () => {})
      })
    })
    const client = dial(port)
    client.on('error', () => {})
    try { return await accepted } finally { client.destroy() }
  } finally {
    server.close()
  }
}

/** The ClientHello of Node's own TLS client dialing an address, with a browser's ALPN list. */
export function stockClientHello (): Promise<Buffer> {
  return captureClientHello(port => tls.connect({ host: '127.0.0.1', port, ALPNProtocols: [...ALPN_OFFER], rejectUnauthorized: false }))
}
