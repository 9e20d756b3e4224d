/**
 * Blame for pieces that failed verification.
 *
 * At failure time we only know who contributed: a piece entirely from one peer convicts that peer.
 * A mixed piece convicts nobody (an honest peer shares every mixed failure with the bad one, so
 * counting strikes banned both); instead the swarm fetches its next copy from one peer alone
 * (`singleSource` in swarm.ts), whose verdict then names one sender. The failed bytes are kept, and
 * when the piece later verifies, every block that differs from the good copy convicts its sender
 * outright, so a bad peer hiding in mixed pieces is caught by the first good copy.
 *
 * A v2 piece needs no good copy: the hashes of its 16 KiB blocks, proven up to its file's pieces root
 * (BEP 52 hash requests, block-hash-fetcher.ts), convict the sender of each block that differs in the
 * failed copies kept, and judge every later copy of the piece as it fails.
 */
import { createHash } from 'node:crypto'
import { BLOCK_SIZE } from './active-piece.js'

/** Failed copies kept per piece for later comparison; bounds memory under repeated failures. */
const MAX_FAILED_COPIES = 2
/** Pieces whose block hashes are kept until they verify (at most 512 hashes, 16 KiB, each). */
const MAX_KNOWN_LEAVES = 64

interface FailedCopy<S> {
  readonly data: Uint8Array
  readonly sources: ReadonlyArray<S | undefined>
}

/** The verified hash of each block of a piece's file bytes (the first `bytes` of the piece; a hybrid's pad follows). */
export interface PieceLeaves {
  readonly leaves: readonly Buffer[]
  readonly bytes: number
}

export interface FailureVerdict<S> {
  readonly contributors: S[]
  readonly banned: S[]
  /** Judged block by block, by the piece's verified block hashes. */
  readonly byBlockHashes: boolean
}

export class BadPieces<S> {
  private readonly banned = new Set<string>()
  private readonly failed = new Map<number, Array<FailedCopy<S>>>()
  /** Verified block hashes of pieces that failed, until they verify. */
  private readonly leavesOf = new Map<number, PieceLeaves>()

  constructor (private readonly idOf: (source: S) => string) {}

  isBanned (id: string): boolean {
    return this.banned.has(id)
  }

  /** Peers that contributed to piece `index` (which failed), and which of them to ban now. */
  failure (index: number, data: Uint8Array, sources: ReadonlyArray<S | undefined>): FailureVerdict<S> {
    const contributors = [...new Set(sources.filter((s): s is S => s !== undefined))]
    const copies = this.failed.get(index) ?? []
    if (copies.length < MAX_FAILED_COPIES) copies.push({ data, sources: [...sources] })
    this.failed.set(index, copies)

    const leaves = this.leavesOf.get(index)
    if (leaves !== undefined) return { contributors, banned: this.convict({ data, sources }, leaves), byBlockHashes: true }
    const banned: S[] = []
    const alone = contributors.length === 1 ? contributors[0]! : undefined
    if (alone !== undefined && !this.banned.has(this.idOf(alone))) {
      this.banned.add(this.idOf(alone))
      banned.push(alone)
    }
    return { contributors, banned, byBlockHashes: false }
  }

  /**
   * The verified SHA-256 of each block of piece `index` (a failed v2 piece): convict the senders of the
   * blocks that differ in the failed copies kept, and judge the piece's later failures by them.
   */
  blockHashes (index: number, leaves: PieceLeaves): S[] {
    if (!this.leavesOf.has(index) && this.leavesOf.size >= MAX_KNOWN_LEAVES) this.leavesOf.delete(this.leavesOf.keys().next().value!)
    this.leavesOf.set(index, leaves)
    const banned: S[] = []
    // The copies stay for success(): a hybrid's pad bytes are in no leaf.
    for (const copy of this.failed.get(index) ?? []) banned.push(...this.convict(copy, leaves))
    return banned
  }

  /** Piece `index` verified as `good`: convict the senders of blocks that differed in failed copies. */
  success (index: number, good: Uint8Array): S[] {
    this.leavesOf.delete(index)
    const copies = this.failed.get(index)
    if (copies === undefined) return []
    this.failed.delete(index)
    const banned: S[] = []
    for (const copy of copies) {
      copy.sources.forEach((s, block) => {
        if (s === undefined) return
        const start = block * BLOCK_SIZE
        const end = Math.min(start + BLOCK_SIZE, good.length)
        if (Buffer.compare(copy.data.subarray(start, end), good.subarray(start, end)) === 0) return
        const id = this.idOf(s)
        if (this.banned.has(id)) return
        this.banned.add(id)
        banned.push(s)
      })
    }
    return banned
  }

  /** Senders of the blocks of `copy` whose SHA-256 is not the verified leaf, banned now. */
  private convict (copy: FailedCopy<S>, { leaves, bytes }: PieceLeaves): S[] {
    const banned: S[] = []
    copy.sources.forEach((s, block) => {
      const start = block * BLOCK_SIZE
      if (s === undefined || block >= leaves.length || start >= Math.min(bytes, copy.data.length)) return
      const end = Math.min(start + BLOCK_SIZE, bytes, copy.data.length)
      if (createHash('sha256').update(copy.data.subarray(start, end)).digest().equals(leaves[block]!)) return
      const id = this.idOf(s)
      if (this.banned.has(id)) return
      this.banned.add(id)
      banned.push(s)
    })
    return banned
  }
}
