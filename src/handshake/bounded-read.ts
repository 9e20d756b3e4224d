/**
 * Reads exactly `length` bytes from a stream within `timeoutMs`, leaving any further bytes in the
 * stream's buffer for whoever reads next (the peer wire). Every handshake read goes through here, so
 * each step is bounded in bytes and in time.
 */
import type { Duplex } from 'node:stream'
import { HandshakeTimeoutError, PeerClosedError } from '../errors.js'
import { certificateBlockLength, extensionLength, hasCertificateBlock } from './auth-message.js'
import { AUTH_MESSAGE_LENGTH } from './constants.js'

/**
 * An AuthHello or AuthReply: the fixed 36 bytes, then the extension its flags announce. One deadline
 * covers the whole message, however many reads it takes.
 */
export async function readAuthMessage (stream: Duplex, timeoutMs: number, what: string): Promise<Buffer> {
  const deadline = Date.now() + timeoutMs
  const left = (): number => Math.max(1, deadline - Date.now())
  const fixed = await readExactly(stream, AUTH_MESSAGE_LENGTH, timeoutMs, what)
  const more = extensionLength(fixed)
  if (more === 0) return fixed
  const head = Buffer.concat([fixed, await readExactly(stream, more, left(), `the rest of ${what}`)])
  if (!hasCertificateBlock(fixed)) return head
  const block = certificateBlockLength(head)
  return block === 0 ? head : Buffer.concat([head, await readExactly(stream, block, left(), `the certificate block of ${what}`)])
}

export function readExactly (stream: Duplex, length: number, timeoutMs: number, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const finish = (err: Error | null, bytes?: Buffer): void => {
      clearTimeout(timer)
      stream.off('readable', tryRead)
      stream.off('end', onEnd)
      stream.off('close', onEnd)
      stream.off('error', onError)
      if (err) reject(err)
      else resolve(bytes!)
    }
    const tryRead = (): void => {
      const bytes = stream.read(length) as Buffer | null
      if (bytes === null) return
      if (bytes.length < length) finish(new PeerClosedError(`peer closed after ${bytes.length} of the ${length} bytes of ${what}`))
      else finish(null, bytes)
    }
    const onEnd = (): void => finish(new PeerClosedError(`peer closed the connection before sending ${what}`))
    const onError = (err: Error): void => finish(new PeerClosedError(`connection failed while waiting for ${what}: ${err.message}`, { cause: err }))
    const timer = setTimeout(() => finish(new HandshakeTimeoutError(`no ${what} within ${timeoutMs} ms`)), timeoutMs)
    stream.on('readable', tryRead)
    stream.once('end', onEnd)
    stream.once('close', onEnd)
    stream.once('error', onError)
    tryRead()
  })
}
