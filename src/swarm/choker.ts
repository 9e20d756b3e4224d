/**
 * Which interested peers we upload to. Up to `slots - 1` regular slots go to the peers with the
 * best recent rate (while downloading: what they gave us, tit-for-tat; while seeding: what we gave
 * them, so the fastest receivers spread the torrent), plus one optimistic slot that rotates every
 * `optimisticRounds` rounds so newcomers get a chance to prove themselves.
 */
export interface ChokeCandidate<K> {
  readonly key: K
  readonly interested: boolean
  readonly rate: number
}

export class Choker<K> {
  private round = 0
  private optimistic: K | undefined

  /** @param random uniform in [0, 1), for the optimistic pick (tests pass a seeded one). */
  constructor (readonly slots: number, private readonly optimisticRounds = 3, private readonly random: () => number = Math.random) {}

  decide (candidates: ReadonlyArray<ChokeCandidate<K>>): Set<K> {
    const interested = candidates.filter(c => c.interested)
    const unchoke = new Set<K>()
    if (interested.length <= this.slots) {
      for (const c of interested) unchoke.add(c.key)
      return unchoke
    }
    const regular = [...interested].sort((a, b) => b.rate - a.rate).slice(0, Math.max(0, this.slots - 1))
    for (const c of regular) unchoke.add(c.key)

    const rest = interested.filter(c => !unchoke.has(c.key))
    const stillThere = rest.some(c => c.key === this.optimistic)
    if (this.round % this.optimisticRounds === 0 || !stillThere) {
      this.optimistic = rest[Math.floor(this.random() * rest.length)]?.key
    }
    this.round++
    if (this.optimistic !== undefined) unchoke.add(this.optimistic)
    return unchoke
  }
}
