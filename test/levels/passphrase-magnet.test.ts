/**
 * A passphrase-mode Strict magnet stretches its passphrase (scrypt, ~0.6 s) off the event loop: the
 * session keeps turning while it runs, and the first announce, which needs the rendezvous, waits for it
 * and carries the right one.
 */
import t from 'tap'
import http from 'node:http'
import { once } from 'node:events'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { createTorrent } from '../../src/torrent/create-torrent.js'
import { parseTorrent } from '../../src/torrent/parse-torrent.js'
import { magnetUri, parseMagnet } from '../../src/torrent/magnet.js'
import { passphraseSecret, strictRendezvous } from '../../src/levels/strict-keys.js'
import { randomFile, session, tempDir } from '../helpers/session-pair.js'

/** The bytes of a percent-encoded query value. */
function percentDecode (value: string): Buffer {
  const out: number[] = []
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '%') { out.push(parseInt(value.slice(i + 1, i + 3), 16)); i += 2 } else out.push(value.charCodeAt(i))
  }
  return Buffer.from(out)
}

t.test('passphrase magnet: scrypt runs off the event loop, and the first announce carries the rendezvous', async t => {
  const dir = await tempDir(t)
  const passphrase = 'correct horse battery staple'
  const announces: string[] = []
  const tracker = http.createServer((req, res) => {
    announces.push(req.url ?? '')
    res.end('d8:intervali60e5:peers0:e')
  })
  tracker.listen(0, '127.0.0.1')
  await once(tracker, 'listening')
  t.teardown(() => tracker.close())
  const url = `http://127.0.0.1:${(tracker.address() as AddressInfo).port}/announce`
  await randomFile(join(dir, 'seed'), 'p.bin', 40_000)
  const metainfo = parseTorrent((await createTorrent(join(dir, 'seed', 'p.bin'), {
    version: 'v1', pieceLength: 16 * 1024, strict: { info: { mode: 'passphrase' } }, trackers: [url]
  })).bytes)
  const rendezvous = strictRendezvous(metainfo.infoHashV1!, passphraseSecret(passphrase, metainfo.infoHashV1!))

  const leecher = await session(t)
  let turns = 0
  const ticker = setInterval(() => { turns++ }, 1)
  t.teardown(() => clearInterval(ticker))
  leecher.addMagnet(parseMagnet(magnetUri(metainfo)), join(dir, 'out'), { passphrase })
  while (announces.length === 0) await new Promise(resolve => setTimeout(resolve, 5))
  clearInterval(ticker)
  // Synchronous scrypt on the announce path would hold the loop for the whole stretch: a handful of turns at most.
  t.ok(turns >= 20, `the event loop turned ${turns} times before the first announce`)
  const infoHash = /[?&]info_hash=([^&]*)/.exec(announces[0]!)?.[1]
  t.ok(infoHash !== undefined && percentDecode(infoHash).equals(rendezvous), 'the announce names the rendezvous')
  t.notOk(announces[0]!.includes(metainfo.infoHashV1!.toString('hex')), 'not the infohash')
})
