/**
 * A process's own peak resident set, from its start. Not getrusage's maxrss
 * (`process.resourceUsage().maxRSS`): on Linux a spawned child starts as a fork of its parent, and the
 * kernel keeps that copy's resident size as the child's maxrss across exec, so every peer the bench
 * spawned reported at least the bench process's size at that moment (test/bench/peak-rss.test.ts).
 * The swarm bench's TLS mode, first after the payload was written, showed 130 MiB a process more than
 * plaintext that way. /proc/self/status's VmHWM belongs to the exec'd image alone.
 */
import { readFileSync } from 'node:fs'
import { parseStatus } from './hostile/proc-stats.js'

export function ownPeakRssBytes (): number {
  try {
    return parseStatus(readFileSync('/proc/self/status', 'utf8')).peakRssBytes
  } catch {
    // No /proc (not Linux): getrusage's figure is all there is.
    return process.resourceUsage().maxRSS * 1024
  }
}
