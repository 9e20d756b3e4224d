/**
 * tuf-js errors become ours by their class alone: each class, with a message no tuf-js version ever
 * wrote, maps to the same typed error (the attacks that raise them for real are in updates-attacks).
 */
import t from 'tap'
import {
  BadVersionError, DownloadError, DownloadHTTPError, DownloadLengthMismatchError, EqualVersionError, ExpiredMetadataError, RepositoryError, RuntimeError, ValueError
} from 'tuf-js/dist/error.js'
import { LengthOrHashMismatchError, UnsignedMetadataError, ValueError as ModelsValueError } from '@tufjs/models/dist/error.js'
import { classify } from '../../src/updates/tuf-errors.js'
import { BttlsError } from '../../src/errors.js'
import { PinMismatchError } from '../../src/updates/errors.js'

const WORDS = 'words no tuf-js version uses'

t.test('each tuf-js and @tufjs/models error class maps to one typed error, whatever its message', async t => {
  const table: Array<[Error, Parameters<typeof classify>[1], string, string]> = [
    [new ExpiredMetadataError(WORDS), undefined, 'UpdatesWithheldError', 'ERR_UPDATES_WITHHELD'],
    [new BadVersionError(WORDS), { step: 'updateTimestamp', snapshotTaken: false }, 'RollbackAttackError', 'ERR_UPDATE_ROLLBACK'],
    [new BadVersionError(WORDS), { step: 'updateRoot', snapshotTaken: false }, 'RollbackAttackError', 'ERR_UPDATE_ROLLBACK'],
    [new BadVersionError(WORDS), { step: 'updateSnapshot', snapshotTaken: false }, 'RollbackAttackError', 'ERR_UPDATE_ROLLBACK'],
    [new EqualVersionError(WORDS), undefined, 'RollbackAttackError', 'ERR_UPDATE_ROLLBACK'],
    // A snapshot taken as signed but not the version the timestamp names; targets not the snapshot's.
    [new BadVersionError(WORDS), { step: 'updateSnapshot', snapshotTaken: true }, 'InconsistentMetadataError', 'ERR_UPDATE_INCONSISTENT_METADATA'],
    [new BadVersionError(WORDS), { step: 'updateDelegatedTargets', snapshotTaken: false }, 'InconsistentMetadataError', 'ERR_UPDATE_INCONSISTENT_METADATA'],
    [new UnsignedMetadataError(WORDS), undefined, 'MetadataSignatureError', 'ERR_UPDATE_SIGNATURE'],
    [new LengthOrHashMismatchError(WORDS), undefined, 'InconsistentMetadataError', 'ERR_UPDATE_INCONSISTENT_METADATA'],
    [new RepositoryError(WORDS), undefined, 'InconsistentMetadataError', 'ERR_UPDATE_INCONSISTENT_METADATA'],
    [new DownloadLengthMismatchError(WORDS), undefined, 'DownloadTooLongError', 'ERR_UPDATE_TOO_LONG'],
    [new DownloadHTTPError(WORDS, 404), undefined, 'RepositoryUnreachableError', 'ERR_UPDATE_UNREACHABLE'],
    [new DownloadError(WORDS), undefined, 'RepositoryUnreachableError', 'ERR_UPDATE_UNREACHABLE'],
    [new ValueError(WORDS), undefined, 'MalformedMetadataError', 'ERR_UPDATE_MALFORMED_METADATA'],
    [new ModelsValueError(WORDS), undefined, 'MalformedMetadataError', 'ERR_UPDATE_MALFORMED_METADATA'],
    [new SyntaxError(WORDS), undefined, 'MalformedMetadataError', 'ERR_UPDATE_MALFORMED_METADATA'],
    [new RuntimeError(WORDS), undefined, 'MalformedMetadataError', 'ERR_UPDATE_MALFORMED_METADATA']
  ]
  for (const [tuf, where, name, code] of table) {
    const ours = classify(tuf, where) as BttlsError
    t.ok(ours instanceof BttlsError, `${tuf.constructor.name}${where !== undefined ? ` in ${where.step}` : ''} -> ${ours.name}`)
    t.equal(ours.name, name)
    t.equal(ours.code, code)
    t.equal(ours.cause, tuf, 'the tuf-js error is kept as the cause')
  }
  const own = new PinMismatchError('ours')
  t.equal(classify(own), own, 'our own errors (the fetcher\'s) pass through as they are')
})
