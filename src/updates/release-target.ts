/**
 * How a release appears in the signed targets metadata. The TUF target path is `<version>/<file name>`
 * and its `custom` field carries what bttls needs to fetch it from a swarm:
 *
 *   "custom": { "bttls": { "version": "1.2.0", "infohash": "<hex>", "publisherKey": "<64 hex>",
 *                          "magnet": "magnet:?xt=...&x.bttls=strict-publisher&x.bttls.pk=<the same key>" } }
 *
 * Everything here is covered by the targets signature (an offline key), so the infohash and the
 * publisher key are the publisher's word, not a mirror's. The publisher key (the repository's seed
 * key) is what the client requires its peers to prove inside TLS: it is learnt from this verified
 * entry only, and replaced only by new targets metadata signed by the targets role (see seed-key.ts).
 */
import type { TargetFile } from '@tufjs/models'
import { parseMagnet } from '../torrent/magnet.js'
import type { MagnetLink } from '../torrent/metainfo.js'
import { unsafeComponentReason } from '../torrent/path-component.js'
import { MalformedMetadataError } from './errors.js'

/** Release versions: dot-separated decimal numbers (1, 1.2, 1.2.10), compared number by number. */
const VERSION = /^(0|[1-9]\d{0,8})(\.(0|[1-9]\d{0,8})){0,3}$/

export interface ReleaseTarget {
  readonly version: string
  /** The TUF target path: `<version>/<fileName>`. */
  readonly path: string
  readonly fileName: string
  readonly length: number
  readonly sha256: string
  /** The release's Strict-publisher torrent (undefined: the release is offered over HTTPS only). */
  readonly magnet?: MagnetLink
  readonly magnetUri?: string
  /** The Ed25519 seed key (32 bytes) the release's seeds must prove; present with `magnet`. */
  readonly publisherKey?: Buffer
}

export function isReleaseVersion (v: string): boolean {
  return VERSION.test(v)
}

/** < 0, 0, > 0 as `a` is older than, the same as, newer than `b`. */
export function compareVersions (a: string, b: string): number {
  const x = a.split('.').map(Number)
  const y = b.split('.').map(Number)
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

export function targetPath (version: string, fileName: string): string {
  return `${version}/${fileName}`
}

/** The release a verified TargetFile describes; anything out of form is refused, not guessed at. */
export function releaseTarget (target: TargetFile): ReleaseTarget {
  const bad = (why: string): never => { throw new MalformedMetadataError(`target ${JSON.stringify(target.path)}: ${why}`) }
  const slash = target.path.indexOf('/')
  const version = target.path.slice(0, slash)
  const fileName = target.path.slice(slash + 1)
  if (slash < 0 || !isReleaseVersion(version)) bad('the path is not <version>/<file name>')
  const unsafe = unsafeComponentReason(fileName)
  if (unsafe !== undefined) bad(`the file name ${unsafe}`)
  const sha256 = target.hashes.sha256
  if (sha256 === undefined || !/^[0-9a-f]{64}$/.test(sha256)) bad('no SHA-256 hash')
  const custom = (target.custom as { bttls?: { version?: unknown, magnet?: unknown, infohash?: unknown, publisherKey?: unknown } }).bttls
  if (custom?.version !== version) bad('custom.bttls.version differs from the path\'s version')
  let magnet: MagnetLink | undefined
  let publisherKey: Buffer | undefined
  if (custom?.magnet !== undefined) {
    if (typeof custom.magnet !== 'string') bad('custom.bttls.magnet is not a string')
    try { magnet = parseMagnet(custom.magnet as string) } catch (err) { bad(`custom.bttls.magnet: ${(err as Error).message}`) }
    if (magnet!.strict?.mode !== 'publisher') bad('the release torrent is not at the Strict publisher level')
    // SHA-256 all the way: a v1 (SHA-1) infohash or piece hash has no place on the update path.
    if (magnet!.infoHashV1 !== undefined || magnet!.infoHashV2 === undefined) bad('the release torrent is not v2 only (urn:btmh, SHA-256)')
    if (typeof custom.publisherKey !== 'string' || !/^[0-9a-f]{64}$/.test(custom.publisherKey)) bad('custom.bttls.publisherKey is not 64 hex digits (the seed key)')
    publisherKey = Buffer.from(custom.publisherKey as string, 'hex')
    if (!publisherKey.equals(magnet!.strict!.publisherKey!)) bad('the magnet\'s x.bttls.pk is not custom.bttls.publisherKey')
    if (custom.infohash !== magnet!.wireInfoHash.toString('hex')) bad('custom.bttls.infohash is not the magnet\'s infohash')
  }
  return {
    version, path: target.path, fileName, length: target.length, sha256: sha256!,
    ...(magnet !== undefined ? { magnet, magnetUri: custom!.magnet as string, publisherKey: publisherKey! } : {})
  }
}

/** The newest of the releases (by version). */
export function newestRelease (targets: readonly ReleaseTarget[]): ReleaseTarget | undefined {
  return [...targets].sort((a, b) => compareVersions(b.version, a.version))[0]
}
