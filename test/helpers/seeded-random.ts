/** A seeded uniform [0, 1) generator, so tests of randomised choices repeat exactly: the fuzz corpus's mulberry32. */
export { prng as seededRandom } from '../fixtures/fuzz/mutate.js'

/** Returns the given values in turn, then repeats them: for choices a test wants to dictate. */
export function scriptedRandom (values: readonly number[]): () => number {
  let i = 0
  return () => values[i++ % values.length]!
}
