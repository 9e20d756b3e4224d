/**
 * The first bytes of an inbound connection, read (bounded in bytes and time) until they say which
 * protocol it speaks (sniff.ts): TLS, plaintext BitTorrent, or, by elimination, MSE.
 */
import type net from 'node:net'
import { HandshakeTimeoutError, UnrecognizedProtocolError } from '../errors.js'
import { SNIFF_MAX_BYTES, sniff } from '../protocol/sniff.js'
import type { TransportKind } from './peer-link.js'

export function classify (first: Buffer): TransportKind {
  const kind = sniff(first)
  return kind === 'need-more' ? 'mse' : kind
}

/** Reads until sniff() can decide or SNIFF_MAX_BYTES arrived, within the time bound; leaves the socket paused. */
export function readFirstBytes (raw: net.Socket, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0)
    const finish = (err: Error | null): void => {
      clearTimeout(timer)
      raw.off('data', onData)
      raw.off('close', onClose)
      raw.pause()
      if (err) reject(err)
      else resolve(buffered)
    }
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk])
      try {
        if (sniff(buffered) !== 'need-more' || buffered.length >= SNIFF_MAX_BYTES) finish(null)
      } catch (err) {
        finish(err as Error)
      }
    }
    const onClose = (): void => finish(new UnrecognizedProtocolError(`connection closed after ${buffered.length} bytes, before its protocol was known`))
    const timer = setTimeout(() => finish(new HandshakeTimeoutError(`too few bytes to recognise a protocol within ${timeoutMs} ms`)), timeoutMs)
    raw.on('data', onData)
    raw.once('close', onClose)
    raw.resume()
  })
}
