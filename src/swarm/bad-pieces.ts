/**
 * Blame for pieces that failed verification.
 *
 * At failure time we only know who contributed: a piece entirely from one peer convicts that peer.
 * A mixed piece convicts nobody (an honest peer shares every mixed failure with the bad one, so
 * counting strikes banned both); instead the swarm fetches its next copy from one peer alone
 * (`singleSource` in swarm.ts), whose verdict then names one sender. The failed bytes are kept, and
 * when the piece later verifies, every block that differs from the good copy convicts its sender
 * outright, so a bad peer hiding in mixed pieces is caught by the first good copy.
 */
import { BLOCK_SIZE } from './active-piece.js'

/** Failed copies kept per piece for later comparison; bounds memory under repeated failures. */
const MAX_FAILED_COPIES = 2

interface FailedCopy<S> {
  readonly data: Uint8Array
  readonly sources: ReadonlyArray<S | undefined>
}

export interface FailureVerdict<S> {
  readonly contributors: S[]
  readonly banned: S[]
}

export class BadPieces<S> {
  private readonly banned = new Set<string>()
  private readonly failed = new Map<number, Array<FailedCopy<S>>>()

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

    const banned: S[] = []
    const alone = contributors.length === 1 ? contributors[0]! : undefined
    if (alone !== undefined && !this.banned.has(this.idOf(alone))) {
      this.banned.add(this.idOf(alone))
      banned.push(alone)
    }
    return { contributors, banned }
  }

  /** Piece `index` verified as `good`: convict the senders of blocks that differed in failed copies. */
  success (index: number, good: Uint8Array): S[] {
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
}
