/**
 * What a tuf-js refusal means, as one of our typed errors. tuf-js 5.0 throws its own classes for the
 * root and timestamp steps, but wraps whatever fails while loading the snapshot or the targets into a
 * RuntimeError that keeps only the text of the original ("Unable to load snapshot metadata error
 * Error: snapshot.json is expired"): those are recognised by the messages of the pinned tuf-js version
 * (test/updates-attacks.test.ts fails if a new version words them differently).
 */
import { BadVersionError, ExpiredMetadataError, DownloadHTTPError, DownloadLengthMismatchError } from 'tuf-js/dist/error.js'
import { BttlsError } from '../errors.js'
import {
  InconsistentMetadataError, MalformedMetadataError, MetadataSignatureError, RepositoryUnreachableError, RollbackAttackError, UpdatesWithheldError, DownloadTooLongError
} from './errors.js'

const BY_TEXT: ReadonlyArray<[RegExp, (m: string) => BttlsError]> = [
  [/is expired/, m => new UpdatesWithheldError(`updates are being withheld: ${m} (old metadata replayed, or the publisher stopped signing)`)],
  [/does not match snapshot version|doesn't match timestamp|Expected hash|Expected length|Missing file|Missing \S+ in snapshot/, m => new InconsistentMetadataError(`metadata from different times: ${m}`)],
  [/less than current version/, m => new RollbackAttackError(`older metadata replayed: ${m}`)],
  [/signature|signed by \d+\/\d+ keys/, m => new MetadataSignatureError(`metadata not signed by its role's keys: ${m}`)],
  [/Max length reached/, m => new DownloadTooLongError(`metadata longer than its bound: ${m}`)]
]

function byText (message: string): BttlsError | undefined {
  for (const [re, make] of BY_TEXT) if (re.test(message)) return make(message)
  return undefined
}

/** Our typed error for a failure of the TUF client workflow; `ours` are the fetcher's own failures. */
export function updateErrorFrom (err: unknown, ours: readonly Error[] = []): Error {
  if (err instanceof BttlsError) return err
  const e = err instanceof Error ? err : new Error(String(err))
  // One of our fetcher's errors, passed through tuf-js as text only.
  const own = ours.find(o => e.message.includes(o.message))
  if (own !== undefined) return own
  if (e instanceof ExpiredMetadataError) return new UpdatesWithheldError(`updates are being withheld: ${e.message} (old metadata replayed, or the publisher stopped signing)`, { cause: e })
  if (e instanceof DownloadHTTPError) return new RepositoryUnreachableError(e.message, { cause: e })
  if (e instanceof DownloadLengthMismatchError) return new DownloadTooLongError(e.message, { cause: e })
  const typed = byText(e.message)
  if (typed !== undefined) return typed
  if (e instanceof BadVersionError) return new RollbackAttackError(`older metadata replayed: ${e.message}`, { cause: e })
  return new MalformedMetadataError(`the repository's metadata was refused: ${e.message}`, { cause: e })
}
