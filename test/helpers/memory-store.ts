/**
 * Test torrents held in memory: a single-file v1 Metainfo built from a buffer, its parseInfo, a
 * magnet link, and a PieceStore that verifies SHA-1 piece hashes exactly as the contract says
 * (verify, then store; a mismatch stores nothing and throws PieceHashMismatchError).
 */
import { createHash } from 'node:crypto'
import bencode from 'bencode'
import { PieceHashMismatchError } from '../../src/storage/errors.js'
import type { PieceStore } from '../../src/storage/piece-store.js'
import type { MagnetLink, Metainfo } from '../../src/torrent/metainfo.js'


function sha1 (data: Uint8Array): Buffer {
  return createHash('sha1').update(data).digest()
}

/** Build a v1 Metainfo from a bencoded info dict (single-file). Throws on anything else. */
export function parseInfo (infoBytes: Buffer): Metainfo {
  const info = bencode.decode(infoBytes) as Record<string, unknown>
  const length = info['length']
  const pieceLength = info['piece length']
  const pieces = info['pieces']
  const name = info['name']
  if (typeof length !== 'number' || typeof pieceLength !== 'number' || pieceLength <= 0 ||
      !(pieces instanceof Uint8Array) || !(name instanceof Uint8Array)) {
    throw new Error('not a single-file v1 info dict')
  }
  const pieceCount = Math.ceil(length / pieceLength)
  if (pieces.length !== pieceCount * 20) throw new Error('pieces does not match length')
  const infoHash = sha1(infoBytes)
  return {
    version: 'v1',
    infoHashV1: infoHash,
    wireInfoHash: infoHash,
    name: Buffer.from(name).toString(),
    pieceLength,
    totalLength: length,
    pieceCount,
    files: [{ path: [Buffer.from(name).toString()], length, offset: 0, pad: false }],
    infoBytes: Buffer.from(infoBytes),
    trackers: [],
    private: false,
    pieceSize: (i: number) => Math.min(pieceLength, length - i * pieceLength)
  }
}

export function pieceHashes (metainfo: Metainfo): Buffer[] {
  const pieces = (bencode.decode(metainfo.infoBytes) as Record<string, Uint8Array>)['pieces']!
  return Array.from({ length: metainfo.pieceCount }, (_, i) => Buffer.from(pieces.subarray(i * 20, i * 20 + 20)))
}

export interface TestTorrent {
  readonly content: Buffer
  readonly metainfo: Metainfo
  readonly magnet: MagnetLink
}

export function makeTorrent (content: Buffer, pieceLength: number, name = 'test.bin'): TestTorrent {
  const hashes: Buffer[] = []
  for (let off = 0; off < content.length; off += pieceLength) hashes.push(sha1(content.subarray(off, off + pieceLength)))
  const infoBytes = Buffer.from(bencode.encode({ length: content.length, name, 'piece length': pieceLength, pieces: Buffer.concat(hashes) }))
  const metainfo = parseInfo(infoBytes)
  return { content, metainfo, magnet: { infoHashV1: metainfo.infoHashV1, wireInfoHash: metainfo.wireInfoHash, trackers: [], peers: [] } }
}

export class MemoryStore implements PieceStore {
  readonly have = new Set<number>()
  /** Every piece writePiece accepted, in order: lets tests prove a bad piece was never stored. */
  readonly writes: number[] = []
  private readonly hashes: Buffer[]
  private readonly data: Buffer

  /** With `content`, the store starts complete (a seeder). */
  constructor (readonly metainfo: Metainfo, content?: Buffer) {
    this.hashes = pieceHashes(metainfo)
    // Touch every page now, so page faults do not count against transfer timings.
    this.data = Buffer.allocUnsafe(metainfo.totalLength).fill(0)
    if (content !== undefined) {
      content.copy(this.data)
      for (let i = 0; i < metainfo.pieceCount; i++) this.have.add(i)
    }
  }

  get complete (): boolean {
    return this.have.size === this.metainfo.pieceCount
  }

  get bytes (): Buffer {
    return this.data
  }

  async verifyExisting (): Promise<number> {
    return this.have.size
  }

  async writePiece (index: number, data: Uint8Array): Promise<void> {
    if (data.length !== this.metainfo.pieceSize(index) || !sha1(data).equals(this.hashes[index]!)) {
      throw new PieceHashMismatchError(index)
    }
    this.data.set(data, index * this.metainfo.pieceLength)
    this.have.add(index)
    this.writes.push(index)
  }

  async readBlock (index: number, offset: number, length: number): Promise<Buffer> {
    if (!this.have.has(index)) throw new Error(`piece ${index} not verified`)
    const start = index * this.metainfo.pieceLength + offset
    return Buffer.from(this.data.subarray(start, start + length))
  }

  async close (): Promise<void> {}
}
