/** A seeded uniform [0, 1) generator (mulberry32), so tests of randomised choices repeat exactly. */
export function seededRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

/** Returns the given values in turn, then repeats them: for choices a test wants to dictate. */
export function scriptedRandom (values: readonly number[]): () => number {
  let i = 0
  return () => values[i++ % values.length]!
}
