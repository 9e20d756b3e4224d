/**
 * Contract between the swarm engine and disk storage. Implemented by src/storage/file-store.ts.
 *
 * Invariant the whole project relies on: bytes reach their file only inside `writePiece`, and only
 * after the whole piece verified against the torrent (SHA-1 for v1 pieces, SHA-256 merkle for v2).
 */
export interface PieceStore {
  /** Pieces verified on disk. */
  readonly have: ReadonlySet<number>
  /** True when every piece is verified. */
  readonly complete: boolean
  /** Hash every piece present on disk (resume) and fill `have`. Returns the count verified. */
  verifyExisting (): Promise<number>
  /**
   * Verify then write a whole piece. Throws PieceHashMismatchError and writes nothing if it does not
   * verify. The caller reuses `data` once the promise settles: keep none of it (copy what you keep).
   */
  writePiece (index: number, data: Uint8Array): Promise<void>
  /** Read from a verified piece (to serve a peer's request). */
  readBlock (index: number, offset: number, length: number): Promise<Buffer>
  close (): Promise<void>
}
