/**
 * The responder's search for an AuthHello's swarm (BEP, "Responder", step 2): the initiator's proof
 * computed with every key of every swarm served at the offered level, and compared with the one
 * received; all of them, never stopping at a match, so that the time taken does not say which swarm
 * matched.
 *
 * Its cost grows with the number of swarms served: one HMAC per key, about 3 µs in Node whatever the
 * API (createHmac, a copied hash state and a one-shot hash of precomputed pads cost the same: a native
 * call each), so a responder serving 10,000 torrents spends about 30 ms on every AuthHello, whether it
 * matches or not. MSE's responder looks its torrent up in a table instead (bench/README.md, "The
 * responder's search", has the measurements and docs/design.md the trade-off). What the implementation
 * can do is keep the rest of the process moving: the keys are tried in slices of SEARCH_SLICE_KEYS with
 * a turn of the event loop between slices, so the links already open keep reading and writing while a
 * large search runs, and the connection's deadline is checked between slices.
 */
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { SwarmKey, SwarmLevel } from '../levels/level.js'
import { computeProof, proofMatches } from '../protocol/key-schedule.js'
import type { Deadline } from './deadline.js'

/** A swarm the responder serves, with whatever the caller wants back when it matches. */
export interface SwarmCandidate<T> {
  readonly level: SwarmLevel
  readonly swarm: T
}

/**
 * Keys tried in one turn of the event loop: about 0.8 ms of HMACs on this project's machine, less than
 * the CPU of one TLS handshake (about 1.5 ms), so a search never holds the other links longer than a
 * handshake does.
 */
export const SEARCH_SLICE_KEYS = 256

/** What the received proof turned out to be. */
export type SearchOutcome<T> =
  /** The proof of a served swarm at the offered level; `key` is the key that verified. */
  | { readonly kind: 'match', readonly candidate: SwarmCandidate<T>, readonly key: SwarmKey }
  /** No swarm's, but made at the offered level with the weaker (Basic) key of a swarm served at a stricter one. */
  | { readonly kind: 'weaker' }
  | { readonly kind: 'none' }

/** The AuthHello's fields the search needs. */
export interface ReceivedProof {
  readonly level: string
  /** Its 4-byte header, which the proof covers. */
  readonly header: Buffer
  readonly proof: Uint8Array
}

/**
 * Tries every key of `candidates` at the received level; without a match, every weaker key of the
 * candidates at other levels (for the caller's log: a LevelMismatchError rather than an
 * UnknownSwarmError; the prober is answered alike). Both passes always run in full, so an unknown
 * swarm and a wrong level take the same time. Rejects with the deadline's HandshakeTimeoutError if it
 * passes during the search.
 */
export async function searchSwarms<T> (
  candidates: Iterable<SwarmCandidate<T>>, received: ReceivedProof, exporter: Buffer, deadline: Deadline
): Promise<SearchOutcome<T>> {
  // Both passes' keys are listed first, from the swarms served when the AuthHello came: a torrent added
  // or removed during the search's turns changes neither pass.
  const own: Array<{ candidate: SwarmCandidate<T>, key: SwarmKey }> = []
  const weaker: SwarmKey[] = []
  for (const candidate of candidates) {
    if (candidate.level.name === received.level) {
      for (const key of candidate.level.swarmKeys) own.push({ candidate, key })
    } else {
      weaker.push(...candidate.level.weakerKeys)
    }
  }
  const tried = new SliceCounter(deadline)
  let match: { candidate: SwarmCandidate<T>, key: SwarmKey } | undefined
  for (const entry of own) {
    const pause = tried.next()
    if (pause !== undefined) await pause
    if (matches(entry.key, received, exporter) && match === undefined) match = entry
  }
  if (match !== undefined) return { kind: 'match', ...match }
  let found = false
  for (const key of weaker) {
    const pause = tried.next()
    if (pause !== undefined) await pause
    if (matches(key, received, exporter)) found = true
  }
  return found ? { kind: 'weaker' } : { kind: 'none' }
}

function matches (key: SwarmKey, received: ReceivedProof, exporter: Buffer): boolean {
  return proofMatches(computeProof(key.key, 'initiator', received.header, exporter), received.proof)
}

/**
 * Counts the keys tried. Before the first key of every slice but the first: a turn of the event loop,
 * then a look at the deadline. Within a slice nothing is awaited, not even a resolved promise.
 */
class SliceCounter {
  private count = 0
  constructor (private readonly deadline: Deadline) {}

  next (): Promise<void> | undefined {
    const index = this.count++
    if (index === 0 || index % SEARCH_SLICE_KEYS !== 0) return undefined
    return this.pause()
  }

  private async pause (): Promise<void> {
    await nextTurn()
    if (this.deadline.expired) throw this.deadline.timeout('the search for the AuthHello\'s swarm')
  }
}
