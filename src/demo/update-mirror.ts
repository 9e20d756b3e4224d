/**
 * The attacker of the update demo and tests: an HTTPS server standing where the update server should
 * be (a compromised mirror, a replaying attacker, a man in the middle), and the metadata it forges.
 * It serves a copy of a repository's files, with answers the attack chooses for some paths.
 */
import { createServer } from 'node:https'
import { createReadStream } from 'node:fs'
import { cp, readFile, stat } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { MetaFile, Metadata, Snapshot, TargetFile, Targets, Timestamp } from '@tufjs/models'
import { expiryString, loadRepository, metadataBytes, metaFileFor, repositoryPaths, SPEC_VERSION } from '../updates/release-repository.js'
import { loadRoleKeys, signWith, type RoleKey } from '../updates/role-keys.js'
import { createSwarmCa } from '../pki/certificate-profile.js'
import { issueServerCertificate } from '../pki/server-certificate.js'
import { join } from 'node:path'
import type { AddressInfo, Socket } from 'node:net'
import { createServer as createTlsServer } from 'node:tls'
import { sign, type KeyObject } from 'node:crypto'
import { rawPublisherKey, signedBytes } from '../levels/strict.js'
import { levelFor } from '../session/torrent-level.js'
import { createResponderCertificate } from '../pki/responder-certificate.js'
import { authHeader, encodeAuthMessage } from '../protocol/auth-message.js'
import { computeProof, connectionExporter } from '../protocol/key-schedule.js'
import { FLAG_PUBLISHER_SIGNATURE } from '../protocol/constants.js'
import { readAuthMessage } from '../handshake/bounded-read.js'
import { Deadline } from '../handshake/deadline.js'
import { parseTorrent } from '../torrent/parse-torrent.js'

export type Answer = Buffer | 'endless' | 'stall' | 'not-found'

export interface MirrorOptions {
  readonly cert: string
  readonly key: string
  /** A repository directory (metadata/, targets/) served for paths without an override. */
  readonly dir: string
  readonly override?: (path: string) => Answer | undefined
}

export interface Mirror { readonly url: string, readonly requests: string[], close (): Promise<void> }

export async function startMirror (o: MirrorOptions): Promise<Mirror> {
  const requests: string[] = []
  const server = createServer({ cert: o.cert, key: o.key }, (req, res) => {
    const path = new URL(req.url ?? '/', 'https://x').pathname
    requests.push(path)
    const answer = o.override?.(path)
    if (answer === 'stall') return // never answers
    if (answer === 'endless') {
      res.writeHead(200) // chunked, no length: the client must count
      const chunk = Buffer.alloc(64 * 1024, 0x41)
      const pump = (): void => { while (!res.destroyed && res.write(chunk)); if (!res.destroyed) res.once('drain', pump) }
      pump()
      return
    }
    if (answer === 'not-found') { res.writeHead(404).end(); return }
    if (answer !== undefined) { res.writeHead(200, { 'content-length': answer.length }).end(answer); return }
    const m = /^\/(metadata|targets)\/(.+)$/.exec(path)
    const file = m === null ? undefined : join(o.dir, m[1]!, decodeURIComponent(m[2]!))
    void (file === undefined ? Promise.resolve(undefined) : stat(file).catch(() => undefined)).then(info => {
      if (file === undefined || info === undefined || !info.isFile()) { res.writeHead(404).end(); return }
      res.writeHead(200, { 'content-length': info.size })
      createReadStream(file).pipe(res)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) })
  }
}

/** Copy a repository's metadata and targets as they are now (an attacker's recording, to replay later). */
export async function recordRepository (repo: string, to: string): Promise<string> {
  await cp(join(repo, 'metadata'), join(to, 'metadata'), { recursive: true })
  await cp(join(repo, 'targets'), join(to, 'targets'), { recursive: true })
  return to
}

/** The publisher's own HTTPS certificate and key (a compromised server, or a mirror given them). */
export async function publisherCertificate (repo: string): Promise<{ cert: string, key: string }> {
  const dir = repositoryPaths(repo).https
  return { cert: await readFile(join(dir, 'cert.pem'), 'utf8'), key: await readFile(join(dir, 'key.pem'), 'utf8') }
}

/**
 * Targets bytes the thief chose, named by a new snapshot and timestamp signed with the online keys
 * (the server's): the files to serve for them, by request path.
 */
async function underOnlineKeys (repo: string, targetsVersion: number, targetsBytes: Buffer): Promise<Map<string, Buffer>> {
  const state = await loadRepository(repo)
  const keysDir = repositoryPaths(repo).keys
  const snapshotKeys = await loadRoleKeys(keysDir, 'snapshot', state.root.signed.roles.snapshot!.keyIDs)
  const timestampKeys = await loadRoleKeys(keysDir, 'timestamp', state.root.signed.roles.timestamp!.keyIDs)
  const expires = expiryString(new Date(), 86_400)
  const targetsMeta = new MetaFile({ version: targetsVersion, length: targetsBytes.length, hashes: { sha256: createHash('sha256').update(targetsBytes).digest('hex') } })
  const snapshot = new Metadata(new Snapshot({ version: state.snapshot.signed.version + 1, specVersion: SPEC_VERSION, expires, meta: { 'targets.json': targetsMeta } }))
  signWith(snapshot, snapshotKeys)
  const timestamp = new Metadata(new Timestamp({ version: state.timestamp.signed.version + 1, specVersion: SPEC_VERSION, expires, snapshotMeta: metaFileFor(snapshot) }))
  signWith(timestamp, timestampKeys)
  return new Map([
    ['/metadata/timestamp.json', metadataBytes(timestamp)],
    [`/metadata/${snapshot.signed.version}.snapshot.json`, metadataBytes(snapshot)],
    [`/metadata/${targetsVersion}.targets.json`, targetsBytes]
  ])
}

/**
 * What a thief of the online keys (timestamp, snapshot) can sign: a release of its own bytes, in targets
 * signed with every key it has, named by a new snapshot and timestamp. Returns the files to serve.
 */
export async function forgeWithOnlineKeys (repo: string, evil: Buffer): Promise<Map<string, Buffer>> {
  const state = await loadRepository(repo)
  const keysDir = repositoryPaths(repo).keys
  const snapshotKeys = await loadRoleKeys(keysDir, 'snapshot', state.root.signed.roles.snapshot!.keyIDs)
  const timestampKeys = await loadRoleKeys(keysDir, 'timestamp', state.root.signed.roles.timestamp!.keyIDs)
  const expires = expiryString(new Date(), 86_400)
  const targets = new Metadata(new Targets({ version: state.targets.signed.version + 1, specVersion: SPEC_VERSION, expires, targets: {} }))
  targets.signed.addTarget(new TargetFile({
    path: '9.0.0/app.bin', length: evil.length, hashes: { sha256: createHash('sha256').update(evil).digest('hex') },
    unrecognizedFields: { custom: { bttls: { version: '9.0.0' } } }
  }))
  signWith(targets, [...snapshotKeys, ...timestampKeys])
  const files = await underOnlineKeys(repo, targets.signed.version, metadataBytes(targets))
  return files.set('/targets/9.0.0/app.bin', evil)
}

/** The timestamp keys the repository uses now (to keep a copy before they are rotated away). */
export async function currentTimestampKeys (repo: string): Promise<RoleKey[]> {
  const state = await loadRepository(repo)
  return await loadRoleKeys(repositoryPaths(repo).keys, 'timestamp', state.root.signed.roles.timestamp!.keyIDs)
}

/** A newer timestamp, naming the current snapshot, signed with the given (e.g. retired) keys. */
export async function forgeTimestamp (repo: string, keys: readonly RoleKey[]): Promise<Buffer> {
  const state = await loadRepository(repo)
  const forged = new Metadata(new Timestamp({ version: state.timestamp.signed.version + 5, specVersion: SPEC_VERSION, expires: expiryString(new Date(), 86_400), snapshotMeta: state.timestamp.signed.snapshotMeta }))
  signWith(forged, keys)
  return metadataBytes(forged)
}

/** Mix-and-match: the previous targets served under the name of the current ones. */
export async function olderTargetsAsCurrent (repo: string): Promise<Map<string, Buffer>> {
  const n = (await loadRepository(repo)).targets.signed.version
  return new Map([[`/metadata/${n}.targets.json`, await readFile(join(repositoryPaths(repo).metadata, `${n - 1}.targets.json`))]])
}

/** A certificate for loopback from a CA other than the publisher's (one the client may well trust). */
export async function otherCaCertificate (): Promise<{ cert: string, key: string, caPem: string }> {
  const ca = await createSwarmCa('another CA')
  const c = await issueServerCertificate({ ca, names: ['127.0.0.1', 'localhost'] })
  return { cert: c.certPem, key: c.keyPem, caPem: ca.certPem }
}

/**
 * A seed of a release torrent that proves a publisher key other than the one the signed targets name
 * (its own, or a retired seed key): it knows the torrent, hence the Strict swarm key, so its proof is
 * valid, and it signs the connection's exporter with `key`. A client requiring the publisher must
 * refuse it (PublisherProofError) before a byte of data.
 */
export async function startForeignSeed (torrentFile: string, key: KeyObject): Promise<{ port: number, connections: number, close (): Promise<void> }> {
  const metainfo = parseTorrent(await readFile(torrentFile))
  // The keys any holder of the torrent computes, preferred first, as a client proves with.
  const swarmKey = levelFor(metainfo).swarmKeys[0]!.key
  const { cert, key: tlsKey } = await createResponderCertificate()
  const sockets = new Set<Socket>()
  const state = { connections: 0 }
  const server = createTlsServer({ cert, key: tlsKey, minVersion: 'TLSv1.3' }, socket => {
    state.connections++
    sockets.add(socket)
    socket.on('error', () => {}).on('close', () => sockets.delete(socket))
    void (async () => {
      await readAuthMessage(socket, Deadline.after(5000), 'AuthHello')
      const exporter = connectionExporter(socket)
      const header = authHeader('strict', FLAG_PUBLISHER_SIGNATURE)
      socket.write(encodeAuthMessage({
        level: 'strict', flags: FLAG_PUBLISHER_SIGNATURE, proof: computeProof(swarmKey, 'responder', header, exporter),
        signature: sign(null, signedBytes('responder', header, exporter), key)
      }))
    })().catch(() => socket.destroy())
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  if (rawPublisherKey(key).equals(metainfo.strict!.publisherKey!)) throw new RangeError('a foreign seed needs a key other than the torrent\'s')
  return {
    port: (server.address() as AddressInfo).port,
    get connections () { return state.connections },
    close: () => new Promise<void>(resolve => { for (const s of sockets) s.destroy(); server.close(() => resolve()) })
  }
}

/**
 * The thief of the server's online keys names a seed key of its own: the current targets with every
 * release's `publisherKey` (and the magnets' x.bttls.pk) replaced, their signatures kept (the thief
 * has no targets key), named by a new snapshot and timestamp it can sign. Returns the files to serve.
 */
export async function forgeSeedKey (repo: string, publisherKey: Buffer): Promise<Map<string, Buffer>> {
  const state = await loadRepository(repo)
  const json = state.targets.toJSON() as { signed: { targets: Record<string, { custom?: { bttls?: { publisherKey?: string, magnet?: string } } }> } }
  const hex = publisherKey.toString('hex')
  for (const t of Object.values(json.signed.targets)) {
    const b = t.custom?.bttls
    if (b?.publisherKey === undefined) continue
    b.magnet = b.magnet?.replace(b.publisherKey, hex)
    b.publisherKey = hex
  }
  // Same version: the thief cannot sign a newer targets, only alter these (their signature stays).
  return await underOnlineKeys(repo, state.targets.signed.version, Buffer.from(JSON.stringify(json, null, 1)))
}
