/** The machine a bench ran on, for its report: the numbers mean little without it. */
import { cpus, loadavg, release, type as osType } from 'node:os'

export interface Machine { cpus: number, cpuModel: string | undefined, node: string, openssl: string, kernel: string, loadAverageAtStart: number }

export function machine (): Machine {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    node: process.version,
    openssl: process.versions.openssl,
    kernel: `${osType()} ${release()}`,
    loadAverageAtStart: loadavg()[0]!
  }
}
