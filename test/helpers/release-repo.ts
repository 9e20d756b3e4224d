/** A publisher's repository, its update server and a client directory, on loopback, for the update tests. */
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Test } from 'tap'
import { addRelease, initRepository, type InitOptions } from '../../src/updates/release-repository.js'
import { ReleaseServer } from '../../src/updates/release-server.js'
import { update, type UpdateOptions, type UpdateOutcome } from '../../src/updates/updater.js'
import { parsePin } from '../../src/updates/spki-pin.js'
import { tempDir } from './session-pair.js'
import { publisherCertificate, startMirror, type Mirror, type MirrorOptions } from '../../src/demo/update-mirror.js'

/** Short time bounds: the tests wait on them. */
export const FAST_SESSION = { timeouts: { sniffMs: 1000, tlsMs: 1000, authMs: 1000 }, swarm: { chokeIntervalMs: 200, requestTimeoutMs: 1000, peerTimeoutMs: 2000, stallTimeoutMs: 2000 } }

export interface Fixture {
  readonly root: string
  readonly repo: string
  readonly offline: string
  readonly client: string
  readonly rootJson: Buffer
  readonly caPem: string
  readonly caPin: Buffer
  /** Publish a release of `size` random bytes; returns its bytes. */
  release (version: string, size?: number, name?: string): Promise<Buffer>
  serve (): Promise<ReleaseServer>
  /** An attacker's HTTPS server with the publisher's certificate (unless `cert`/`key` say otherwise), closed at teardown. */
  mirror (o?: Partial<MirrorOptions>): Promise<Mirror>
  /** Update the client from `url` with the pin and the CA. */
  update (url: string, extra?: Partial<UpdateOptions>): Promise<UpdateOutcome>
}

export async function fixture (t: Test, init: Partial<InitOptions> = {}): Promise<Fixture> {
  const root = await tempDir(t)
  const repo = join(root, 'repo')
  const offline = join(root, 'offline')
  const client = join(root, 'client')
  const result = await initRepository({ repo, offlineKeys: offline, ...init })
  const rootJson = await readFile(result.rootFile)
  const caPem = await readFile(result.caFile, 'utf8')
  return {
    root, repo, offline, client, rootJson, caPem, caPin: parsePin(result.caPin)!,
    async release (version, size = 100_000, name = 'app.bin') {
      const data = randomBytes(size)
      const file = join(root, `${name}`)
      await writeFile(file, data)
      await addRelease({ repo, offlineKeys: offline, file, version })
      return data
    },
    async serve () {
      const s = await ReleaseServer.start({ repo, session: FAST_SESSION, rescanMs: 60_000 })
      t.teardown(() => s.close())
      return s
    },
    async mirror (o = {}) {
      const m = await startMirror({ ...await publisherCertificate(repo), dir: repo, ...o })
      t.teardown(() => m.close())
      return m
    },
    async update (url, extra = {}) {
      return await update({ dir: client, repository: url, trustedRoot: rootJson, pins: [parsePin(result.caPin)!], ca: [caPem], swarmIdleMs: 3000, session: FAST_SESSION, ...extra })
    }
  }
}
