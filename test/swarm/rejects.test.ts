/**
 * BEP 6 rejects from a peer that unchokes us (issue 18). A reject used to leave its piece started for
 * ever, with a buffer of the piece's length, and to make us start another piece: a peer rejecting every
 * request grew our memory by a piece per reject and was never closed. Now a started piece that nobody
 * is asked for and of which nothing arrived goes back to the pool, buffers are allocated at a piece's
 * first block, a peer that rejects MAX_REJECTED_PIPELINES pipelines' worth without a block is closed
 * with RequestsRejectedError, and a block forgives what its sender rejected before.
 *
 * Real loopback sockets; the rejecting peers are bittorrent-protocol Wires driven by the test.
 */
import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { MAX_REJECTED_PIPELINES } from '../../src/swarm/downloader.js'
import { RequestsRejectedError } from '../../src/swarm/errors.js'
import { Swarm } from '../../src/swarm/swarm.js'
import { MemoryStore, makeTorrent } from '../helpers/memory-store.js'
import { connect, linkPair, type TestLink } from '../helpers/link-pair.js'

const PIECE_LENGTH = 16 * 1024
const PIECES = 1024
const PIPELINE = 32

type Respond = (err: Error | null, block?: Uint8Array) => void

async function rawPeer (swarm: Swarm, infoHash: Buffer, reqq?: number, fast = true): Promise<{ raw: TestLink, theirs: TestLink }> {
  const [raw, theirs] = await linkPair(infoHash)
  if (reqq !== undefined) raw.wire.extendedHandshake.reqq = reqq
  swarm.addLink(theirs)
  raw.wire.handshake(infoHash, randomBytes(20), { dht: false, fast, extended: true })
  await raw.remoteHandshake
  return { raw, theirs }
}

async function within<T> (what: string, p: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const bound = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`not within ${ms} ms: ${what}`)), ms) })
  try {
    return await Promise.race([p, bound])
  } finally {
    clearTimeout(timer)
  }
}

/** The raw peer claims every piece and unchokes; resolves once the download completed, and says whether its link closed first. */
async function seedFrom (leecher: Swarm, raw: TestLink, theirs?: TestLink): Promise<{ closedEarly: boolean }> {
  let closedEarly = false
  void theirs?.closed.then(() => { closedEarly = !leecher.complete })
  const done = once(leecher, 'complete')
  if (raw.wire.hasFast) raw.wire.haveAll()
  else raw.wire.bitfield(Buffer.alloc(PIECES / 8, 0xff))
  raw.wire.unchoke()
  await within('complete', done, 60_000)
  return { closedEarly }
}

function setup (t: Test): { content: Buffer, leecher: Swarm, store: MemoryStore, torrent: ReturnType<typeof makeTorrent> } {
  const content = randomBytes(PIECES * PIECE_LENGTH)
  const torrent = makeTorrent(content, PIECE_LENGTH)
  const store = new MemoryStore(torrent.metainfo)
  const leecher = new Swarm({ metainfo: torrent.metainfo, store }, { pipelineDepth: PIPELINE })
  t.teardown(() => leecher.destroy())
  return { content, leecher, store, torrent }
}

t.test('a peer that unchokes us and rejects every request: pieces go back to the pool, it is closed, an honest seed completes', async t => {
  const { content, leecher, store, torrent } = setup(t)
  const { raw, theirs } = await rawPeer(leecher, torrent.metainfo.wireInfoHash)
  let rejects = 0
  let mostActive = 0
  let mostBytes = 0
  raw.wire.on('request', (_index: number, _offset: number, _length: number, respond: Respond) => {
    // Sampled at each request: everything the leecher started is visible here.
    const stats = leecher.stats()
    mostActive = Math.max(mostActive, stats.activePieces)
    mostBytes = Math.max(mostBytes, stats.activePieceBytes)
    rejects++
    respond(new Error('rejected'))
  })
  raw.wire.haveAll()
  raw.wire.unchoke()
  const err = await within('the rejecting peer closed', theirs.closed)
  t.equal(err?.name, 'RequestsRejectedError')
  t.ok(err instanceof RequestsRejectedError)
  t.equal((err as RequestsRejectedError).code, 'ERR_REQUESTS_REJECTED')
  t.ok(rejects >= MAX_REJECTED_PIPELINES * PIPELINE, `closed after ${MAX_REJECTED_PIPELINES} pipelines of rejects (${rejects} sent)`)
  t.ok(rejects < PIECES, 'long before every piece was tried')
  t.ok(mostActive <= PIPELINE, `started pieces stay within the pipeline (at most ${mostActive}; before the fix, one more per reject)`)
  t.equal(mostBytes, 0, 'no piece buffer for a piece of which nothing arrived')
  t.equal(leecher.stats().activePieces, 0, 'every started piece is back in the pool')
  t.equal(leecher.stats().piecesDone, 0)

  const seeder = new Swarm({ metainfo: torrent.metainfo, store: new MemoryStore(torrent.metainfo, content) })
  t.teardown(() => seeder.destroy())
  const done = once(leecher, 'complete')
  await connect(leecher, seeder, torrent.metainfo.wireInfoHash)
  await within('complete from the honest seed', done, 60_000)
  t.ok(store.bytes.equals(content), 'byte-identical')
  t.equal(leecher.stats().activePieces, 0)
  t.equal(leecher.stats().activePieceBytes, 0)
})

t.test('alongside an honest seed from the start, a rejecting peer is closed and the download completes byte-identical', async t => {
  const { content, leecher, store, torrent } = setup(t)
  const seeder = new Swarm({ metainfo: torrent.metainfo, store: new MemoryStore(torrent.metainfo, content) })
  t.teardown(() => seeder.destroy())
  const done = once(leecher, 'complete')
  const { raw, theirs } = await rawPeer(leecher, torrent.metainfo.wireInfoHash)
  let mostActive = 0
  raw.wire.on('request', (_index: number, _offset: number, _length: number, respond: Respond) => {
    mostActive = Math.max(mostActive, leecher.stats().activePieces)
    respond(new Error('rejected'))
  })
  raw.wire.haveAll()
  raw.wire.unchoke()
  await connect(leecher, seeder, torrent.metainfo.wireInfoHash)
  const err = await within('the rejecting peer closed', theirs.closed)
  t.equal(err?.name, 'RequestsRejectedError')
  await within('complete', done, 60_000)
  t.ok(store.bytes.equals(content), 'byte-identical')
  t.ok(mostActive <= 2 * PIPELINE, `started pieces stay within the two pipelines (at most ${mostActive})`)
})

t.test('a peer that rejects a few requests, then serves, is the only peer and completes the download', async t => {
  const { content, leecher, store, torrent } = setup(t)
  const { raw, theirs } = await rawPeer(leecher, torrent.metainfo.wireInfoHash)
  const few = 2 * PIPELINE
  let rejects = 0
  raw.wire.on('request', (index: number, offset: number, length: number, respond: Respond) => {
    if (rejects < few) {
      rejects++
      respond(new Error('rejected'))
      return
    }
    const start = index * PIECE_LENGTH + offset
    respond(null, content.subarray(start, start + length))
  })
  const { closedEarly } = await seedFrom(leecher, raw, theirs)
  t.equal(rejects, few)
  t.ok(store.bytes.equals(content), 'byte-identical: the rejected pieces were asked again once it served')
  t.notOk(closedEarly, 'its link stayed open until the download completed')
})

t.test('rejects that follow a choke (libtorrent rejects its queue when it chokes) never close the peer', async t => {
  const { content, leecher, store, torrent } = setup(t)
  const { raw, theirs } = await rawPeer(leecher, torrent.metainfo.wireInfoHash)
  const cycles = 2 * MAX_REJECTED_PIPELINES
  let held = 0
  let cycle = 0
  let rejected = 0
  raw.wire.on('request', (index: number, offset: number, length: number, respond: Respond) => {
    if (cycle >= cycles) {
      const start = index * PIECE_LENGTH + offset
      respond(null, content.subarray(start, start + length))
      return
    }
    // A full queue held, then a choke: bittorrent-protocol's Wire rejects every queued request (BEP 6), then unchokes.
    if (++held < PIPELINE) return
    held = 0
    cycle++
    setImmediate(() => {
      rejected += PIPELINE
      raw.wire.choke()
      raw.wire.unchoke()
    })
  })
  const { closedEarly } = await seedFrom(leecher, raw, theirs)
  t.ok(rejected >= cycles * PIPELINE, `${rejected} requests rejected after chokes, past the bound of ${MAX_REJECTED_PIPELINES * PIPELINE}`)
  t.ok(store.bytes.equals(content))
  t.notOk(closedEarly, 'its link stayed open until the download completed')
})

t.test('a peer that announces a request queue limit (BEP 10 reqq) is never asked for more', async t => {
  const { content, leecher, store, torrent } = setup(t)
  const reqq = 4
  const { raw } = await rawPeer(leecher, torrent.metainfo.wireInfoHash, reqq)
  let queued = 0
  let mostQueued = 0
  raw.wire.on('request', (index: number, offset: number, length: number, respond: Respond) => {
    mostQueued = Math.max(mostQueued, ++queued)
    // Served a little later, so that requests pile up to whatever we send.
    setImmediate(() => {
      queued--
      const start = index * PIECE_LENGTH + offset
      respond(null, content.subarray(start, start + length))
    })
  })
  await seedFrom(leecher, raw)
  t.ok(store.bytes.equals(content))
  t.ok(mostQueued <= reqq, `at most ${reqq} requests outstanding (saw ${mostQueued})`)
})

t.test('blocks that cross a choke (no BEP 6: the choke dropped their requests, their pieces went back to the pool) are used, not wasted', async t => {
  const { content, leecher, store, torrent } = setup(t)
  const { raw } = await rawPeer(leecher, torrent.metainfo.wireInfoHash, undefined, false)
  const block = (index: number, offset: number, length: number): Buffer => content.subarray(index * PIECE_LENGTH + offset, index * PIECE_LENGTH + offset + length)
  const held: Array<[number, number, number]> = []
  let choked = false
  raw.wire.on('request', (index: number, offset: number, length: number, respond: Respond) => {
    if (choked) { respond(null, block(index, offset, length)); return }
    held.push([index, offset, length])
    if (held.length < PIPELINE) return
    choked = true
    // The choke, then the blocks that were already on their way, then an unchoke: the rest is served.
    setImmediate(() => {
      raw.wire.choke()
      for (const [i, o, l] of held) raw.wire.piece(i, o, block(i, o, l))
      raw.wire.unchoke()
    })
  })
  await seedFrom(leecher, raw)
  t.ok(store.bytes.equals(content))
  t.equal(leecher.stats().wasted, 0, `the ${PIPELINE} blocks that crossed the choke were used`)
})
