/** Which real clients this machine has, and their versions (the report names them). */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

export const DEBIAN_PYTHON = '/usr/bin/python3'

export interface Client { available: boolean, version: string, reason?: string }
export interface Clients { libtorrent: Client, aria2: Client, transmission: Client, opentracker: Client, openssl: Client }

function debVersion (pkg: string): string | undefined {
  try { return execFileSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined } catch { return undefined }
}

/** `versionArgs` undefined: the binary has no safe version flag (opentracker would start serving). */
export function binary (name: string, pkg: string, versionArgs: string[] | undefined, pattern: RegExp): Client {
  const which = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' })
  if (which.status !== 0) return { available: false, version: '', reason: `${name} not installed (Debian package ${pkg})` }
  if (versionArgs === undefined) return { available: true, version: debVersion(pkg) ?? '?' }
  const r = spawnSync(name, versionArgs, { encoding: 'utf8', timeout: 5000 })
  const m = pattern.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)
  return { available: true, version: m?.[1] ?? debVersion(pkg) ?? '?' }
}

export function detectClients (): Clients {
  let libtorrent: Client
  if (!existsSync(DEBIAN_PYTHON)) libtorrent = { available: false, version: '', reason: `${DEBIAN_PYTHON} missing (python3-libtorrent needs Debian's python)` }
  else {
    const r = spawnSync(DEBIAN_PYTHON, ['-c', 'import libtorrent; print(libtorrent.__version__)'], { encoding: 'utf8' })
    libtorrent = r.status === 0
      ? { available: true, version: r.stdout.trim() }
      : { available: false, version: '', reason: 'python3-libtorrent not importable from /usr/bin/python3' }
  }
  return {
    libtorrent,
    aria2: binary('aria2c', 'aria2', ['--version'], /aria2 version (\S+)/),
    transmission: binary('transmission-cli', 'transmission-cli', ['--version'], /transmission-cli (\S+)/),
    opentracker: binary('opentracker', 'opentracker', undefined, /$^/),
    openssl: binary('openssl', 'openssl', ['version'], /OpenSSL (\S+)/)
  }
}
