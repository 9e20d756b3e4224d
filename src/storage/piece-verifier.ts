/**
 * Decides whether a whole piece is the torrent's: SHA-1 against `info.pieces` for v1, the BEP 52 merkle
 * hashes for v2, and both for a hybrid (a hybrid's two hash sets could disagree in a crafted torrent;
 * a piece is only good when it satisfies every hash we know).
 */
import { timingSafeEqual, createHash } from 'node:crypto'
import { HASH_SIZE, pieceMerkleHash } from '../torrent/merkle.js'
import { fileIndexAtPiece, pieceHashV1, type ParsedTorrent } from '../torrent/parsed-torrent.js'
import { PieceLayersUnavailableError } from './errors.js'

/** Returns undefined when `data` is piece `index`, else why not. */
export type PieceVerifier = (index: number, data: Uint8Array) => string | undefined

export function makePieceVerifier (t: ParsedTorrent): PieceVerifier {
  const checkV1 = t.pieceHashesV1 !== undefined
  const hasV2 = t.version !== 'v1'
  if (hasV2 && t.pieceLayers === undefined && !checkV1) {
    const big = t.files.filter(f => !f.pad && f.length > t.pieceLength)
    if (big.length > 0) {
      throw new PieceLayersUnavailableError(`v2 torrent without piece layers (from a magnet link?): ${big.length} files ` +
        `larger than one piece (e.g. ${big[0]!.path.join('/')}) cannot be verified piece by piece`)
    }
  }
  return (index, data) => {
    // Checked here, not left to the caller: an index past the v1 hashes would compare against no hash,
    // and bytes past a v2 file's end are not covered by its merkle hash.
    if (!Number.isInteger(index) || index < 0 || index >= t.pieceCount) return 'piece index out of range'
    if (data.length !== t.pieceSize(index)) return `${data.length} bytes, the piece has ${t.pieceSize(index)}`
    if (checkV1) {
      const digest = createHash('sha1').update(data).digest()
      if (!timingSafeEqual(digest, pieceHashV1(t, index)!)) return 'SHA-1 mismatch'
    }
    if (hasV2) {
      const fi = fileIndexAtPiece(t.files, t.pieceLength, index)
      const file = t.files[fi]
      if (file?.piecesRoot === undefined) return 'piece is not in any file'
      const inFile = index * t.pieceLength - file.offset
      const bytes = data.subarray(0, Math.min(data.length, file.length - inFile))
      let expected: Uint8Array | undefined
      if (file.length <= t.pieceLength) {
        expected = file.piecesRoot
      } else {
        // Hybrid from a magnet: no layers, and the SHA-1 check above already covered this piece.
        const layer = t.pieceLayers?.get(Buffer.from(file.piecesRoot).toString('hex'))
        if (layer === undefined) return checkV1 ? undefined : 'no piece layer for this file'
        const at = (inFile / t.pieceLength) * HASH_SIZE
        expected = layer.subarray(at, at + HASH_SIZE)
      }
      if (!pieceMerkleHash(bytes, t.pieceLength, file.length).equals(expected)) return 'SHA-256 merkle mismatch'
    }
    return undefined
  }
}
