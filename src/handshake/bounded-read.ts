/**
 * Reads exactly `length` bytes from a stream before the connection's deadline (deadline.ts), leaving
 * any further bytes in the stream's buffer for whoever reads next (the peer wire). Every handshake
 * read goes through here, so each step is bounded in bytes and in time.
 */
import type { Duplex } from 'node:stream'
import { DecoyAnswerError, LevelMismatchError, PeerClosedError } from '../errors.js'
import { certificateBlockLength, decodeHeader, extensionLength, hasCertificateBlock, paddingLength, type LevelName } from '../protocol/auth-message.js'
import { AUTH_MESSAGE_LENGTH, AUTH_PADDING_LENGTH_SIZE } from '../protocol/constants.js'
import type { Deadline } from './deadline.js'

/** How every HTTP/1.x response starts: a responder that does not know our swarm answers as its web site. */
const HTTP_STATUS_PREFIX = Buffer.from('HTTP/1.', 'latin1')

/**
 * The initiator's read of an AuthReply: the fixed 36 bytes, the extension its flags announce, then the
 * padding. The deadline covers the whole message, however many reads it takes; each length is bounded
 * before it is read. Bytes after the message (the responder's BitTorrent handshake, sent in the same
 * record) stay in the stream. With `level`, a message at another level is refused with its header too.
 */
export async function readAuthMessage (stream: Duplex, deadline: Deadline, what: string, level?: LevelName): Promise<Buffer> {
  const parts = [await readExactly(stream, AUTH_MESSAGE_LENGTH, deadline, what)]
  if (parts[0]!.subarray(0, HTTP_STATUS_PREFIX.length).equals(HTTP_STATUS_PREFIX)) {
    throw new DecoyAnswerError(`the peer answered with an HTTP response instead of ${what}`)
  }
  // A bad header is refused now, not after waiting for what its flags announce.
  const header = decodeHeader(parts[0]!)
  if (level !== undefined && header.level !== level) throw new LevelMismatchError(`${what} at level ${header.level}, we asked for ${level}`)
  const more = extensionLength(parts[0]!)
  if (more > 0) parts.push(await readExactly(stream, more, deadline, `the rest of ${what}`))
  if (hasCertificateBlock(parts[0]!)) {
    const block = certificateBlockLength(parts[parts.length - 1]!)
    if (block > 0) parts.push(await readExactly(stream, block, deadline, `the certificate block of ${what}`))
  }
  const prefix = await readExactly(stream, AUTH_PADDING_LENGTH_SIZE, deadline, `the padding length of ${what}`)
  parts.push(prefix)
  const padding = paddingLength(prefix)
  if (padding > 0) parts.push(await readExactly(stream, padding, deadline, `the padding of ${what}`))
  return Buffer.concat(parts)
}

/**
 * The responder's read of an AuthHello: whatever the first application data brings, in one read, and
 * nothing more (BEP: the AuthHello is the whole first record). How much is read never depends on what
 * the bytes say, so a prober learns nothing from when we stop reading. `undefined` when nothing came
 * before the deadline; a close before any byte is a PeerClosedError.
 */
export function readFirstRecord (stream: Duplex, deadline: Deadline): Promise<Buffer | undefined> {
  return whenReadable<Buffer | undefined>(stream, deadline, 'any application data', () => (stream.read() as Buffer | null) ?? NOT_YET, () => undefined)
}

export function readExactly (stream: Duplex, length: number, deadline: Deadline, what: string): Promise<Buffer> {
  return whenReadable(stream, deadline, what, () => {
    const bytes = stream.read(length) as Buffer | null
    if (bytes === null) return NOT_YET
    if (bytes.length < length) throw new PeerClosedError(`peer closed after ${bytes.length} of the ${length} bytes of ${what}`)
    return bytes
  }, () => { throw deadline.timeout(`no ${what}`) })
}

const NOT_YET = Symbol('not yet')

/**
 * Waits, until the deadline, for `take` to get its result from the stream's buffer (it is tried now
 * and on every 'readable'); at the deadline, what `onTimeout` returns or throws settles it. The stream
 * ending or failing first is a PeerClosedError. Every listener is removed when it settles.
 */
function whenReadable<T> (stream: Duplex, deadline: Deadline, what: string, take: () => T | typeof NOT_YET, onTimeout: () => T): Promise<T> {
  return new Promise((resolve, reject) => {
    const finish = (settle: () => T): void => {
      stopWatch()
      stream.off('readable', tryRead)
      stream.off('end', onEnd)
      stream.off('close', onEnd)
      stream.off('error', onError)
      try { resolve(settle()) } catch (err) { reject(err) }
    }
    const tryRead = (): void => {
      let result: T | typeof NOT_YET
      try { result = take() } catch (err) { finish(() => { throw err }); return }
      if (result !== NOT_YET) finish(() => result as T)
    }
    const onEnd = (): void => finish(() => { throw new PeerClosedError(`peer closed the connection before sending ${what}`) })
    const onError = (err: Error): void => finish(() => { throw new PeerClosedError(`connection failed while waiting for ${what}: ${err.message}`, { cause: err }) })
    const stopWatch = deadline.whenExpired(() => finish(onTimeout))
    stream.on('readable', tryRead)
    stream.once('end', onEnd)
    stream.once('close', onEnd)
    stream.once('error', onError)
    tryRead()
  })
}
