/**
 * updateErrorFrom: every way tuf-js 5 reports a refusal, as our typed error. The tuf-js classes are the
 * real ones; the wordings are those of the pinned tuf-js (test/updates-attacks.test.ts produces them
 * from real attacks). Each result asserted by name, instanceof and code, with the original as cause.
 */
import t from 'tap'
import { BadVersionError, DownloadHTTPError, DownloadLengthMismatchError, EqualVersionError, ExpiredMetadataError, RuntimeError } from 'tuf-js/dist/error.js'
import { updateErrorFrom } from '../src/updates/tuf-errors.js'
import {
  DownloadTooLongError, InconsistentMetadataError, MalformedMetadataError, MetadataSignatureError, PinMismatchError,
  RepositoryUnreachableError, RollbackAttackError, UpdatesWithheldError
} from '../src/updates/errors.js'
import { assertTyped } from './helpers/typed-error.js'

t.test('our own errors pass through unchanged', async t => {
  const pin = new PinMismatchError('pin')
  t.equal(updateErrorFrom(pin), pin)
  const ours = new RepositoryUnreachableError('release server 127.0.0.1:1: connection refused')
  t.equal(updateErrorFrom(new RuntimeError(`Unable to load snapshot metadata error ${ours.message}`), [ours]), ours, 'recognised in tuf-js\'s wrapping text')
  t.not(updateErrorFrom(new RuntimeError('something else'), [ours]), ours)
})

t.test('tuf-js classes', async t => {
  const cases: Array<[Error, new (...a: never[]) => Error, string, RegExp]> = [
    [new ExpiredMetadataError('timestamp.json is expired'), UpdatesWithheldError, 'ERR_UPDATES_WITHHELD', /^updates are being withheld: timestamp\.json is expired/],
    [new DownloadHTTPError('Failed to download', 404), RepositoryUnreachableError, 'ERR_UPDATE_UNREACHABLE', /^Failed to download$/],
    [new DownloadLengthMismatchError('Max length reached'), DownloadTooLongError, 'ERR_UPDATE_TOO_LONG', /Max length reached/],
    [new BadVersionError('New root version 3 must be 2'), RollbackAttackError, 'ERR_UPDATE_ROLLBACK', /^older metadata replayed: New root version/],
    [new EqualVersionError('equal'), RollbackAttackError, 'ERR_UPDATE_ROLLBACK', /older metadata replayed/]
  ]
  for (const [input, Class, code, message] of cases) {
    const out = updateErrorFrom(input)
    assertTyped(t, out, Class as never, code, message)
    t.equal((out as Error).cause, input, `${input.constructor.name}: the original kept as cause`)
  }
})

t.test('wrapped failures recognised by their text, first rule first', async t => {
  const cases: Array<[string, new (...a: never[]) => Error, string]> = [
    ['Unable to load snapshot metadata error Error: snapshot.json is expired', UpdatesWithheldError, 'ERR_UPDATES_WITHHELD'],
    ['Expected version 3 does not match snapshot version 2', InconsistentMetadataError, 'ERR_UPDATE_INCONSISTENT_METADATA'],
    ['snapshot version 4 doesn\'t match timestamp meta version 5', InconsistentMetadataError, 'ERR_UPDATE_INCONSISTENT_METADATA'],
    ['Expected hash abc', InconsistentMetadataError, 'ERR_UPDATE_INCONSISTENT_METADATA'],
    ['Expected length 3', InconsistentMetadataError, 'ERR_UPDATE_INCONSISTENT_METADATA'],
    ['Missing file targets.json in snapshot', InconsistentMetadataError, 'ERR_UPDATE_INCONSISTENT_METADATA'],
    ['Missing targets.json in snapshot', InconsistentMetadataError, 'ERR_UPDATE_INCONSISTENT_METADATA'],
    ['New snapshot version 1 is less than current version 2', RollbackAttackError, 'ERR_UPDATE_ROLLBACK'],
    ['timestamp was signed by 0/1 keys', MetadataSignatureError, 'ERR_UPDATE_SIGNATURE'],
    ['invalid signature', MetadataSignatureError, 'ERR_UPDATE_SIGNATURE'],
    ['Max length reached', DownloadTooLongError, 'ERR_UPDATE_TOO_LONG'],
    // Two rules match: the first in the table wins (an expired, replayed file is reported as withheld).
    ['snapshot.json is expired; version 1 is less than current version 2', UpdatesWithheldError, 'ERR_UPDATES_WITHHELD']
  ]
  for (const [text, Class, code] of cases) {
    const out = updateErrorFrom(new RuntimeError(`Unable to load metadata error Error: ${text}`))
    assertTyped(t, out, Class as never, code)
    t.match((out as Error).message, text, 'the original text is kept')
  }
  // A BadVersionError whose text also names a rule is classified by its text.
  assertTyped(t, updateErrorFrom(new BadVersionError('signed by 0/1 keys')), MetadataSignatureError, 'ERR_UPDATE_SIGNATURE')
})

t.test('anything else is MalformedMetadataError, thrown values that are not Errors included', async t => {
  const plain = new SyntaxError('Unexpected token < in JSON')
  const out = updateErrorFrom(plain)
  assertTyped(t, out, MalformedMetadataError, 'ERR_UPDATE_MALFORMED_METADATA', /^the repository's metadata was refused: Unexpected token/)
  t.equal(out.cause, plain)
  assertTyped(t, updateErrorFrom('a string'), MalformedMetadataError, 'ERR_UPDATE_MALFORMED_METADATA', /refused: a string$/)
  assertTyped(t, updateErrorFrom(undefined), MalformedMetadataError, 'ERR_UPDATE_MALFORMED_METADATA', /refused: undefined$/)
})
