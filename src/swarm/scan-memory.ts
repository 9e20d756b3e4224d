/**
 * What spares the piece picker its full scans (piece-picker.ts `pick`, a pass over every piece) when a
 * peer's chatter refills its pipeline: each unchoke, reject or have does, and a peer that claims only
 * what we cannot ask it for would make each of them a pass that finds nothing.
 *
 * A scan that found nothing to start from a peer is remembered, per peer. From then on, what the peer
 * may start is among the candidates noted since: the pieces it announced (have), the pieces back in the
 * pool (picker.reopenedSince), the pieces it rejected and was forgiven; and the failed pieces whose
 * choice depends on the other peers, which the caller passes. Everything else only takes pieces away: a
 * piece started or done, a refusal. So the memory never hides a piece the peer could give, and the
 * chatter costs one candidate at a time, not a pass over the torrent each.
 */
import type { PieceAnnouncement } from './peer-pieces.js'
import type { PiecePicker } from './piece-picker.js'

/**
 * Candidates noted for a peer since a scan found nothing to start from it, kept up to this many; past
 * it the next pick scans again (one pass over the torrent per this many candidates).
 */
export const MAX_CANDIDATES_SINCE_SCAN = 1024

/** A full scan found no piece to start from a peer; `reopened` is the picker's count it has caught up with. */
interface NothingToPick {
  reopened: number
  readonly since: Set<number>
}

export class ScanMemory<P extends object> {
  private readonly memos = new WeakMap<P, NothingToPick>()

  /** A have is a candidate; a bitfield or a have-all may change anything: the next pick scans. */
  announced (peer: P, message: PieceAnnouncement): void {
    const memo = this.memos.get(peer)
    if (memo === undefined) return
    if (message.kind === 'have' && memo.since.size < MAX_CANDIDATES_SINCE_SCAN) memo.since.add(message.index)
    else this.memos.delete(peer)
  }

  /** Pieces that the peer may be asked for again (its refusals, forgiven). */
  add (peer: P, indices: ReadonlySet<number>): void {
    const memo = this.memos.get(peer)
    if (memo === undefined) return
    if (memo.since.size + indices.size > MAX_CANDIDATES_SINCE_SCAN) this.memos.delete(peer)
    else for (const i of indices) memo.since.add(i)
  }

  /**
   * The next piece to start from `peer`, rarest first, among the pieces `has` and `accept` take; -1
   * when there is none. `extra`: candidates the memory does not follow (failed pieces whose choice
   * depends on the other peers).
   */
  pick (peer: P, picker: PiecePicker, has: (i: number) => boolean, accept: (i: number) => boolean, extra: () => Iterable<number>): number {
    const memo = this.memos.get(peer)
    if (memo !== undefined && this.catchUp(memo, picker)) {
      // What fails now fails for good until it is a candidate again: drop it, so the set keeps only what is pickable.
      for (const i of memo.since) if (!picker.isMissing(i) || !has(i) || !accept(i)) memo.since.delete(i)
      const index = picker.pickAmong([...memo.since, ...extra()], has, accept)
      memo.since.delete(index)
      return index
    }
    const index = picker.pick(has, accept)
    if (index < 0) this.memos.set(peer, { reopened: picker.reopened, since: new Set() })
    else this.memos.delete(peer)
    return index
  }

  /** Adds the pieces reopened since to the candidates; false when that is no longer cheaper than a scan. */
  private catchUp (memo: NothingToPick, picker: PiecePicker): boolean {
    const reopened = picker.reopenedSince(memo.reopened)
    if (reopened === undefined || memo.since.size + reopened.length > MAX_CANDIDATES_SINCE_SCAN) return false
    for (const i of reopened) memo.since.add(i)
    memo.reopened = picker.reopened
    return true
  }
}
