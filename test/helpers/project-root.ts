/**
 * The project's root directory (the one holding package.json). A test runs either from its source
 * (test/<folder>/<name>.test.ts through tap's TypeScript loader) or from the copy `npm test` compiles
 * once (build/test/<folder>/<name>.test.js, see test/README.md), so a path written relative to a
 * test's own URL would differ between the two; paths to the sources, fixtures and documents start here.
 */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

function findRoot (from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`)
  }
}

export const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)))

/** True when this process runs the compiled copy (build/), not the TypeScript sources. */
export const COMPILED = import.meta.url.endsWith('.js')
