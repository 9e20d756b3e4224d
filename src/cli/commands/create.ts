import { writeFile } from 'node:fs/promises'
import { createTorrent } from '../../torrent/create-torrent.js'
import { magnetUri } from '../../torrent/magnet.js'
import { strictRendezvousOf } from '../../session/torrent-level.js'
import type { Reporter } from '../reporter.js'
import { UsageError } from '../torrent-input.js'
import { randomBytes, createPublicKey, X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { secretCommitment } from '../../levels/strict-keys.js'
import { rawPublisherKey } from '../../levels/strict.js'
import type { StrictInfo } from '../../torrent/strict-info.js'
import { STRICT_SECRET_LENGTH } from '../../protocol/constants.js'

async function strictOptions (strict: CreateArgs['strict']): Promise<{ info: StrictInfo, secret?: Buffer } | undefined> {
  if (strict === undefined) return undefined
  if (strict.mode === 'passphrase') return { info: { mode: 'passphrase' } }
  if (strict.mode === 'secret') {
    const secret = randomBytes(STRICT_SECRET_LENGTH)
    return { info: { mode: 'secret', commitment: secretCommitment(secret) }, secret }
  }
  // A certificate or a bare public key, PEM; only its (Ed25519) public key goes into the torrent.
  const pem = await readFile(strict.certFile, 'utf8')
  const key = pem.includes('BEGIN CERTIFICATE') ? new X509Certificate(pem).publicKey : createPublicKey(pem)
  return { info: { mode: 'publisher', publisherKey: rawPublisherKey(key) } }
}

/** Measured with the Debian clients (interop/): hybrid torrents are not read alike by every client. */
export const HYBRID_WARNING = 'hybrid (v1+v2) by default: aria2 1.36 computes another infohash for it and Transmission 3.00 cannot parse it; give --v1 for the widest reach'

export interface CreateArgs {
  path: string
  output: string
  version: 'v1' | 'v2' | 'hybrid'
  /** The user chose the version; hybrid by default is warned about (see HYBRID_WARNING). */
  versionChosen?: boolean
  private?: boolean
  comment?: string
  pieceLength?: number
  trackers: string[]
  /** --strict-secret (secret mode, or passphrase mode with --passphrase) or --strict-cert (publisher mode). */
  strict?: { mode: 'secret' } | { mode: 'passphrase' } | { mode: 'publisher', certFile: string }
  /** --full-strict --ca FILE: the swarm CA certificate (PEM) for info["ssl-cert"]. */
  caFile?: string
}

export async function createCommand (args: CreateArgs, reporter: Reporter): Promise<number> {
  if (args.pieceLength !== undefined && !(Number.isInteger(args.pieceLength) && args.pieceLength >= 16384 && (args.pieceLength & (args.pieceLength - 1)) === 0)) {
    throw new UsageError('--piece-length must be a power of two of at least 16384')
  }
  const strict = await strictOptions(args.strict)
  const sslCert = args.caFile !== undefined ? await readFile(args.caFile, 'utf8') : undefined
  const { bytes, metainfo } = await createTorrent(args.path, {
    version: args.version, pieceLength: args.pieceLength, trackers: args.trackers, strict, sslCert,
    ...(args.private === true ? { private: true } : {}), ...(args.comment !== undefined ? { comment: args.comment } : {})
  })
  if (args.version === 'hybrid' && args.versionChosen !== true) reporter.event('warning', { message: HYBRID_WARNING }, `warning: ${HYBRID_WARNING}`)
  await writeFile(args.output, bytes, { mode: strict?.secret ? 0o600 : 0o644 })
  reporter.event('created', {
    file: args.output, name: metainfo.name, version: metainfo.version, infoHashV1: metainfo.infoHashV1?.toString('hex'),
    infoHashV2: metainfo.infoHashV2?.toString('hex'), pieces: metainfo.pieceCount, pieceLength: metainfo.pieceLength, magnet: magnetUri(metainfo, { secret: strict?.secret }), rendezvous: strictRendezvousOf(metainfo, { secret: strict?.secret })?.toString('hex'), level: metainfo.sslCert ? 'full-strict' : metainfo.strict ? 'strict' : 'basic', mode: metainfo.strict?.mode
  })
  reporter.line(`created ${args.output}: ${metainfo.name}, ${metainfo.version}, ${metainfo.pieceCount} pieces of ${metainfo.pieceLength} bytes` +
    (metainfo.sslCert ? ', level full-strict (swarm CA in ssl-cert)' : metainfo.strict ? `, level strict (${metainfo.strict.mode})` : ', level basic'))
  if (strict?.secret) reporter.line('the .torrent file and the magnet below carry the secret: share them only with the swarm')
  reporter.line(magnetUri(metainfo, { secret: strict?.secret }))
  return 0
}
