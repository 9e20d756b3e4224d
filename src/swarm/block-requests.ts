/**
 * The requests we have outstanding at one peer, and those we recently gave up on (cancelled,
 * timed out, dropped by a choke): a peer may legitimately still deliver those, since a cancel
 * crosses the piece in flight. Anything else it sends is a piece we never asked for.
 */
import { BLOCK_SIZE } from './active-piece.js'

/** Blocks per piece never exceed this (a 32 GiB piece); the product stays below 2^53. */
const KEY_STRIDE = 2 ** 21

export function blockKey (index: number, block: number): number {
  return index * KEY_STRIDE + block
}

export function keyIndex (key: number): number {
  return Math.floor(key / KEY_STRIDE)
}

export function keyBlock (key: number): number {
  return key % KEY_STRIDE
}

export function keyOffset (key: number): number {
  return keyBlock(key) * BLOCK_SIZE
}

export type Arrival = 'requested' | 'cancelled' | 'unrequested'

/**
 * Bound on the excusable set, so a peer we cancel a lot cannot make it grow without limit. There is
 * no time limit: a peer frozen for minutes (SIGSTOP, a suspended laptop) still delivers what it had
 * queued when it wakes, and that is late, not hostile.
 */
const MAX_CANCELLED = 4096

export class BlockRequests {
  private readonly pending = new Map<number, number>()
  /** Given-up keys, with how many copies of each may still arrive (one per request we gave up). */
  private readonly cancelled = new Map<number, number>()

  get size (): number {
    return this.pending.size
  }

  has (key: number): boolean {
    return this.pending.has(key)
  }

  keys (): number[] {
    return [...this.pending.keys()]
  }

  /**
   * A given-up request of the same block stays excusable: after a timeout we may ask the same peer
   * for the same block again, and it may answer both requests (the cancel crossed the first copy).
   */
  add (key: number, now: number): void {
    this.pending.set(key, now)
  }

  /** Classify an arriving block and forget it. */
  take (key: number): Arrival {
    if (this.pending.delete(key)) return 'requested'
    const copies = this.cancelled.get(key)
    if (copies === undefined) return 'unrequested'
    if (copies > 1) this.cancelled.set(key, copies - 1)
    else this.cancelled.delete(key)
    return 'cancelled'
  }

  /** The peer refused the request (BEP 6 reject): it will not send it, so it is not excusable. */
  drop (key: number): boolean {
    return this.pending.delete(key)
  }

  /** We gave up on the request; the block may still arrive. */
  giveUp (key: number, _now: number): boolean {
    if (!this.pending.delete(key)) return false
    const copies = this.cancelled.get(key)
    if (copies !== undefined) {
      this.cancelled.set(key, copies + 1)
      return true
    }
    if (this.cancelled.size >= MAX_CANCELLED) {
      const oldest = this.cancelled.keys().next()
      if (oldest.done !== true) this.cancelled.delete(oldest.value)
    }
    this.cancelled.set(key, 1)
    return true
  }

  /** Give up every outstanding request; returns their keys. */
  giveUpAll (now: number): number[] {
    const keys = this.keys()
    for (const k of keys) this.giveUp(k, now)
    return keys
  }
}
