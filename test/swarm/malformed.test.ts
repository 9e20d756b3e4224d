import t from 'tap'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import type Wire from 'bittorrent-protocol'
import { Swarm } from '../../src/swarm/swarm.js'
import type { Metainfo } from '../../src/torrent/metainfo.js'
import { encodeUtMetadataMessage } from '../../src/wire/ut-metadata.js'
import { MemoryStore, makeTorrent, parseInfo } from '../helpers/memory-store.js'
import { connect, linkPair } from '../helpers/link-pair.js'
import type { TestLink } from '../helpers/link-pair.js'

/** A test-driven peer: `raw` is ours to misbehave on, `theirs` is the link the swarm got. */
async function rawPeer (swarm: Swarm, infoHash: Buffer, metadataSize?: number): Promise<{ raw: TestLink, theirs: TestLink, utMessages: Uint8Array[] }> {
  const [raw, theirs] = await linkPair(infoHash)
  const utMessages: Uint8Array[] = []
  if (metadataSize !== undefined) {
    raw.wire.use(class {
      get name (): string { return 'ut_metadata' }
      constructor (_wire: Wire) {}
      onMessage (buf: Uint8Array): void { utMessages.push(buf) }
    })
    raw.wire.extendedHandshake['metadata_size'] = metadataSize
  }
  swarm.addLink(theirs)
  raw.wire.handshake(infoHash, randomBytes(20), { dht: false, fast: true, extended: true })
  await raw.remoteHandshake
  return { raw, theirs, utMessages }
}

async function until (cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise(resolve => setTimeout(resolve, 5))
}

t.test('a handshake naming another torrent closes the link with InfohashMismatchError', async t => {
  const torrent = makeTorrent(randomBytes(65536), 65536)
  const seeder = new Swarm({ metainfo: torrent.metainfo, store: new MemoryStore(torrent.metainfo, torrent.content) })
  t.teardown(async () => { await seeder.destroy() })
  const [raw, theirs] = await linkPair(torrent.metainfo.wireInfoHash)
  const seen: Array<Error | undefined> = []
  seeder.on('peer-closed', (_p, err) => seen.push(err))
  seeder.addLink(theirs)
  raw.wire.handshake(randomBytes(20), randomBytes(20), { dht: false, fast: true, extended: true })
  t.equal((await theirs.closed)?.name, 'InfohashMismatchError')
  await until(() => seen.length === 1)
  t.equal(seen[0]?.name, 'InfohashMismatchError', 'reported with peer-closed')
  t.equal(seeder.stats().peers, 0)
})

t.test('seeder: impossible requests close only the offending link', async t => {
  const torrent = makeTorrent(randomBytes(8 * 65536), 65536)
  const seeder = new Swarm({ metainfo: torrent.metainfo, store: new MemoryStore(torrent.metainfo, torrent.content) })
  const leechStore = new MemoryStore(torrent.metainfo)
  const leecher = new Swarm({ metainfo: torrent.metainfo, store: leechStore })
  t.teardown(async () => { await seeder.destroy(); await leecher.destroy() })
  const hash = torrent.metainfo.wireInfoHash

  const cases: Array<[string, number, number, number]> = [
    ['index beyond the last piece', 9999, 0, 16384],
    ['block over 16 KiB', 0, 0, 32768],
    ['block past the piece end', 7, 65536 - 100, 16384]
  ]
  for (const [name, index, offset, length] of cases) {
    const { raw, theirs } = await rawPeer(seeder, hash)
    raw.wire.interested()
    await once(raw.wire, 'unchoke')
    raw.wire.request(index, offset, length, () => {})
    const err = await theirs.closed
    t.equal(err?.name, 'MalformedMessageError', name)
  }
  // The seeder still serves everybody else.
  const done = once(leecher, 'complete')
  await connect(leecher, seeder, hash)
  await done
  t.ok(leechStore.bytes.equals(torrent.content))
})

t.test('leecher: pieces it never asked for, or off the grid, close the link and are never stored', async t => {
  const torrent = makeTorrent(randomBytes(8 * 65536), 65536)
  const leechStore = new MemoryStore(torrent.metainfo)
  const leecher = new Swarm({ metainfo: torrent.metainfo, store: leechStore })
  const seeder = new Swarm({ metainfo: torrent.metainfo, store: new MemoryStore(torrent.metainfo, torrent.content) })
  t.teardown(async () => { await seeder.destroy(); await leecher.destroy() })
  const hash = torrent.metainfo.wireInfoHash

  const sends: Array<[string, (w: Wire) => void, string]> = [
    // The peer announces piece 0 only, so piece 1 is never requested from it.
    ['unrequested piece', w => w.piece(1, 0, torrent.content.subarray(65536, 65536 + 16384)), 'MalformedMessageError'],
    ['piece beyond the torrent', w => w.piece(999, 0, Buffer.alloc(16384)), 'MalformedMessageError'],
    ['block of the wrong size', w => w.piece(0, 0, Buffer.alloc(100)), 'MalformedMessageError'],
    ['have beyond the torrent', w => w.have(4242), 'MalformedMessageError'],
    ['bitfield of the wrong length', w => w.bitfield(Buffer.alloc(5)), 'MalformedMessageError']
  ]
  for (const [name, misbehave, expected] of sends) {
    const { raw, theirs } = await rawPeer(leecher, hash)
    if (name.startsWith('bitfield')) {
      misbehave(raw.wire)
    } else {
      raw.wire.bitfield(Buffer.from([0x80]))
      raw.wire.unchoke()
      if (name !== 'have beyond the torrent') await once(raw.wire, 'request')
      misbehave(raw.wire)
    }
    const err = await theirs.closed
    t.equal(err?.name, expected, name)
  }
  t.same(leechStore.writes, [], 'nothing from the misbehaving peers was stored')
  const done = once(leecher, 'complete')
  await connect(leecher, seeder, hash)
  await done
  t.ok(leechStore.bytes.equals(torrent.content), 'the leecher still downloads from an honest peer')
})

t.test('magnet: oversized ut_metadata closes the link with a typed error; metadata comes from an honest peer', async t => {
  const torrent = makeTorrent(randomBytes(8 * 65536), 65536)
  const stores: MemoryStore[] = []
  const leecher = new Swarm({
    magnet: torrent.magnet,
    parseInfo,
    openStore: async (m: Metainfo) => { const s = new MemoryStore(m); stores.push(s); return s }
  })
  const seeder = new Swarm({ metainfo: torrent.metainfo, store: new MemoryStore(torrent.metainfo, torrent.content) })
  t.teardown(async () => { await seeder.destroy(); await leecher.destroy() })
  const hash = torrent.metainfo.wireInfoHash

  const huge = await rawPeer(leecher, hash, 100 * 1024 * 1024)
  t.equal((await huge.theirs.closed)?.name, 'OversizedBencodeError', 'metadata_size over the limit')

  const fat = await rawPeer(leecher, hash, 20000)
  await until(() => fat.utMessages.length > 0)
  fat.raw.wire.extended('ut_metadata', encodeUtMetadataMessage({ type: 'data', piece: 0, totalSize: 20000, data: Buffer.alloc(20000) }))
  t.equal((await fat.theirs.closed)?.name, 'OversizedMessageError', 'a data piece over 16 KiB')

  const junk = await rawPeer(leecher, hash, 20000)
  await until(() => junk.utMessages.length > 0)
  junk.raw.wire.extended('ut_metadata', Buffer.from('d8:msg_typei1e5:piecei0e10:total_sizei20000ed'))
  t.equal((await junk.theirs.closed)?.name, 'MalformedMessageError', 'garbage after the header of a short piece')

  const done = once(leecher, 'complete')
  await connect(leecher, seeder, hash)
  await done
  t.ok(stores[0]!.bytes.equals(torrent.content))
})
