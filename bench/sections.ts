/** A bench section run and timed, its failure kept as a reason so the other sections still run. */
import type { Section } from './analysis.js'

/** The error of a section left out by --only (the report says "not run" rather than "failed"). */
export const NOT_RUN = 'not run (--only)'

export async function timed<T> (name: string, fn: () => Promise<T>, log: (line: string) => void): Promise<Section<T>> {
  const t0 = performance.now()
  log(`== ${name}`)
  try {
    const value = await fn()
    return { value, seconds: (performance.now() - t0) / 1000 }
  } catch (err) {
    const error = (err as Error).message.split('\n').slice(0, 6).join(' | ')
    log(`   ${name} failed: ${error}`)
    return { error, seconds: (performance.now() - t0) / 1000 }
  }
}
