import { writeFile } from 'node:fs/promises'
import { createTorrent } from '../../torrent/create-torrent.js'
import { magnetUri } from '../../torrent/magnet.js'
import type { Reporter } from '../reporter.js'
import { UsageError } from '../torrent-input.js'

export interface CreateArgs {
  path: string
  output: string
  version: 'v1' | 'v2' | 'hybrid'
  pieceLength?: number
  trackers: string[]
}

export async function createCommand (args: CreateArgs, reporter: Reporter): Promise<number> {
  if (args.pieceLength !== undefined && !(Number.isInteger(args.pieceLength) && args.pieceLength >= 16384 && (args.pieceLength & (args.pieceLength - 1)) === 0)) {
    throw new UsageError('--piece-length must be a power of two of at least 16384')
  }
  const { bytes, metainfo } = await createTorrent(args.path, { version: args.version, pieceLength: args.pieceLength, trackers: args.trackers })
  await writeFile(args.output, bytes)
  reporter.event('created', {
    file: args.output, name: metainfo.name, version: metainfo.version, infoHashV1: metainfo.infoHashV1?.toString('hex'),
    infoHashV2: metainfo.infoHashV2?.toString('hex'), pieces: metainfo.pieceCount, pieceLength: metainfo.pieceLength, magnet: magnetUri(metainfo)
  })
  reporter.line(`created ${args.output}: ${metainfo.name}, ${metainfo.version}, ${metainfo.pieceCount} pieces of ${metainfo.pieceLength} bytes`)
  reporter.line(magnetUri(metainfo))
  return 0
}
