/**
 * Reads the first TLS record of a connection without consuming it, so the listener can see the whole
 * ClientHello (its SNI selects libtorrent's profile) before handing the socket to a TLS stack.
 * Bounded: one record is at most 2^14 + 5 bytes (anything announcing more is not read on), and by
 * the deadline.
 */
import type { Socket } from 'node:net'
import { UnrecognizedProtocolError } from '../errors.js'
import type { Deadline } from '../handshake/deadline.js'
import { MAX_RECORD_PAYLOAD } from '../protocol/constants.js'

export function peekFirstRecord (raw: Socket, deadline: Deadline): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0)
    const need = (): number => buffered.length >= 5 ? 5 + buffered.readUInt16BE(3) : Infinity
    const finish = (err: Error | null): void => {
      stopWatch()
      raw.off('data', onData)
      raw.off('close', onClose)
      raw.pause()
      raw.unshift(buffered)
      if (err) reject(err)
      else resolve(buffered.subarray(0, need()))
    }
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk])
      // Not a handshake record of a plausible size: no ClientHello to read, the TLS stack answers it.
      const notHello = buffered[0] !== 0x16 || (buffered.length >= 5 && buffered.readUInt16BE(3) > MAX_RECORD_PAYLOAD)
      if (notHello || buffered.length >= need()) finish(null)
    }
    const onClose = (): void => finish(new UnrecognizedProtocolError('connection closed inside its first TLS record'))
    const stopWatch = deadline.whenExpired(() => finish(deadline.timeout('first TLS record not complete')))
    raw.on('data', onData)
    raw.once('close', onClose)
    raw.resume()
  })
}
