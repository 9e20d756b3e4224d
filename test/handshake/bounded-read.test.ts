/**
 * The handshake's reads (src/handshake/bounded-read.ts) on a stream that ended or closed before the
 * read began: a PeerClosedError at once, not a wait until the deadline. The responder yields a turn
 * after the TLS handshake (so that node:tls sends its session tickets first), and a peer's close can
 * come in that turn, before the AuthHello read listens for it.
 */
import t from 'tap'
import { once } from 'node:events'
import { PassThrough } from 'node:stream'
import { PeerClosedError } from '../../src/errors.js'
import { readAuthMessage, readFirstRecord } from '../../src/handshake/bounded-read.js'
import { Deadline } from '../../src/handshake/deadline.js'
import { assertTyped } from '../helpers/typed-error.js'
import { rejection } from '../helpers/tcp.js'

/** Far longer than the test's own timeout: a read that waits for it has hung. */
const LONG_MS = 600_000

async function endedStream (): Promise<PassThrough> {
  const stream = new PassThrough()
  stream.end()
  stream.resume()
  await once(stream, 'end')
  stream.pause()
  return stream
}

async function destroyedStream (): Promise<PassThrough> {
  const stream = new PassThrough()
  stream.destroy()
  await once(stream, 'close')
  return stream
}

for (const [how, make] of [['ended', endedStream], ['destroyed', destroyedStream]] as const) {
  t.test(`readFirstRecord on a stream ${how} before the read: PeerClosedError, not the deadline`, { timeout: 10_000 }, async t => {
    const err = await rejection(readFirstRecord(await make(), Deadline.after(LONG_MS)))
    assertTyped(t, err, PeerClosedError, 'ERR_PEER_CLOSED', /closed the connection before sending any application data/)
  })

  t.test(`readAuthMessage on a stream ${how} before the read: PeerClosedError, not the deadline`, { timeout: 10_000 }, async t => {
    const err = await rejection(readAuthMessage(await make(), Deadline.after(LONG_MS), 'AuthReply'))
    assertTyped(t, err, PeerClosedError, 'ERR_PEER_CLOSED', /before sending AuthReply/)
  })
}

t.test('bytes buffered before the end are still read: the AuthHello, then nothing more', async t => {
  const stream = new PassThrough()
  stream.end(Buffer.from('first record'))
  await new Promise(resolve => setImmediate(resolve))
  const first = await readFirstRecord(stream, Deadline.after(LONG_MS))
  t.equal(first?.toString(), 'first record')
})
