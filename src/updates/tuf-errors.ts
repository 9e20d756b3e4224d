/**
 * What a tuf-js refusal means, as one of our typed errors, decided by the error's class (tuf-js's
 * `dist/error.js` and @tufjs/models' `dist/error.js`), never by its text.
 *
 * tuf-js 5.0 throws its classes unchanged from the root and timestamp steps, but wraps whatever
 * fails while loading the snapshot or the targets into a RuntimeError that keeps only the original's
 * text ("Unable to load snapshot metadata error Error: ..."). The class is recovered by a witness
 * (TufErrorWitness) that sees every call tuf-js makes on its trusted metadata store and on our
 * fetcher during a refresh: when a wrapping RuntimeError arrives, the last of those calls failed and
 * its error is the one wrapped (tuf-js catches it, wraps it and throws; any call that succeeds after a
 * failure clears it, so a failure tuf-js swallowed, such as the 404 that ends the root chain or a
 * stale local snapshot, is never taken for the cause).
 */
import type { Fetcher, Updater } from 'tuf-js'
import type { TrustedMetadataStore } from 'tuf-js/dist/store.js'
import {
  BadVersionError, DownloadError, DownloadHTTPError, DownloadLengthMismatchError, ExpiredMetadataError, RepositoryError, RuntimeError
} from 'tuf-js/dist/error.js'
import { LengthOrHashMismatchError, RepositoryError as ModelsRepositoryError, UnsignedMetadataError } from '@tufjs/models/dist/error.js'
import { BttlsError } from '../errors.js'
import {
  DownloadTooLongError, InconsistentMetadataError, MalformedMetadataError, MetadataSignatureError, RepositoryUnreachableError,
  RollbackAttackError, UpdatesWithheldError
} from './errors.js'

/** The trusted metadata store's methods tuf-js calls with downloaded (or cached) bytes. */
type StoreStep = 'updateRoot' | 'updateTimestamp' | 'updateSnapshot' | 'updateDelegatedTargets'
const STORE_STEPS: readonly StoreStep[] = ['updateRoot', 'updateTimestamp', 'updateSnapshot', 'updateDelegatedTargets']

/** A failure the witness saw: the error as thrown, the step, and whether the store took the new snapshot before refusing. */
interface Witnessed {
  readonly error: unknown
  readonly step: StoreStep | 'fetch'
  readonly snapshotTaken: boolean
}

export class TufErrorWitness {
  private last: Witnessed | undefined

  /** Watch `updater`'s trusted metadata store and `fetcher` (the one given to that updater). */
  constructor (updater: Updater, fetcher: Fetcher) {
    // tuf-js keeps the store in a private field; a tuf-js whose Updater no longer has it fails here,
    // on the first update, rather than classifying errors wrongly.
    const store = (updater as unknown as { trustedSet?: TrustedMetadataStore }).trustedSet
    if (store === undefined || !STORE_STEPS.every(s => typeof store[s] === 'function')) {
      throw new TypeError('tuf-js\'s Updater has no trusted metadata store this version of bttls knows (trustedSet.updateRoot...): check the pinned tuf-js version')
    }
    for (const step of STORE_STEPS) {
      const original = store[step].bind(store) as (...args: unknown[]) => unknown
      ;(store as unknown as Record<StoreStep, (...args: unknown[]) => unknown>)[step] = (...args) => {
        const before = store.snapshot
        try {
          const result = original(...args)
          this.last = undefined
          return result
        } catch (error) {
          this.last = { error, step, snapshotTaken: step === 'updateSnapshot' && store.snapshot !== before }
          throw error
        }
      }
    }
    for (const method of ['downloadBytes', 'downloadFile'] as const) {
      const original = fetcher[method].bind(fetcher) as (...args: unknown[]) => Promise<unknown>
      ;(fetcher as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[method] = async (...args) => {
        try {
          const result = await original(...args)
          this.last = undefined
          return result
        } catch (error) {
          this.last = { error, step: 'fetch', snapshotTaken: false }
          throw error
        }
      }
    }
  }

  /** Our typed error for a failure of the TUF client workflow (refresh, getTargetInfo). */
  errorFrom (err: unknown): Error {
    if (err instanceof RuntimeError && this.last !== undefined) return classify(this.last.error, this.last)
    return classify(err)
  }
}

const withheld = (e: Error): Error => new UpdatesWithheldError(`updates are being withheld: ${e.message} (old metadata replayed, or the publisher stopped signing)`, { cause: e })
const rollback = (e: Error): Error => new RollbackAttackError(`older metadata replayed: ${e.message}`, { cause: e })
const mixed = (e: Error): Error => new InconsistentMetadataError(`metadata from different times: ${e.message}`, { cause: e })

/**
 * The class of a tuf-js or @tufjs/models error, as ours. `where` says in which step it was thrown:
 * TUF uses BadVersionError both for a version going back (rollback) and for a version that is not the
 * one another role names (mix-and-match), and the step tells them apart.
 */
export function classify (err: unknown, where?: Pick<Witnessed, 'step' | 'snapshotTaken'>): Error {
  if (err instanceof BttlsError) return err
  const e = err instanceof Error ? err : new Error(String(err))
  if (e instanceof ExpiredMetadataError) return withheld(e)
  if (e instanceof BadVersionError) {
    // Targets whose version is not the snapshot's, or a snapshot accepted as signed whose version
    // is not the timestamp's: files of different times. Everywhere else a version went back.
    if (where?.step === 'updateDelegatedTargets' || where?.snapshotTaken === true) return mixed(e)
    return rollback(e)
  }
  if (e instanceof UnsignedMetadataError) return new MetadataSignatureError(`metadata not signed by its role's keys: ${e.message}`, { cause: e })
  // Bytes that are not the length or hash the role before names; a role missing from the snapshot.
  if (e instanceof LengthOrHashMismatchError || e instanceof RepositoryError || e instanceof ModelsRepositoryError) return mixed(e)
  if (e instanceof DownloadLengthMismatchError) return new DownloadTooLongError(e.message, { cause: e })
  if (e instanceof DownloadHTTPError || e instanceof DownloadError) return new RepositoryUnreachableError(e.message, { cause: e })
  // ValueError, TypeError, SyntaxError (JSON), CryptoError: not TUF metadata we can read.
  return new MalformedMetadataError(`the repository's metadata was refused: ${e.name}: ${e.message}`, { cause: e })
}
