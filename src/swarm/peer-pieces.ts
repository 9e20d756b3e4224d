/**
 * What one peer has, kept in one place. Before the swarm knows the piece count (a magnet link before
 * its metadata) the peer's announcements are held as they came. Once attached to the picker, the peer
 * either has everything (have-all, or a bitfield that filled up: counted once among the picker's seeds)
 * or a bitfield counted piece by piece; `need` counts its pieces we still lack, which drives our interest
 * without rescanning bitfields.
 */
import { MalformedMessageError } from '../errors.js'
import { Bitfield } from './bitfield.js'
import type { PiecePicker } from './piece-picker.js'

/** Bound on announcements buffered before the metadata tells us the piece count. */
export const MAX_EARLY_HAVES = 400_000

/** A peer's announcement of what it has (BEP 3 bitfield and have, BEP 6 have all). */
export type PieceAnnouncement =
  | { readonly kind: 'bitfield', readonly bytes: Uint8Array }
  | { readonly kind: 'have', readonly index: number }
  | { readonly kind: 'have-all' }

export class PeerPieces {
  private early: { bitfield?: Uint8Array, haves: number[], all: boolean } = { haves: [], all: false }
  private picker: PiecePicker | undefined
  private bits: Bitfield | undefined
  private all = false
  private needed = 0

  /** Its pieces we do not have yet. */
  get need (): number {
    return this.needed
  }

  get attached (): boolean {
    return this.picker !== undefined
  }

  /** Whether it has every piece (only known once attached). */
  get isSeed (): boolean {
    return this.all || (this.bits?.full ?? false)
  }

  has (index: number): boolean {
    return this.all || (this.bits?.get(index) ?? false)
  }

  /**
   * Records an announcement. Returns whether what the peer has changed for the picker (false while
   * unattached: it is held until attach). Throws MalformedMessageError for what no honest peer sends.
   */
  apply (message: PieceAnnouncement): boolean {
    const picker = this.picker
    if (picker === undefined) {
      this.hold(message)
      return false
    }
    switch (message.kind) {
      case 'bitfield': {
        const bits = Bitfield.fromWire(message.bytes, picker.pieceCount)
        if (bits === undefined) throw new MalformedMessageError('bitfield does not match the piece count')
        // A late bitfield replaces what we knew (BEP 3 allows it only first; tolerate, but stay consistent).
        this.leave(picker)
        this.all = false
        this.bits = bits
        picker.addBitfield(bits)
        this.needed = this.countNeeded(picker, bits)
        return true
      }
      case 'have': {
        const index = message.index
        if (index >= picker.pieceCount) throw new MalformedMessageError(`have ${index} beyond the last piece`)
        if (this.all || this.bits === undefined || !this.bits.set(index)) return false
        picker.addHave(index)
        if (!picker.isDone(index)) this.needed++
        if (this.bits.full) {
          picker.removeBitfield(this.bits)
          this.bits = undefined
          this.all = true
          picker.addSeed()
        }
        return true
      }
      case 'have-all':
        if (this.all) return false
        this.becomeSeed(picker)
        return true
    }
  }

  /** The piece count is known: apply what was held and count the peer in the picker. */
  attach (picker: PiecePicker): void {
    const n = picker.pieceCount
    const early = this.early
    this.early = { haves: [], all: false }
    this.picker = picker
    if (early.all) {
      this.becomeSeed(picker)
      return
    }
    const bits = early.bitfield !== undefined ? Bitfield.fromWire(early.bitfield, n) : new Bitfield(n)
    if (bits === undefined) throw new MalformedMessageError('bitfield does not match the piece count')
    for (const i of early.haves) {
      if (i >= n) throw new MalformedMessageError(`have ${i} beyond the last piece`)
      bits.set(i)
    }
    if (bits.full) {
      this.becomeSeed(picker)
      return
    }
    this.bits = bits
    picker.addBitfield(bits)
    this.needed = this.countNeeded(picker, bits)
  }

  /** The peer is gone: take it out of the picker's counts. */
  detach (): void {
    if (this.picker !== undefined) this.leave(this.picker)
    this.picker = undefined
  }

  /** We completed `index`. Returns whether the peer has it (then we need one piece less of it). */
  completed (index: number): boolean {
    if (!this.has(index)) return false
    this.needed--
    return true
  }

  private hold (message: PieceAnnouncement): void {
    switch (message.kind) {
      case 'bitfield':
        this.early.bitfield = Uint8Array.from(message.bytes)
        return
      case 'have':
        if (this.early.haves.length >= MAX_EARLY_HAVES) throw new MalformedMessageError('too many have messages')
        this.early.haves.push(message.index)
        return
      case 'have-all':
        this.early.all = true
    }
  }

  private becomeSeed (picker: PiecePicker): void {
    this.leave(picker)
    this.bits = undefined
    this.all = true
    picker.addSeed()
    this.needed = picker.pieceCount - picker.doneCount
  }

  private leave (picker: PiecePicker): void {
    if (this.all) picker.removeSeed()
    else if (this.bits !== undefined) picker.removeBitfield(this.bits)
  }

  private countNeeded (picker: PiecePicker, bits: Bitfield): number {
    let needed = 0
    for (let i = 0; i < picker.pieceCount; i++) if (bits.get(i) && !picker.isDone(i)) needed++
    return needed
  }
}
