/** The check every error path gets: the named class, by instanceof, name and code (the three callers may rely on). */
import type { Test } from 'tap'
import { BttlsError } from '../../src/errors.js'

export function assertTyped<E extends BttlsError> (
  t: Test, err: unknown, Class: abstract new (...args: never[]) => E, code: string, message?: RegExp
): asserts err is E {
  t.ok(err instanceof Class, `${String(err)} is a ${Class.name}`)
  t.ok(err instanceof BttlsError, 'and a BttlsError')
  const e = err as E
  t.equal(e.name, Class.name, 'name')
  t.equal(e.code, code, 'code')
  if (message !== undefined) t.match(e.message, message, 'message')
}
