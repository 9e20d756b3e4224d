import t from 'tap'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ROOT } from '../helpers/project-root.js'
import { randomBytes } from 'node:crypto'
import { connect } from 'node:tls'
import net from 'node:net'
import { BttlsError } from '../../src/errors.js'
import { sniff } from '../../src/protocol/sniff.js'
import { parseClientHello } from '../../src/protocol/client-hello.js'
import { decodeAuthMessage } from '../../src/protocol/auth-message.js'
import { initiatorOptions } from '../../src/handshake/tls-profile.js'
import { decodeBencode } from '../../src/codec/bencode.js'
import { createGuardedWire } from '../../src/wire/guarded-wire.js'
import { MAX_EXTENDED_HANDSHAKE_LENGTH, checkMessage, checkMessageLength } from '../../src/wire/message-limits.js'
import { prng, randomMutation } from '../fixtures/fuzz/mutate.js'
import { TARGETS, btHandshake, type Target } from '../fixtures/fuzz/seeds.js'

/**
 * Every corpus file (test/fixtures/fuzz/<target>/*.bin) and a seeded mutation loop go through each
 * parser that sees peer bytes. The only acceptable outcomes are a result or a BttlsError: a
 * TypeError, RangeError or any other exception means a parser trusted a length it did not check.
 */

const corpusDir = join(ROOT, 'test', 'fixtures', 'fuzz')
const MUTATIONS_PER_TARGET = 2000

/** Limits as a peer's extended handshake gets them, but small so the corpus can exceed them cheaply. */
const BENCODE_LIMITS = { maxBytes: 4096, maxDepth: 32, maxTokens: 512 }

/** Runs one input through a target; resolves when every error it produced has been checked. */
type Runner = (input: Buffer) => Promise<void> | void

/** A violation reported to guarded-wire's callback or emitted by the wire must be typed too. */
async function throughGuardedWire (input: Buffer, seen: string[] = []): Promise<void> {
  const errors: unknown[] = []
  const wire = createGuardedWire('tcpIncoming', 0, err => { errors.push(err); seen.push(err.name) })
  wire.on('error', err => errors.push(err))
  for (const event of ['handshake', 'have', 'bitfield', 'extended', 'unknownmessage']) wire.on(event, () => seen.push(event))
  wire.on('data', () => {}) // drain what the wire answers, as the socket it is piped into would
  try {
    wire.write(btHandshake(randomBytes(20), randomBytes(20)))
    wire.handshake(randomBytes(20), randomBytes(20)) // the peer's messages are parsed once ours is sent
    wire.write(input)
    // streamx writes on a later tick: let the parser run before looking at the outcome.
    await new Promise(resolve => setImmediate(resolve))
  } finally {
    wire.destroy()
  }
  for (const err of errors) if (!(err instanceof BttlsError)) throw err
}

/** The wire's own framing: length checks on each prefix, message checks on each whole message. */
function framed (input: Buffer): void {
  for (let at = 0; at + 4 <= input.length;) {
    const length = input.readUInt32BE(at)
    checkMessageLength(length)
    at += 4
    if (length === 0) continue
    if (at + length > input.length) return
    checkMessage(input.subarray(at, at + length))
    at += length
  }
}

const runners: Record<Target, Runner> = {
  sniff: input => {
    // As the listener feeds it: every prefix, since bytes arrive in arbitrary chunks.
    for (let n = 0; n <= Math.min(input.length, 32); n++) sniff(input.subarray(0, n))
  },
  'client-hello': input => { parseClientHello(input) },
  'auth-message': input => { decodeAuthMessage(input) },
  bencode: input => {
    decodeBencode(input, BENCODE_LIMITS)
    // The extended handshake's limit, on the same bytes: must not change the kind of outcome.
    decodeBencode(input, { maxBytes: MAX_EXTENDED_HANDSHAKE_LENGTH })
  },
  'wire-message': async input => {
    framed(input)
    await throughGuardedWire(input)
  }
}

/** Null if the runner returned or threw a BttlsError; otherwise the offending error. */
async function outcome (run: Runner, input: Buffer): Promise<unknown> {
  try {
    await run(input)
    return null
  } catch (err) {
    return err instanceof BttlsError ? null : err
  }
}

const corpus = new Map<Target, Array<{ name: string, bytes: Buffer }>>()
for (const target of TARGETS) {
  const dir = join(corpusDir, target)
  const names = (await readdir(dir)).filter(n => n.endsWith('.bin')).sort()
  corpus.set(target, await Promise.all(names.map(async name => ({ name, bytes: await readFile(join(dir, name)) }))))
}

for (const target of TARGETS) {
  t.test(`corpus: ${target}`, async t => {
    const files = corpus.get(target)!
    t.ok(files.some(f => f.name.startsWith('seed-')), 'has seeds')
    t.ok(files.some(f => f.name.startsWith('mut-')), 'has mutations')
    const bad: string[] = []
    for (const { name, bytes } of files) {
      const err = await outcome(runners[target], bytes)
      if (err) bad.push(`${name}: ${String(err)}`)
    }
    t.same(bad, [], `${files.length} files: each returns or throws a BttlsError`)
  })
}

t.test('seeds that are valid inputs are accepted', async t => {
  const read = (target: Target, name: string) => corpus.get(target)!.find(f => f.name === `seed-${name}.bin`)!.bytes
  t.equal(sniff(read('sniff', 'tls-client-hello-prefix')), 'tls')
  t.equal(sniff(read('sniff', 'bt-handshake')), 'plain')
  t.throws(() => sniff(read('sniff', 'oversized-hello-length')), { name: 'UnrecognizedProtocolError' })
  t.same(parseClientHello(read('client-hello', 'with-sni-alpn')).alpn, ['h2', 'http/1.1'])
  t.equal(parseClientHello(read('client-hello', 'with-sni-alpn')).serverName, 'tracker.example.org')
  t.equal(decodeAuthMessage(read('auth-message', 'basic')).level, 'basic')
  t.throws(() => decodeAuthMessage(read('auth-message', 'wrong-version')), { name: 'MalformedAuthMessageError' })
  t.equal(decodeAuthMessage(read('auth-message', 'basic-padded')).padding, 17)
  t.throws(() => decodeAuthMessage(read('auth-message', 'padding-over-bound')), { name: 'AuthPaddingError' })
  t.throws(() => decodeAuthMessage(read('auth-message', 'padding-not-zero')), { name: 'AuthPaddingError' })
  t.ok(decodeBencode(read('bencode', 'extended-handshake'), BENCODE_LIMITS))
  t.throws(() => decodeBencode(read('bencode', 'nested-100'), BENCODE_LIMITS), { name: 'MalformedBencodeError' })
  t.throws(() => decodeBencode(read('bencode', 'oversized'), BENCODE_LIMITS), { name: 'OversizedBencodeError' })
  t.doesNotThrow(() => framed(read('wire-message', 'all-fixed-messages')))
  t.throws(() => framed(read('wire-message', 'length-max')), { name: 'OversizedMessageError' })
  t.throws(() => framed(read('wire-message', 'have-short')), { name: 'MalformedMessageError' })
  // The guarded wire really parses the corpus (a loop that never reached the parser would pass too).
  const seen: string[] = []
  await throughGuardedWire(read('wire-message', 'all-fixed-messages'), seen)
  await throughGuardedWire(read('wire-message', 'extended-handshake'), seen)
  t.same([...new Set(seen)].sort(), ['bitfield', 'extended', 'handshake', 'have'])
  seen.length = 0
  await throughGuardedWire(read('wire-message', 'length-max'), seen)
  t.same(seen, ['handshake', 'OversizedMessageError'], 'a violation is reported, typed, and parsing stops')
})

/** A ClientHello exactly as node:tls sends it with the bttls profile, caught on a raw socket. */
async function realClientHello (): Promise<Buffer> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const first = new Promise<Buffer>(resolve => server.once('connection', s => s.once('data', (d: Buffer) => { resolve(d); s.destroy() })))
  const client = connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, ...initiatorOptions() })
  client.on('error', () => {})
  const hello = await first
  client.destroy()
  server.close()
  return hello
}

t.test(`seeded mutation loop: ${MUTATIONS_PER_TARGET} inputs per target`, async t => {
  const live = await realClientHello()
  t.equal(sniff(live), 'tls', 'a live ClientHello sniffs as TLS')
  t.same(parseClientHello(live).serverName, undefined, 'and carries no SNI')
  const started = Date.now()
  for (const [i, target] of TARGETS.entries()) {
    const seeds = corpus.get(target)!.map(f => f.bytes)
    if (target === 'client-hello' || target === 'sniff') seeds.push(live)
    const rng = prng(0xbad1 + i)
    const bad: string[] = []
    for (let n = 0; n < MUTATIONS_PER_TARGET; n++) {
      const input = randomMutation(rng, seeds)
      const err = await outcome(runners[target], input)
      // The hex is the reproducer: save it as test/fixtures/fuzz/<target>/crash-<name>.bin.
      if (err) bad.push(`#${n} ${String(err)} input=${input.toString('hex')}`)
    }
    t.same(bad.slice(0, 5), [], `${target}: no untyped exception`)
  }
  // A decoder that loops is caught by the file's time limit; the duration is only reported (speed lives in bench/).
  t.comment(`${TARGETS.length * MUTATIONS_PER_TARGET} inputs in ${Date.now() - started} ms`)
})
