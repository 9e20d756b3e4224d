/** Errors raised by the codecs: they describe untrusted bytes, never a bug. */
import { BttlsError } from '../errors.js'

/** Bytes that are not well-formed bencode, or that nest deeper than we accept. */
export class MalformedBencodeError extends BttlsError {
  override name = 'MalformedBencodeError'
  readonly code = 'ERR_MALFORMED_BENCODE'
}
