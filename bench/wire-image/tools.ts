/**
 * The Debian tools the harness drives (bench/wire-image/install.sh installs them) and whether this
 * machine has them. A missing tool skips the sections that need it, with the reason in the report.
 */
import { spawnSync } from 'node:child_process'
import { binary, DEBIAN_PYTHON, type Client } from '../../interop/lib/clients.js'

export interface Tools {
  /** Captures: without it there are no flows, fingerprints or classifiers (the probes still run). */
  readonly tcpdump: Client
  readonly nginx: Client
  readonly curl: Client
  readonly openssl: Client
  /** scikit-learn under Debian's python, for the decision trees. */
  readonly sklearn: Client
  readonly root: boolean
}

export function detectTools (): Tools {
  const r = spawnSync(DEBIAN_PYTHON, ['-c', 'import sklearn; print(sklearn.__version__)'], { encoding: 'utf8', timeout: 30_000 })
  const sklearn: Client = r.status === 0
    ? { available: true, version: r.stdout.trim() }
    : { available: false, version: '', reason: `${DEBIAN_PYTHON} cannot import sklearn (Debian package python3-sklearn)` }
  const root = process.getuid?.() === 0
  const tcpdump = binary('tcpdump', 'tcpdump', ['--version'], /tcpdump version (\S+)/)
  return {
    // Capturing on `lo` needs CAP_NET_RAW: root, as the harness runs in CI.
    tcpdump: tcpdump.available && !root ? { available: false, version: tcpdump.version, reason: 'capturing on lo needs root (CAP_NET_RAW)' } : tcpdump,
    nginx: binary('nginx', 'nginx-light', ['-v'], /nginx\/(\S+)/),
    curl: binary('curl', 'curl', ['--version'], /curl (\S+)/),
    openssl: binary('openssl', 'openssl', ['version'], /OpenSSL (\S+)/),
    sklearn,
    root
  }
}

/** "tool 1.2.3" or "tool: missing (reason)". */
export function describeTool (name: string, c: Client): string {
  return c.available ? `${name} ${c.version}` : `${name}: missing (${c.reason ?? 'not installed'})`
}
