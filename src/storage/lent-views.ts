/**
 * Buffers whose views are lent out to be sent, counted until each view has been sent.
 *
 * The read cache's pieces leave as views (a block is a view of its cached piece: no copy), and a view
 * may wait in a wire's batch or a socket's write queue long after its piece left the cache. A piece's
 * buffer may therefore be filled with another piece only when none of its views is outstanding. The
 * cache counts a view when it lends it (`lend`); the writer that hands a view to the kernel (or to
 * node:tls, which copies it into its records) reports it sent once that write has completed (`sent`).
 * A view that is never sent (its request cancelled, its link closed, or encrypted into a copy by MSE)
 * is never reported: its buffer is then never reused and the collector takes it, which is safe.
 */
const outstanding = new WeakMap<ArrayBufferLike, number>()

/** Counts views of `buf` from now on. */
export function track (buf: Buffer): void {
  outstanding.set(buf.buffer, 0)
}

/** A view of tracked `buf`, counted as outstanding until `sent`. */
export function lend (buf: Buffer, start: number, end: number): Buffer {
  outstanding.set(buf.buffer, (outstanding.get(buf.buffer) ?? 0) + 1)
  return buf.subarray(start, end)
}

/** `view` (one `lend` result, or what is left of it) has been sent and is read no more. Untracked views are ignored. */
export function sent (view: Uint8Array): void {
  const n = outstanding.get(view.buffer)
  if (n !== undefined && n > 0) outstanding.set(view.buffer, n - 1)
}

/** Views of `buf` lent and not yet sent; 0 for a buffer never tracked. */
export function viewsOutstanding (buf: Buffer): number {
  return outstanding.get(buf.buffer) ?? 0
}
