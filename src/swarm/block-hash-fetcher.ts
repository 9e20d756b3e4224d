/**
 * Fetching the 16 KiB block hashes of a v2 piece that failed its check with blocks from several peers,
 * as libtorrent does (torrent::piece_failed asks hash_picker::verify_block_hashes, then blames only the
 * senders of the blocks whose hashes differ). BEP 52 hash requests with base layer 0, proven up to the
 * file's pieces root (merkle-proof.ts, pieceBlocksRequest), so any peer may answer: hashes that do not
 * lead to the root are a lie, and the peer that sent them is banned like one sending bad data.
 *
 * One request per piece at a time, to a peer that has the piece, those that did not contribute to the
 * failed copy first; a reject or silence for the request timeout moves it to the next, and after
 * MAX_ATTEMPTS peers the piece is left to the slower rule of bad-pieces.ts (the next good copy). At
 * most MAX_PIECES pieces wait at once, and MAX_OUTSTANDING_PER_SOURCE requests per peer (libtorrent
 * serves two at once).
 */
import { HASH_SIZE } from '../torrent/merkle.js'
import { sameRequest, verifyHashes, type FileTreeShape, type HashRequest } from '../torrent/merkle-proof.js'
import { HashesMismatchError } from './errors.js'

const MAX_ATTEMPTS = 3
const MAX_PIECES = 16
const MAX_OUTSTANDING_PER_SOURCE = 2

/** What verifies a piece's block hashes: its request, its file's shape, and how many real blocks it has. */
export interface PieceBlocks {
  readonly request: HashRequest
  readonly shape: FileTreeShape
  readonly blocks: number
}

interface Wanted<S> extends PieceBlocks {
  readonly index: number
  readonly avoid: ReadonlySet<S>
  readonly tried: Set<S>
  source: S | undefined
  sentAt: number
}

export class BlockHashFetcher<S> {
  private readonly wanted = new Map<number, Wanted<S>>()
  /** Requests sent to each source and not answered yet (an answer after a timeout is late, not unsolicited). */
  private readonly unanswered = new Map<S, number>()

  constructor (
    /** Peers that have piece `index`, to ask. */
    private readonly holders: (index: number) => Iterable<S>,
    private readonly send: (source: S, request: HashRequest) => void,
    /** The verified hashes of the piece's real blocks. */
    private readonly onLeaves: (index: number, leaves: Buffer[]) => void,
    private readonly now: () => number = Date.now
  ) {}

  /** Whether `source` owes us an answer (so a base-layer-0 answer from it is ours). */
  expects (source: S): boolean {
    return (this.unanswered.get(source) ?? 0) > 0
  }

  /** Piece `index` failed with blocks from `contributors`: fetch its block hashes, unless already under way. */
  want (index: number, piece: PieceBlocks, contributors: Iterable<S>): void {
    if (this.wanted.has(index) || this.wanted.size >= MAX_PIECES) return
    const w: Wanted<S> = { ...piece, index, avoid: new Set(contributors), tried: new Set(), source: undefined, sentAt: 0 }
    this.wanted.set(index, w)
    this.assign(w)
  }

  /** The piece verified (or the download stopped): its block hashes are no longer wanted. */
  forget (index: number): void {
    this.wanted.delete(index)
  }

  /** A `hashes` message; false when the source answers more requests than we sent it. Throws HashesMismatchError for lies. */
  hashes (source: S, request: HashRequest, hashes: Buffer): boolean {
    if (!this.answered(source)) return false
    const w = this.outstanding(source, request)
    if (w === undefined) return true
    const leaves = verifyHashes(w.request, hashes, w.shape)
    if (leaves === undefined) {
      this.next(w, source)
      throw new HashesMismatchError(`block hashes for piece ${w.index} do not lead to its file's pieces root`)
    }
    this.wanted.delete(w.index)
    const out: Buffer[] = []
    for (let b = 0; b < w.blocks; b++) out.push(Buffer.from(leaves.subarray(b * HASH_SIZE, (b + 1) * HASH_SIZE)))
    this.onLeaves(w.index, out)
    return true
  }

  /** A `hash reject`: ask the next peer. False as for hashes(). */
  reject (source: S, request: HashRequest): boolean {
    if (!this.answered(source)) return false
    const w = this.outstanding(source, request)
    if (w !== undefined) this.next(w, source)
    return true
  }

  /** The peer is gone: its requests go to the next peer. */
  remove (source: S): void {
    this.unanswered.delete(source)
    for (const w of [...this.wanted.values()]) if (w.source === source) this.next(w, source)
  }

  /** Requests unanswered for `timeoutMs` go to the next peer; pieces that had no peer to ask try again. */
  tick (timeoutMs: number): void {
    const now = this.now()
    for (const w of [...this.wanted.values()]) {
      if (w.source === undefined) this.assign(w)
      else if (now - w.sentAt > timeoutMs) this.next(w, w.source)
    }
  }

  private answered (source: S): boolean {
    const count = this.unanswered.get(source) ?? 0
    if (count === 0) return false
    this.unanswered.set(source, count - 1)
    return true
  }

  private outstanding (source: S, request: HashRequest): Wanted<S> | undefined {
    for (const w of this.wanted.values()) {
      if (w.source === source && sameRequest(w.request, request)) return w
    }
    return undefined
  }

  private next (w: Wanted<S>, source: S): void {
    w.tried.add(source)
    w.source = undefined
    if (w.tried.size >= MAX_ATTEMPTS) this.wanted.delete(w.index)
    else this.assign(w)
  }

  private assign (w: Wanted<S>): void {
    const load = new Map<S, number>()
    for (const o of this.wanted.values()) if (o.source !== undefined) load.set(o.source, (load.get(o.source) ?? 0) + 1)
    const candidates = [...this.holders(w.index)].filter(s => !w.tried.has(s) && (load.get(s) ?? 0) < MAX_OUTSTANDING_PER_SOURCE)
    // Peers that did not send the failed copy first: one that did may be the liar, and stall.
    const source = candidates.find(s => !w.avoid.has(s)) ?? candidates[0]
    if (source === undefined) return
    w.source = source
    w.sentAt = this.now()
    this.unanswered.set(source, (this.unanswered.get(source) ?? 0) + 1)
    this.send(source, w.request)
  }
}
