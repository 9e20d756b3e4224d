import t from 'tap'
import { randomBytes } from 'node:crypto'
import { basicLevel } from '../../src/levels/basic.js'
import { strictLevel } from '../../src/levels/strict.js'
import { authHeader } from '../../src/protocol/auth-message.js'
import { computeProof } from '../../src/protocol/key-schedule.js'
import { Deadline } from '../../src/handshake/deadline.js'
import { SEARCH_SLICE_KEYS, searchSwarms, type SwarmCandidate } from '../../src/handshake/swarm-search.js'
import { HandshakeTimeoutError } from '../../src/errors.js'
import { secureOutbound } from '../../src/handshake/secure-outbound.js'
import { TlsResponder } from '../../src/handshake/secure-inbound.js'
import { flushBatchedWrites } from '../../src/wire/write-batching.js'
import { tcpPair } from '../helpers/tcp.js'

const exporter = randomBytes(32)
const basicHeader = authHeader('basic', 0)

/** `count` Basic swarms, named by their index. */
function basicSwarms (count: number): Array<SwarmCandidate<number>> {
  return Array.from({ length: count }, (_, i) => ({ level: basicLevel([randomBytes(20)]), swarm: i }))
}

/** The initiator's proof for `candidate`'s first key, over this test's exporter. */
function proofFor (candidate: SwarmCandidate<number>): { level: string, header: Buffer, proof: Uint8Array } {
  return { level: candidate.level.name, header: basicHeader, proof: computeProof(candidate.level.swarmKeys[0]!.key, 'initiator', basicHeader, exporter) }
}

/** Whether a callback queued for the next turn of the event loop runs before `work` settles. */
async function turnedDuring<T> (work: () => Promise<T>): Promise<{ result: T, turned: boolean }> {
  let turned = false
  setImmediate(() => { turned = true })
  const result = await work()
  return { result, turned }
}

t.test('finds the swarm of the proof among many, the last one tried included', async t => {
  const swarms = basicSwarms(3 * SEARCH_SLICE_KEYS + 1)
  for (const index of [0, SEARCH_SLICE_KEYS, swarms.length - 1]) {
    const outcome = await searchSwarms(swarms, proofFor(swarms[index]!), exporter, Deadline.after(10_000))
    t.equal(outcome.kind, 'match')
    if (outcome.kind === 'match') {
      t.equal(outcome.candidate.swarm, index, `swarm ${index}`)
      t.same(outcome.key, swarms[index]!.level.swarmKeys[0])
    }
  }
})

t.test('a search longer than a slice lets the event loop turn between slices; a short one does not wait for it', async t => {
  const many = basicSwarms(2 * SEARCH_SLICE_KEYS)
  const long = await turnedDuring(async () => await searchSwarms(many, proofFor(many.at(-1)!), exporter, Deadline.after(10_000)))
  t.equal(long.result.kind, 'match')
  t.ok(long.turned, 'other callbacks ran while the long search went on')

  const few = many.slice(0, SEARCH_SLICE_KEYS)
  const short = await turnedDuring(async () => await searchSwarms(few, proofFor(few.at(-1)!), exporter, Deadline.after(10_000)))
  t.equal(short.result.kind, 'match')
  t.notOk(short.turned, 'one slice is searched in one go')
})

t.test('no swarm: none; a Basic proof with the Basic key of a Strict swarm: weaker; a proof at another level: none', async t => {
  const swarms = basicSwarms(SEARCH_SLICE_KEYS + 10)
  const strictInfoHash = randomBytes(20)
  const strict: SwarmCandidate<number> = { level: strictLevel([strictInfoHash], { mode: 'secret' }, { secret: randomBytes(32) }), swarm: -1 }
  const all = [...swarms, strict]
  const stranger = { level: 'basic', header: basicHeader, proof: randomBytes(32) }
  t.same(await searchSwarms(all, stranger, exporter, Deadline.after(10_000)), { kind: 'none' })

  const weakProof = proofFor({ level: basicLevel([strictInfoHash]), swarm: -2 })
  t.same(await searchSwarms(all, weakProof, exporter, Deadline.after(10_000)), { kind: 'weaker' })

  // The proof of a served Basic swarm, offered as Strict: only Strict keys are tried.
  const strictHeader = authHeader('strict', 0)
  const offeredAsStrict = { level: 'strict', header: strictHeader, proof: computeProof(swarms[0]!.level.swarmKeys[0]!.key, 'initiator', strictHeader, exporter) }
  t.same(await searchSwarms(all, offeredAsStrict, exporter, Deadline.after(10_000)), { kind: 'none' })
})

t.test('a deadline that passes during a long search ends it with a HandshakeTimeoutError', async t => {
  const swarms = basicSwarms(2 * SEARCH_SLICE_KEYS)
  const deadline = Deadline.after(1, 'the test\'s start')
  await new Promise(resolve => setTimeout(resolve, 20))
  const err = await searchSwarms(swarms, proofFor(swarms.at(-1)!), exporter, deadline).then(() => undefined, (e: unknown) => e as Error)
  t.ok(err instanceof HandshakeTimeoutError, `a HandshakeTimeoutError (${String(err)})`)
  t.equal(err?.name, 'HandshakeTimeoutError')
  t.equal((err as HandshakeTimeoutError | undefined)?.code, 'ERR_HANDSHAKE_TIMEOUT')
  t.match(err?.message, /the search for the AuthHello's swarm within 1 ms from the test's start/)
})

t.test('over TLS: a responder serving four slices of swarms finds the initiator\'s, the last one tried', async t => {
  const responder = await TlsResponder.create()
  t.teardown(() => responder.close())
  const swarms = basicSwarms(4 * SEARCH_SLICE_KEYS)
  const target = swarms.at(-1)!
  const { client, server } = await tcpPair()
  const accepted = responder.accept(server, () => swarms).then(outcome => {
    if (outcome.kind === 'peer') flushBatchedWrites(outcome.channel.socket)
    return outcome
  })
  const [out, outcome] = await Promise.all([secureOutbound(client, target.level), accepted])
  t.equal(outcome.kind, 'peer')
  if (outcome.kind === 'peer') {
    t.equal(outcome.channel.swarm, swarms.length - 1, 'the swarm of the proof')
    outcome.channel.socket.destroy()
  }
  out.socket.destroy()
})
