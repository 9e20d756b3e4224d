/**
 * Who may be asked for a piece that failed verification (downloader.ts). The peers whose copies of
 * it failed are kept away from it while another peer that has sent us blocks can serve it; and a piece
 * that failed with blocks from several peers is fetched next from one peer alone, so that its verdict
 * names one sender (bad-pieces.ts).
 */
import type { Peer } from './peer.js'

export class RefetchSources {
  /** Pieces that failed verification, and the ids of the peers whose copies failed. */
  private readonly avoid = new Map<number, Set<string>>()
  /** Pieces whose last copy failed mixed: the id of the peer fetching the next copy, or undefined while nobody is. */
  private readonly singleSource = new Map<number, string | undefined>()

  constructor (private readonly peers: () => Iterable<Peer>, private readonly isBanned: (id: string) => boolean) {}

  /** The pieces whose choice depends on the other peers (the scan memory's extra candidates). */
  pieces (): number[] {
    return [...this.avoid.keys(), ...this.singleSource.keys()]
  }

  /** Piece `index` failed with blocks from `contributors`. */
  failed (index: number, contributors: readonly Peer[]): void {
    const avoid = this.avoid.get(index) ?? new Set<string>()
    for (const p of contributors) avoid.add(p.id)
    this.avoid.set(index, avoid)
    if (contributors.length > 1) this.singleSource.set(index, this.singleSourceFor(index, avoid))
    else this.singleSource.delete(index)
  }

  /** Piece `index` verified: anyone may be asked for it again (it is not asked for again anyway). */
  verified (index: number): void {
    this.avoid.delete(index)
    this.singleSource.delete(index)
  }

  mayAsk (peer: Peer, index: number): boolean {
    const avoid = this.avoid.get(index)
    if (avoid === undefined || !avoid.has(peer.id) || this.singleSource.get(index) === peer.id) return true
    // Its copy of this piece failed before: use it again only if no other peer can serve the piece, one
    // that has sent us blocks (a peer that claims every piece and sends nothing would keep it away for ever).
    for (const other of this.peers()) {
      if (other !== peer && other.phase === 'active' && !other.wire.peerChoking && other.downloaded > 0 && !other.snubbed && other.has(index) && !avoid.has(other.id)) return false
    }
    return true
  }

  /** A piece fetched from one peer alone is that peer's once it has asked for a block. */
  mayTake (peer: Peer, index: number): boolean {
    if (!this.singleSource.has(index)) return true
    const owner = this.singleSource.get(index)
    return owner === undefined || owner === peer.id
  }

  /** `peer` is asked for a block of `index` (or a late block of it starts it again): a single-source piece nobody has taken becomes its. */
  claim (peer: Peer, index: number): void {
    if (this.singleSource.has(index) && this.singleSource.get(index) === undefined) this.singleSource.set(index, peer.id)
  }

  /** Nothing of piece `index` arrived from anyone and nobody is asked for it: the next copy may come from any one peer. */
  released (index: number): void {
    if (this.singleSource.has(index)) this.singleSource.set(index, undefined)
  }

  peerClosed (peer: Peer): void {
    for (const [index, owner] of this.singleSource) if (owner === peer.id) this.singleSource.set(index, undefined)
  }

  /**
   * Who fetches the next copy of a piece that failed with blocks from several peers: a peer that has
   * sent us blocks, the most, one that did not contribute to a failure of the piece first; undefined
   * (the first peer asked) when none has sent any. Left to the first asked, a peer that claims every
   * piece and sends nothing took such pieces and held them until its requests timed out, while the
   * honest contributor was kept away from them (the hostile bench's wrong-block + silent + honest case).
   */
  private singleSourceFor (index: number, avoid: ReadonlySet<string>): string | undefined {
    let best: Peer | undefined
    const rank = (p: Peer): number => (avoid.has(p.id) ? 0 : 2 ** 52) + p.downloaded
    for (const p of this.peers()) {
      if (p.phase !== 'active' || p.wire.peerChoking || p.snubbed || p.downloaded === 0 || !p.has(index) || this.isBanned(p.id)) continue
      if (best === undefined || rank(p) > rank(best)) best = p
    }
    return best?.id
  }
}
