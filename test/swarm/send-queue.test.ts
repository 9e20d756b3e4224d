/**
 * Bounded replies to peers that never read (issue 18 item 1): several links flood a seeder with cheap
 * messages that each earn a reply and never read a byte; each is closed with SendQueueOverflowError once
 * what is queued for it passes the bound, and an honest peer still downloads. Real loopback sockets.
 */
import t from 'tap'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { Swarm } from '../../src/swarm/swarm.js'
import { SendQueueOverflowError } from '../../src/swarm/errors.js'
import { MemoryStore, makeTorrent } from '../helpers/memory-store.js'
import { connect, deafPeer, INTERESTED_PAIR, type TestLink } from '../helpers/link-pair.js'


t.test('links that never read are closed once their send queue passes the bound; an honest peer is served', async t => {
  const torrent = makeTorrent(randomBytes(8 * 65536), 65536)
  const seeder = new Swarm({ metainfo: torrent.metainfo, store: new MemoryStore(torrent.metainfo, torrent.content) }, {
    // Bytes: the write path joins each turn's replies into one buffer, so what a deaf peer costs us is
    // the bytes queued, no longer a chunk per 5-byte message (which made 10 MB sent cost ~900 MB).
    sendQueue: { maxBytes: 1024 * 1024 }
  })
  const leechStore = new MemoryStore(torrent.metainfo)
  const leecher = new Swarm({ metainfo: torrent.metainfo, store: leechStore })
  t.teardown(async () => { await seeder.destroy(); await leecher.destroy() })
  const hash = torrent.metainfo.wireInfoHash

  const floods: Array<[string, (raw: TestLink, open: () => boolean) => Promise<void>]> = [
    // Each pair earns an unchoke and a choke of 5 bytes each.
    ['interested/not interested pairs', async (raw, open) => {
      // The socket buffers (a few MB on loopback) take the first ~800,000 replies; then they queue.
      for (let i = 0; i < 400 && open(); i++) {
        raw.socket.write(Buffer.concat(Array.from({ length: 2000 }, () => INTERESTED_PAIR)))
        await new Promise(resolve => setImmediate(resolve))
      }
    }]
  ]
  for (const [name, flood] of floods) {
    const started = Date.now()
    const links = await Promise.all([1, 2, 3].map(() => deafPeer(seeder, hash)))
    const closed = Promise.all(links.map(l => l.theirs.closed))
    await Promise.all(links.map(l => {
      let open = true
      void l.theirs.closed.then(() => { open = false })
      return flood(l.raw, () => open)
    }))
    let timer: NodeJS.Timeout | undefined
    const errors = await Promise.race([closed, new Promise<string>(resolve => { timer = setTimeout(() => resolve('still open after 10 s'), 10_000) })])
    clearTimeout(timer)
    for (const l of links) l.raw.close()
    t.comment(`${name}: ${Date.now() - started} ms`)
    t.ok(Array.isArray(errors), `${name}: every deaf link was closed (${String(errors)})`)
    if (!Array.isArray(errors)) continue
    for (const err of errors) {
      t.equal(err?.name, 'SendQueueOverflowError', name)
      t.ok(err instanceof SendQueueOverflowError)
      t.equal((err as SendQueueOverflowError).code, 'ERR_SEND_QUEUE_OVERFLOW')
    }
  }
  const done = once(leecher, 'complete')
  await connect(leecher, seeder, hash)
  await done
  t.ok(leechStore.bytes.equals(torrent.content), 'the honest peer downloads')
})
