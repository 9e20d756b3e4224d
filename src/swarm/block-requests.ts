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

/** How long a given-up request stays excusable. */
const CANCEL_GRACE_MS = 60_000
/** Bound on the excusable set, so a peer we cancel a lot cannot make it grow without limit. */
const MAX_CANCELLED = 4096

export class BlockRequests {
  private readonly pending = new Map<number, number>()
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

  add (key: number, now: number): void {
    this.pending.set(key, now)
    this.cancelled.delete(key)
  }

  /** Classify an arriving block and forget it. */
  take (key: number): Arrival {
    if (this.pending.delete(key)) return 'requested'
    if (this.cancelled.delete(key)) return 'cancelled'
    return 'unrequested'
  }

  /** The peer refused the request (BEP 6 reject): it will not send it, so it is not excusable. */
  drop (key: number): boolean {
    return this.pending.delete(key)
  }

  /** We gave up on the request; the block may still arrive. */
  giveUp (key: number, now: number): boolean {
    if (!this.pending.delete(key)) return false
    if (this.cancelled.size >= MAX_CANCELLED) {
      const oldest = this.cancelled.keys().next()
      if (oldest.done !== true) this.cancelled.delete(oldest.value)
    }
    this.cancelled.set(key, now)
    return true
  }

  /** Give up every outstanding request; returns their keys. */
  giveUpAll (now: number): number[] {
    const keys = this.keys()
    for (const k of keys) this.giveUp(k, now)
    return keys
  }

  prune (now: number): void {
    for (const [k, t] of this.cancelled) {
      if (now - t < CANCEL_GRACE_MS) break
      this.cancelled.delete(k)
    }
  }
}
