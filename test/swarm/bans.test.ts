/**
 * Bans that stick (issue 18 item 2): a peer that serves bad data is banned by endpoint, not only by the
 * peer id it picks afresh per connection. Real loopback sockets.
 */
import t, { type Test } from 'tap'
import net from 'node:net'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { Swarm } from '../../src/swarm/swarm.js'
import { BadPeerError } from '../../src/swarm/errors.js'
import { MemoryStore, makeTorrent, type TestTorrent } from '../helpers/memory-store.js'
import { makeLink, type TestLink } from '../helpers/link-pair.js'

/** A hostile seeder at one listening port: every connection gets a fresh peer id and corrupt blocks. */
async function badSeeder (t: Test, torrent: TestTorrent): Promise<{ port: number, served: () => number }> {
  const swarms: Swarm[] = []
  const server = net.createServer(socket => {
    const store = new MemoryStore(torrent.metainfo, torrent.content)
    const read = store.readBlock.bind(store)
    store.readBlock = async (i, o, l) => { const b = await read(i, o, l); b[0]! ^= 1; return b }
    const swarm = new Swarm({ metainfo: torrent.metainfo, store })
    swarms.push(swarm)
    swarm.addLink(makeLink(socket, 'inbound', torrent.metainfo.wireInfoHash))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(async () => { server.close(); await Promise.all(swarms.map(s => s.destroy())) })
  return { port: (server.address() as net.AddressInfo).port, served: () => swarms.reduce((a, s) => a + s.stats().uploaded, 0) }
}

async function dial (port: number, infoHash: Buffer): Promise<TestLink> {
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  return makeLink(socket, 'outbound', infoHash)
}

t.test('a peer banned for bad data is refused at its endpoint, whatever peer id it shows next', async t => {
  const torrent = makeTorrent(randomBytes(4 * 65536), 65536)
  const bad = await badSeeder(t, torrent)
  const leecher = new Swarm({ metainfo: torrent.metainfo, store: new MemoryStore(torrent.metainfo) })
  t.teardown(() => leecher.destroy())
  const banned: Error[] = []
  leecher.on('peer-banned', (_p, err) => banned.push(err))

  t.notOk(leecher.isBanned('127.0.0.1', bad.port))
  const first = await dial(bad.port, torrent.metainfo.wireInfoHash)
  leecher.addLink(first)
  const err = await first.closed
  t.equal(err?.name, 'BadPeerError')
  t.ok(err instanceof BadPeerError)
  t.equal((err as BadPeerError).code, 'ERR_BAD_PEER')
  t.equal(banned.length, 1)
  t.ok(leecher.isBanned('127.0.0.1', bad.port), 'banned by endpoint')
  t.ok(leecher.isBanned('::ffff:127.0.0.1', bad.port), 'in either address form')
  t.notOk(leecher.isBanned('127.0.0.1', bad.port + 1 === 65536 ? 1 : bad.port + 1), 'not the whole address')

  const servedBefore = bad.served()
  const again = await dial(bad.port, torrent.metainfo.wireInfoHash)
  leecher.addLink(again)
  t.equal((await again.closed)?.name, 'BadPeerError', 'a new link to the endpoint is closed at once')
  t.equal(bad.served(), servedBefore, 'and nothing more is taken from it')
})
