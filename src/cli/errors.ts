/** Errors of the command line itself; everything below it reports its own BttlsError classes. */
import { BttlsError } from '../errors.js'

/** A command line that cannot be run as given (exit status 2, and the usage hint). */
export class UsageError extends BttlsError {
  override name = 'UsageError'
  readonly code = 'ERR_USAGE'
}

/** `bttls get` gave up: no peer can complete the download, or no data arrived for --stop-timeout. */
export class DownloadFailedError extends BttlsError {
  override name = 'DownloadFailedError'
  readonly code = 'ERR_DOWNLOAD_FAILED'
}
