/** Order statistics for benchmark samples: timings are skewed by stragglers, so medians and percentiles, not means. */

export function median (xs: readonly number[]): number {
  return percentile(xs, 50)
}

/** Linear interpolation between closest ranks; NaN for no samples. */
export function percentile (xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  const rank = (p / 100) * (s.length - 1)
  const lo = Math.floor(rank)
  const hi = Math.ceil(rank)
  return s[lo]! + (s[hi]! - s[lo]!) * (rank - lo)
}
