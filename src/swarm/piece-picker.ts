/**
 * Piece-level state of a download and the rarest-first choice of the next piece to start.
 *
 * Availability is counted per piece, except for peers that have everything (have-all, or a full
 * bitfield): they are counted once in `seeds`, since they add the same amount to every piece and so
 * never change which piece is rarest, and connecting a seed should not cost a pass over all pieces.
 */
import type { Bitfield } from './bitfield.js'

const MISSING = 0
const ACTIVE = 1
const DONE = 2

/**
 * The last reopened pieces the picker remembers (reopenedSince). A peer whose memory of a scan that
 * found nothing is older than this many reopenings is scanned again: one pass per this many.
 */
export const REOPENED_LOG_SIZE = 1024

export class PiecePicker {
  private readonly availability: Uint32Array
  private readonly state: Uint8Array
  private seeds = 0
  private done = 0
  private reopenedCount = 0
  /** Ring of the last REOPENED_LOG_SIZE reopened indices: entry k % size is the k-th reopening. */
  private readonly reopenedLog = new Uint32Array(REOPENED_LOG_SIZE)
  private scanCount = 0

  /** @param random uniform in [0, 1), for the scan's start (tests pass a seeded one). */
  constructor (readonly pieceCount: number, have: Iterable<number>, private readonly random: () => number = Math.random) {
    this.availability = new Uint32Array(pieceCount)
    this.state = new Uint8Array(pieceCount)
    for (const i of have) {
      if (i >= 0 && i < pieceCount && this.state[i] !== DONE) {
        this.state[i] = DONE
        this.done++
      }
    }
  }

  get doneCount (): number {
    return this.done
  }

  get complete (): boolean {
    return this.done === this.pieceCount
  }

  isDone (index: number): boolean {
    return this.state[index] === DONE
  }

  isMissing (index: number): boolean {
    return this.state[index] === MISSING
  }

  /** How many times a started piece went back to the pool (markMissing): the only way a piece becomes pickable again. */
  get reopened (): number {
    return this.reopenedCount
  }

  /**
   * The pieces reopened since `reopened` was read (repeats possible, some maybe taken again since), or
   * undefined when the log no longer holds them all.
   */
  reopenedSince (reopened: number): number[] | undefined {
    if (reopened > this.reopenedCount || this.reopenedCount - reopened > REOPENED_LOG_SIZE) return undefined
    const out: number[] = []
    for (let k = reopened; k < this.reopenedCount; k++) out.push(this.reopenedLog[k % REOPENED_LOG_SIZE]!)
    return out
  }

  /** Full scans done by `pick` (each visits every piece): the picker's cost, for stats. */
  get scans (): number {
    return this.scanCount
  }

  availabilityOf (index: number): number {
    return this.availability[index]! + this.seeds
  }

  addSeed (): void { this.seeds++ }
  removeSeed (): void { this.seeds-- }

  addHave (index: number): void {
    this.availability[index]!++
  }

  addBitfield (bits: Bitfield): void {
    for (let i = 0; i < this.pieceCount; i++) if (bits.get(i)) this.availability[i]!++
  }

  removeBitfield (bits: Bitfield): void {
    for (let i = 0; i < this.pieceCount; i++) if (bits.get(i)) this.availability[i]!--
  }

  markActive (index: number): void {
    if (this.state[index] === MISSING) this.state[index] = ACTIVE
  }

  /** A piece whose download was abandoned or failed verification becomes pickable again. */
  markMissing (index: number): void {
    if (this.state[index] !== ACTIVE) return
    this.state[index] = MISSING
    this.reopenedLog[this.reopenedCount % REOPENED_LOG_SIZE] = index
    this.reopenedCount++
  }

  markDone (index: number): void {
    if (this.state[index] === DONE) return
    this.state[index] = DONE
    this.done++
  }

  /**
   * The missing piece with the fewest holders among those `has` accepts; -1 when there is none.
   * Ties are broken by scanning from a random start, which costs one random number per pick
   * instead of one per tied piece. A piece held by exactly one peer cannot be beaten, so the scan
   * stops there.
   */
  pick (has: (index: number) => boolean, accept?: (index: number) => boolean): number {
    const n = this.pieceCount
    if (n === 0) return -1
    this.scanCount++
    const start = Math.floor(this.random() * n)
    let best = -1
    let bestAvailability = Infinity
    for (let k = 0; k < n; k++) {
      const i = start + k < n ? start + k : start + k - n
      if (this.state[i] !== MISSING) continue
      const a = this.availability[i]!
      if (a >= bestAvailability || !has(i)) continue
      if (accept !== undefined && !accept(i)) continue
      best = i
      bestAvailability = a
      if (a + this.seeds <= 1) break
    }
    return best
  }

  /**
   * `pick` restricted to `indices` (which may repeat or name pieces not missing): the rarest missing
   * one that `has` and `accept` accept, -1 when there is none. Costs the candidates, not the torrent.
   */
  pickAmong (indices: Iterable<number>, has: (index: number) => boolean, accept?: (index: number) => boolean): number {
    let best = -1
    let bestAvailability = Infinity
    for (const i of indices) {
      if (this.state[i] !== MISSING) continue
      const a = this.availability[i]!
      if (a >= bestAvailability || !has(i)) continue
      if (accept !== undefined && !accept(i)) continue
      best = i
      bestAvailability = a
    }
    return best
  }
}
