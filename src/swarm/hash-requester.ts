/**
 * Fetching the piece layers of a v2 torrent joined by magnet link (BEP 9 transfers only the info dict;
 * the layers are in the .torrent file, outside it). Each layer is asked for with BEP 52 hash requests,
 * in runs proven up to the file's pieces root (torrent/merkle-proof.ts), so a layer is checked against
 * the root the infohash covers before a piece is verified with it.
 *
 * A run is asked of one peer at a time. A peer that rejects or stalls is asked for that run again only
 * after a while; a peer whose hashes do not lead to the root is never asked for hashes again (the
 * swarm closes its link) and the run goes to another peer.
 */
import type { TorrentFile } from '../torrent/metainfo.js'
import { HASH_SIZE } from '../torrent/merkle.js'
import { fileTreeShape, pieceLayerRequests, sameRequest, verifyHashes, type FileTreeShape, type HashRequest } from '../torrent/merkle-proof.js'
import { HashesMismatchError } from './errors.js'

/** A peer that rejected or stalled on a run is asked for it again only after this long. */
const RETRY_AFTER_MS = 5_000
/** Runs outstanding at one peer at once. */
const MAX_OUTSTANDING_PER_SOURCE = 4

interface Run<S> {
  readonly file: FileJob
  readonly slot: number
  readonly request: HashRequest
  source: S | undefined
  sentAt: number
  /** Sources that refused or stalled on this run, and when they may be asked again. */
  readonly retryAt: Map<S, number>
}

interface FileJob {
  readonly rootHex: string
  readonly shape: FileTreeShape
  readonly parts: Array<Buffer | undefined>
}

/** The files of a torrent whose piece layers a magnet download must fetch: v2 files longer than a piece. */
export function filesNeedingLayers (files: readonly TorrentFile[], pieceLength: number): TorrentFile[] {
  return files.filter(f => !f.pad && f.piecesRoot !== undefined && f.length > pieceLength)
}

export class HashRequester<S> {
  private readonly runs: Array<Run<S>> = []
  private readonly jobs: FileJob[] = []
  private readonly sources = new Set<S>()
  private readonly distrusted = new Set<S>()
  /** Requests sent to each source and not answered yet (an answer after a timeout is late, not unsolicited). */
  private readonly unanswered = new Map<S, number>()
  private remaining: number

  constructor (
    files: readonly TorrentFile[],
    pieceLength: number,
    private readonly send: (source: S, request: HashRequest) => void,
    private readonly onLayers: (layers: Map<string, Buffer>) => void,
    private readonly now: () => number = Date.now
  ) {
    for (const f of filesNeedingLayers(files, pieceLength)) {
      const root = Buffer.from(f.piecesRoot!)
      const shape = fileTreeShape(f.length, pieceLength)
      const requests = pieceLayerRequests(root, shape)
      const job: FileJob = { rootHex: root.toString('hex'), shape, parts: new Array(requests.length).fill(undefined) }
      this.jobs.push(job)
      requests.forEach((request, slot) => this.runs.push({ file: job, slot, request, source: undefined, sentAt: 0, retryAt: new Map() }))
    }
    this.remaining = this.runs.length
  }

  get done (): boolean {
    return this.remaining === 0
  }

  /** A peer that may hold the layers (it is on the v2 swarm). */
  offer (source: S): void {
    if (this.done || this.distrusted.has(source)) return
    this.sources.add(source)
    this.assign()
  }

  remove (source: S): void {
    this.sources.delete(source)
    this.unanswered.delete(source)
    for (const run of this.runs) if (run.source === source) run.source = undefined
    this.assign()
  }

  /**
   * A `hashes` message. Returns false when the source answers more requests than we sent it (the caller
   * closes the link: BEP 52 says an answer MUST correlate with a request); a late answer to a run given
   * to another source is dropped. Throws HashesMismatchError when the hashes do not lead to the file's
   * root (the source is distrusted and its runs go to others).
   */
  hashes (source: S, request: HashRequest, hashes: Buffer): boolean {
    if (!this.answered(source)) return false
    const run = this.outstanding(source, request)
    if (run === undefined) return true
    run.source = undefined
    const layer = verifyHashes(run.request, hashes, run.file.shape)
    if (layer === undefined) {
      this.distrust(source)
      throw new HashesMismatchError(`hashes for file root ${run.file.rootHex.slice(0, 16)}… (${request.index}+${request.length}) do not lead to its pieces root`)
    }
    run.file.parts[run.slot] = layer
    this.runs.splice(this.runs.indexOf(run), 1)
    this.remaining--
    if (this.done) {
      this.sources.clear()
      this.onLayers(this.layers())
    } else {
      this.assign()
    }
    return true
  }

  /** A `hash reject`: the source will not serve this run now. False as for hashes(). */
  reject (source: S, request: HashRequest): boolean {
    if (!this.answered(source)) return false
    const run = this.outstanding(source, request)
    if (run !== undefined) this.setAside(run, source)
    return true
  }

  /** Set aside sources that have not answered a run for `timeoutMs`. */
  tick (timeoutMs: number): void {
    const now = this.now()
    for (const run of this.runs) {
      if (run.source !== undefined && now - run.sentAt > timeoutMs) this.setAside(run, run.source)
    }
    this.assign()
  }

  private answered (source: S): boolean {
    const count = this.unanswered.get(source) ?? 0
    if (count === 0) return false
    this.unanswered.set(source, count - 1)
    return true
  }

  private outstanding (source: S, request: HashRequest): Run<S> | undefined {
    return this.runs.find(r => r.source === source && sameRequest(r.request, request))
  }

  private distrust (source: S): void {
    this.distrusted.add(source)
    this.remove(source)
  }

  private setAside (run: Run<S>, source: S): void {
    run.retryAt.set(source, this.now() + RETRY_AFTER_MS)
    run.source = undefined
    this.assign()
  }

  private assign (): void {
    if (this.done) return
    const now = this.now()
    const load = new Map<S, number>()
    for (const run of this.runs) if (run.source !== undefined) load.set(run.source, (load.get(run.source) ?? 0) + 1)
    for (const run of this.runs) {
      if (run.source !== undefined) continue
      for (const source of this.sources) {
        if ((load.get(source) ?? 0) >= MAX_OUTSTANDING_PER_SOURCE || (run.retryAt.get(source) ?? 0) > now) continue
        run.source = source
        run.sentAt = now
        load.set(source, (load.get(source) ?? 0) + 1)
        this.unanswered.set(source, (this.unanswered.get(source) ?? 0) + 1)
        this.send(source, run.request)
        break
      }
    }
  }

  /** Each file's verified layer: its pieces' hashes, the padding of the last run cut off. */
  private layers (): Map<string, Buffer> {
    const out = new Map<string, Buffer>()
    for (const job of this.jobs) out.set(job.rootHex, Buffer.concat(job.parts as Buffer[]).subarray(0, job.shape.pieces * HASH_SIZE))
    return out
  }
}
