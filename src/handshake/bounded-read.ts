/**
 * The handshake's reads: exact lengths from a stream before the connection's deadline (deadline.ts),
 * leaving any further bytes in the stream's buffer for whoever reads next (the peer wire). Every
 * handshake read goes through here, so each step is bounded in bytes and in time.
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
 * One wait for the whole message, each part taken as soon as it is readable: the AuthReply comes in
 * one record, so this is one wait and one set of listeners, not one per part.
 */
export function readAuthMessage (stream: Duplex, deadline: Deadline, what: string, level?: LevelName): Promise<Buffer> {
  const steps = authMessageParts(what, level)
  const parts: Buffer[] = []
  let part = steps.next().value as Part
  return whenReadable(stream, deadline, () => part.what, () => {
    for (;;) {
      const bytes = takeExactly(stream, part.length, part.what)
      if (bytes === NOT_YET) return NOT_YET
      parts.push(bytes)
      const step = steps.next(bytes)
      if (step.done === true) return Buffer.concat(parts)
      part = step.value
    }
  }, () => { throw deadline.timeout(`no ${part.what}`) })
}

interface Part { readonly length: number, readonly what: string }

/** The parts of an auth message in order: yields each part's length, is given its bytes. */
function * authMessageParts (what: string, level: LevelName | undefined): Generator<Part, void, Buffer> {
  const fixed = yield { length: AUTH_MESSAGE_LENGTH, what }
  if (fixed.subarray(0, HTTP_STATUS_PREFIX.length).equals(HTTP_STATUS_PREFIX)) {
    throw new DecoyAnswerError(`the peer answered with an HTTP response instead of ${what}`)
  }
  // A bad header is refused now, not after waiting for what its flags announce.
  const header = decodeHeader(fixed)
  if (level !== undefined && header.level !== level) throw new LevelMismatchError(`${what} at level ${header.level}, we asked for ${level}`)
  const more = extensionLength(fixed)
  const last = more > 0 ? yield { length: more, what: `the rest of ${what}` } : fixed
  if (hasCertificateBlock(fixed)) {
    const block = certificateBlockLength(last)
    if (block > 0) yield { length: block, what: `the certificate block of ${what}` }
  }
  const padding = paddingLength(yield { length: AUTH_PADDING_LENGTH_SIZE, what: `the padding length of ${what}` })
  if (padding > 0) yield { length: padding, what: `the padding of ${what}` }
}

/**
 * The responder's read of an AuthHello: whatever the first application data brings, in one read, and
 * nothing more (BEP: the AuthHello is the whole first record). How much is read never depends on what
 * the bytes say, so a prober learns nothing from when we stop reading. `undefined` when nothing came
 * before the deadline; a close before any byte is a PeerClosedError.
 */
export function readFirstRecord (stream: Duplex, deadline: Deadline): Promise<Buffer | undefined> {
  return whenReadable<Buffer | undefined>(stream, deadline, () => 'any application data', () => (stream.read() as Buffer | null) ?? NOT_YET, () => undefined)
}

const NOT_YET = Symbol('not yet')

/** `length` bytes from the stream's buffer, or NOT_YET; fewer at the end of the stream is a PeerClosedError. */
function takeExactly (stream: Duplex, length: number, what: string): Buffer | typeof NOT_YET {
  const bytes = stream.read(length) as Buffer | null
  if (bytes === null) return NOT_YET
  if (bytes.length < length) throw new PeerClosedError(`peer closed after ${bytes.length} of the ${length} bytes of ${what}`)
  return bytes
}

/**
 * Waits, until the deadline, for `take` to get its result from the stream's buffer (it is tried now
 * and on every 'readable'); at the deadline, what `onTimeout` returns or throws settles
 * it. The stream ending or failing first is a PeerClosedError naming `what()`, what it was waiting for
 * then, also when it ended or closed before the wait began (the responder yields a turn after the TLS
 * handshake, in which a peer's close can come): no event would tell us, and the wait would last until
 * the deadline. Every listener is removed when it settles.
 */
function whenReadable<T> (stream: Duplex, deadline: Deadline, what: () => string, take: () => T | typeof NOT_YET, onTimeout: () => T): Promise<T> {
  return new Promise((resolve, reject) => {
    let settled = false
    const finish = (settle: () => T): void => {
      settled = true
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
    const onEnd = (): void => finish(() => { throw new PeerClosedError(`peer closed the connection before sending ${what()}`) })
    const onError = (err: Error): void => finish(() => { throw new PeerClosedError(`connection failed while waiting for ${what()}: ${err.message}`, { cause: err }) })
    const stopWatch = deadline.whenExpired(() => finish(onTimeout))
    stream.on('readable', tryRead)
    stream.once('end', onEnd)
    stream.once('close', onEnd)
    stream.once('error', onError)
    tryRead()
    if (!settled && (stream.readableEnded || stream.destroyed)) onEnd()
  })
}
