import t, { type Test } from 'tap'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { Swarm } from '../../src/swarm/swarm.js'
import type { PeerInfo } from '../../src/swarm/swarm.js'
import type { Metainfo } from '../../src/torrent/metainfo.js'
import { MemoryStore, makeTorrent, parseInfo } from '../helpers/memory-store.js'
import { connect } from '../helpers/link-pair.js'
import { MetadataMismatchError } from '../../src/torrent/errors.js'

function magnetLeecher (torrent: ReturnType<typeof makeTorrent>, stores: MemoryStore[]): Swarm {
  return new Swarm({
    magnet: torrent.magnet,
    parseInfo,
    openStore: async (metainfo: Metainfo) => {
      const store = new MemoryStore(metainfo)
      stores.push(store)
      return store
    }
  })
}

t.test('magnet: metadata over ut_metadata, verified, then the transfer', async t => {
  // Over 16 KiB of info dict (2 metadata pieces, the last one short): 1000 20-byte hashes.
  const torrent = makeTorrent(randomBytes(1000 * 16384 + 77), 16384)
  t.ok(torrent.metainfo.infoBytes.length > 16384)
  const seeder = new Swarm({ metainfo: torrent.metainfo, store: new MemoryStore(torrent.metainfo, torrent.content) })
  const stores: MemoryStore[] = []
  const leecher = magnetLeecher(torrent, stores)
  t.teardown(async () => { await seeder.destroy(); await leecher.destroy() })
  t.equal(leecher.metainfo, undefined)

  const metadata = once(leecher, 'metadata')
  const done = once(leecher, 'complete')
  await connect(leecher, seeder, torrent.metainfo.wireInfoHash)
  const [metainfo] = await metadata as [Metainfo]
  t.ok(metainfo.infoBytes.equals(torrent.metainfo.infoBytes), 'the exact info dict')
  await done
  t.equal(stores.length, 1, 'the store was opened once')
  t.ok(stores[0]!.bytes.equals(torrent.content), 'content is exact')
})

t.test('magnet: wrong metadata is rejected with a typed error and fetched from another peer', async t => {
  const torrent = makeTorrent(randomBytes(40 * 16384), 16384)
  // Same sizes, other bytes: only the hash check can tell.
  const impostor = makeTorrent(randomBytes(40 * 16384), 16384)
  t.equal(impostor.metainfo.infoBytes.length, torrent.metainfo.infoBytes.length)
  // A peer in the right swarm serving another info dict.
  const liar = new Swarm({
    metainfo: { ...impostor.metainfo, wireInfoHash: torrent.metainfo.wireInfoHash, pieceSize: impostor.metainfo.pieceSize },
    store: new MemoryStore(impostor.metainfo, impostor.content)
  })
  const seeder = new Swarm({ metainfo: torrent.metainfo, store: new MemoryStore(torrent.metainfo, torrent.content) })
  const stores: MemoryStore[] = []
  const leecher = magnetLeecher(torrent, stores)
  t.teardown(async () => { await liar.destroy(); await seeder.destroy(); await leecher.destroy() })

  const rejected: Array<[PeerInfo, Error]> = []
  leecher.on('metadata-rejected', (p, err) => rejected.push([p, err]))
  const metadata = once(leecher, 'metadata')
  const done = once(leecher, 'complete')
  const [liarLink] = await connect(leecher, liar, torrent.metainfo.wireInfoHash)
  const closeErr = await liarLink.closed
  t.equal(closeErr?.name, 'MetadataMismatchError', 'the liar\'s link closed with a typed error')
  t.ok(closeErr instanceof MetadataMismatchError, 'the torrent layer\'s class, the one callers check')
  t.equal(rejected.length, 1)
  t.equal(rejected[0]![1].name, 'MetadataMismatchError')
  t.ok(rejected[0]![1] instanceof MetadataMismatchError)
  t.equal((rejected[0]![1] as MetadataMismatchError).code, 'ERR_METADATA_MISMATCH')
  t.equal(leecher.metainfo, undefined, 'nothing adopted')

  await connect(leecher, seeder, torrent.metainfo.wireInfoHash)
  const [metainfo] = await metadata as [Metainfo]
  t.ok(metainfo.infoBytes.equals(torrent.metainfo.infoBytes))
  await done
  t.ok(stores[0]!.bytes.equals(torrent.content))
})

/** The error a magnet leecher rejects a seeder's (genuine) metadata with when its parser throws `failure`. */
async function rejectedWith (t: Test, failure: Error): Promise<Error> {
  const torrent = makeTorrent(randomBytes(4 * 16384), 16384)
  const seeder = new Swarm({ metainfo: torrent.metainfo, store: new MemoryStore(torrent.metainfo, torrent.content) })
  const leecher = new Swarm({
    magnet: torrent.magnet,
    parseInfo: () => { throw failure },
    openStore: async (metainfo: Metainfo) => new MemoryStore(metainfo)
  })
  t.teardown(async () => { await seeder.destroy(); await leecher.destroy() })
  const rejected = once(leecher, 'metadata-rejected')
  await connect(leecher, seeder, torrent.metainfo.wireInfoHash)
  const [, err] = await rejected as [PeerInfo, Error]
  return err
}

t.test('magnet: a MetadataMismatchError from the torrent parser reaches the caller with its own message', async t => {
  const err = await rejectedWith(t, new MetadataMismatchError('magnet names a v2 infohash but the metadata is a v1-only info dict'))
  t.ok(err instanceof MetadataMismatchError)
  t.equal((err as MetadataMismatchError).code, 'ERR_METADATA_MISMATCH')
  t.equal(err.message, 'magnet names a v2 infohash but the metadata is a v1-only info dict', 'not replaced by a generic "does not parse"')
})

t.test('magnet: metadata the parser cannot read is a MetadataMismatchError whose cause is the parser\'s error', async t => {
  const err = await rejectedWith(t, new TypeError('not an info dict'))
  t.ok(err instanceof MetadataMismatchError)
  t.match(err.message, /does not parse/)
  t.equal((err.cause as Error).message, 'not an info dict')
})
