/**
 * One piece being downloaded: its blocks' request state and the bytes received so far, kept in
 * memory until the whole piece can be handed to PieceStore.writePiece (which verifies it). The piece's
 * buffer is allocated at its first block: a piece only asked for costs its bookkeeping, not its length.
 * `S` identifies a block's source, so a failed piece can be blamed on the peers that sent it.
 *
 * A request is one block of BLOCK_SIZE, the 16 KiB block BEP 52 hashes (torrent/merkle.ts): every
 * client requests that size (BEP 3), and a v2 block then never straddles two merkle leaves.
 */
import { BLOCK_SIZE } from '../torrent/merkle.js'
import type { PieceBuffers } from './piece-buffers.js'

export { BLOCK_SIZE }

const FREE = 0
const REQUESTED = 1
const RECEIVED = 2

export class ActivePiece<S> {
  readonly blockCount: number
  private buffer: Buffer | undefined
  /** Per block: how many peers it is outstanding at (more than one only in endgame). */
  readonly requesters: Uint8Array
  readonly sources: Array<S | undefined>
  private readonly status: Uint8Array
  private received = 0
  /** Blocks in the REQUESTED state. */
  private requested = 0
  /** Blocks below this index are not FREE; keeps picking O(1) on the common in-order path. */
  private freeHint = 0

  constructor (readonly index: number, readonly length: number, private readonly buffers?: PieceBuffers) {
    this.blockCount = Math.ceil(length / BLOCK_SIZE)
    this.requesters = new Uint8Array(this.blockCount)
    this.status = new Uint8Array(this.blockCount)
    this.sources = new Array<S | undefined>(this.blockCount)
  }

  /** The piece's bytes; whole once `complete`. */
  get data (): Buffer {
    this.buffer ??= this.buffers?.take(this.length) ?? Buffer.allocUnsafe(this.length)
    return this.buffer
  }

  /** The piece is on disk and nothing reads its bytes any more: its buffer goes back for the next piece. */
  recycle (): void {
    if (this.buffer !== undefined) this.buffers?.give(this.buffer)
    this.buffer = undefined
  }

  /** Bytes held for received blocks: the piece's length once a block arrived, else 0. */
  get bufferBytes (): number {
    return this.buffer === undefined ? 0 : this.length
  }

  /** Nobody is asked for any block and none arrived: the piece can go back to the pool at no loss. */
  get idle (): boolean {
    return this.received === 0 && this.requested === 0
  }

  blockLength (block: number): number {
    return block === this.blockCount - 1 ? this.length - block * BLOCK_SIZE : BLOCK_SIZE
  }

  /** The first block nobody has been asked for, or -1. */
  nextFree (): number {
    while (this.freeHint < this.blockCount && this.status[this.freeHint] !== FREE) this.freeHint++
    return this.freeHint < this.blockCount ? this.freeHint : -1
  }

  isRequested (block: number): boolean {
    return this.status[block] === REQUESTED
  }

  isReceived (block: number): boolean {
    return this.status[block] === RECEIVED
  }

  markRequested (block: number): void {
    if (this.status[block] === RECEIVED) return
    if (this.status[block] === FREE) this.requested++
    this.status[block] = REQUESTED
    this.requesters[block]!++
  }

  /** One requester gave up the block (timeout, reject, disconnect, cancel). */
  release (block: number): void {
    if (this.requesters[block]! > 0) this.requesters[block]!--
    if (this.status[block] === REQUESTED && this.requesters[block] === 0) {
      this.status[block] = FREE
      this.requested--
      if (block < this.freeHint) this.freeHint = block
    }
  }

  /**
   * Store a block (the caller releases its own request first). Returns false for a duplicate
   * (endgame) copy of a block already received.
   */
  receive (block: number, bytes: Uint8Array, source: S): boolean {
    if (this.status[block] === RECEIVED) return false
    if (this.status[block] === REQUESTED) this.requested--
    this.status[block] = RECEIVED
    this.sources[block] = source
    this.data.set(bytes, block * BLOCK_SIZE)
    this.received++
    return true
  }

  get complete (): boolean {
    return this.received === this.blockCount
  }

  get hasUnreceived (): boolean {
    return this.received < this.blockCount
  }

  /** Distinct sources of the received blocks. */
  contributors (): Set<S> {
    const set = new Set<S>()
    for (const s of this.sources) if (s !== undefined) set.add(s)
    return set
  }
}
