/**
 * What a process costs, read from outside through /proc (Linux): resident memory and its peak, open
 * file descriptors, CPU time. The hostile-peer bench watches the process under attack this way, so the
 * target is the unmodified `bttls` CLI and the attacker's own work is never counted in it.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'

export interface ProcSample {
  /** VmRSS. */
  readonly rssBytes: number
  /** VmHWM: the kernel's own peak of the resident set since the process started. */
  readonly peakRssBytes: number
  /** Entries in /proc/<pid>/fd (sockets, files, pipes, epoll...). */
  readonly fds: number
  /** utime + stime of every thread, in seconds. */
  readonly cpuSeconds: number
}

/** VmRSS and VmHWM of /proc/<pid>/status, in bytes. */
export function parseStatus (text: string): { rssBytes: number, peakRssBytes: number } {
  const kib = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+)\\s+kB$`, 'm').exec(text)
    if (m === null) throw new Error(`no ${key} in /proc/<pid>/status`)
    return Number(m[1]) * 1024
  }
  return { rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') }
}

/**
 * utime + stime of /proc/<pid>/stat, in clock ticks. The command name (field 2) may hold spaces and
 * parentheses, so fields are counted from the last ')'; utime and stime are fields 14 and 15.
 */
export function parseStatCpuTicks (text: string): number {
  const end = text.lastIndexOf(')')
  if (end < 0) throw new Error('not a /proc/<pid>/stat line')
  const fields = text.slice(end + 2).trim().split(/\s+/)
  // fields[0] is field 3 (state), so field n is fields[n - 3].
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  if (!Number.isInteger(utime) || !Number.isInteger(stime)) throw new Error('no utime/stime in /proc/<pid>/stat')
  return utime + stime
}

let ticksPerSecond: number | undefined

function clockTicks (): number {
  if (ticksPerSecond === undefined) {
    try { ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100 } catch { ticksPerSecond = 100 }
  }
  return ticksPerSecond
}

/** One reading of `pid`, or undefined once it has exited. */
export function sampleProcess (pid: number): ProcSample | undefined {
  try {
    const status = parseStatus(readFileSync(`/proc/${pid}/status`, 'utf8'))
    const cpuSeconds = parseStatCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')) / clockTicks()
    const fds = readdirSync(`/proc/${pid}/fd`).length
    return { ...status, fds, cpuSeconds }
  } catch {
    return undefined
  }
}

/** What a watch saw between start and stop. */
export interface Watched {
  /** RSS when the watch started and its peak (VmHWM) while it ran, MiB (see `peakSinceStart`). */
  readonly rssStartMiB: number
  readonly rssPeakMiB: number
  readonly rssEndMiB: number
  /** FDs at start, the most seen by any sample, at the end. */
  readonly fdsStart: number
  readonly fdsMax: number
  readonly fdsEnd: number
  /** CPU seconds spent between start and the last sample. */
  readonly cpuSeconds: number
  readonly seconds: number
  /** The peak was reset when the watch started (clear_refs); otherwise it counts from the process's start. */
  readonly peakSinceStart: boolean
}

/** Resets the kernel's peak RSS of `pid` ("5" into clear_refs, Linux 4.0+); false where not allowed. */
export function resetPeakRss (pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}

const MIB = 2 ** 20

/**
 * Samples `pid` every `intervalMs` until stop(). The peak RSS is the kernel's (VmHWM, reset when the
 * watch starts), so it is exact however short the spike; the FD count is the largest sampled.
 */
export class ProcessWatch {
  private readonly first: ProcSample
  private last: ProcSample
  private fdsMax: number
  private readonly timer: NodeJS.Timeout
  private readonly started = performance.now()
  private readonly peakReset: boolean

  constructor (readonly pid: number, intervalMs = 100) {
    this.peakReset = resetPeakRss(pid)
    const s = sampleProcess(pid)
    if (s === undefined) throw new Error(`process ${pid} is not running`)
    this.first = this.last = s
    this.fdsMax = s.fds
    this.timer = setInterval(() => this.sample(), intervalMs)
    this.timer.unref()
  }

  /** The current reading (also taken into the watch). */
  sample (): ProcSample {
    const s = sampleProcess(this.pid)
    if (s !== undefined) {
      this.last = s
      this.fdsMax = Math.max(this.fdsMax, s.fds)
    }
    return this.last
  }

  stop (): Watched {
    this.sample()
    clearInterval(this.timer)
    return {
      rssStartMiB: this.first.rssBytes / MIB,
      rssPeakMiB: this.last.peakRssBytes / MIB,
      rssEndMiB: this.last.rssBytes / MIB,
      fdsStart: this.first.fds,
      fdsMax: this.fdsMax,
      fdsEnd: this.last.fds,
      cpuSeconds: this.last.cpuSeconds - this.first.cpuSeconds,
      seconds: (performance.now() - this.started) / 1000,
      peakSinceStart: this.peakReset
    }
  }
}
