/**
 * The first bytes of an inbound connection, read (bounded in bytes and time) until they say which
 * protocol it speaks (sniff.ts): TLS, plaintext BitTorrent, or, by elimination, MSE.
 */
import type net from 'node:net'
import { UnrecognizedProtocolError } from '../errors.js'
import type { Deadline } from '../handshake/deadline.js'
import { SNIFF_MAX_BYTES, sniff } from '../protocol/sniff.js'
import type { TransportKind } from './peer-link.js'

export function classify (first: Buffer): TransportKind {
  const kind = sniff(first)
  return kind === 'need-more' ? 'mse' : kind
}

/** Reads until sniff() can decide or SNIFF_MAX_BYTES arrived, before the deadline; leaves the socket paused. */
export function readFirstBytes (raw: net.Socket, deadline: Deadline): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0)
    const finish = (err: Error | null): void => {
      stopWatch()
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
    const stopWatch = deadline.whenExpired(() => finish(deadline.timeout('too few bytes to recognise a protocol')))
    raw.on('data', onData)
    raw.once('close', onClose)
    raw.resume()
  })
}
