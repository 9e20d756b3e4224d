/**
 * Prints the "Test vectors" subsections of bep/bep-xxxx.rst, computed with the reference implementation.
 *
 *   cd /work/main && TS_NODE_TRANSPILE_ONLY=1 node --import @tapjs/typescript/import bep/generate-vectors.ts
 *
 * Paste the output into the BEP. test/bep-vectors.test.ts parses the BEP and recomputes every value
 * independently, so a stale or hand-edited vector fails the tests.
 */
import { createHash } from 'node:crypto'
import { authHeader, encodeAuthMessage } from '../src/handshake/auth-message.js'
import { computeProof, deriveSwarmKey } from '../src/handshake/key-schedule.js'
import {
  BASIC_KEY_INFO, INITIATOR_PROOF_LABEL, RESPONDER_PROOF_LABEL, SWARM_KEY_SALT
} from '../src/handshake/constants.js'
import { basicLevel } from '../src/levels/basic.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** A literal block the way the BEP writes it: `label (hex)::`, hex wrapped at 64 digits. */
function block (label: string, value: Uint8Array | string, bold = false): string {
  const text = typeof value === 'string' ? value : (hex(value).match(/.{1,64}/g) ?? ['']).join('\n    ')
  const kind = typeof value === 'string' ? 'text' : 'hex'
  const name = `${label} (${kind})`
  return `${bold ? `**${name}**` : name}::\n\n    ${text}\n`
}

function title (text: string): string {
  return `${text}\n${'-'.repeat(text.length)}\n`
}

function range (from: number, count: number): Buffer {
  return Buffer.from(Array.from({ length: count }, (_, i) => from + i))
}

function basicVector (heading: string, note: string, infoHash: Buffer, exporter: Buffer): string {
  const key = deriveSwarmKey(infoHash, BASIC_KEY_INFO)
  const header = authHeader('basic')
  const iInput = Buffer.concat([Buffer.from(INITIATOR_PROOF_LABEL, 'latin1'), header, exporter])
  const rInput = Buffer.concat([Buffer.from(RESPONDER_PROOF_LABEL, 'latin1'), header, exporter])
  const iProof = computeProof(key, 'initiator', header, exporter)
  const rProof = computeProof(key, 'responder', header, exporter)
  return [
    title(heading),
    `${note}\n`,
    block('level', 'basic'),
    block('infohash', infoHash),
    block('exporter', exporter),
    block('HKDF salt', Buffer.from(SWARM_KEY_SALT, 'latin1')),
    block('HKDF info', Buffer.from(BASIC_KEY_INFO, 'latin1')),
    block('swarm key', key, true),
    block('header', header, true),
    block('initiator HMAC input', iInput),
    block('initiator proof', iProof, true),
    block('responder HMAC input', rInput),
    block('responder proof', rProof, true),
    block('AuthHello', encodeAuthMessage({ level: 'basic', proof: iProof }), true),
    block('AuthReply', encodeAuthMessage({ level: 'basic', proof: rProof }), true)
  ].join('\n')
}

function hybridVector (heading: string, note: string, v1: Buffer, v2: Buffer, exporter: Buffer): string {
  const level = basicLevel([v2, v1])
  const [k2, k1] = level.swarmKeys
  const header = authHeader('basic')
  const iProof = computeProof(k2!.key, 'initiator', header, exporter)
  const rProof = computeProof(k2!.key, 'responder', header, exporter)
  return [
    title(heading),
    `${note}\n`,
    block('level', 'basic'),
    block('v1 infohash', v1),
    block('v2 infohash', v2),
    block('exporter', exporter),
    block('v1 swarm key', k1!.key, true),
    block('v2 swarm key', k2!.key, true),
    block('AuthHello', encodeAuthMessage({ level: 'basic', proof: iProof }), true),
    block('AuthReply', encodeAuthMessage({ level: 'basic', proof: rProof }), true),
    block('handshake infohash', v2.subarray(0, 20), true)
  ].join('\n')
}

const v1 = createHash('sha1').update('bttls test vector v1').digest()
const v2 = createHash('sha256').update('bttls test vector v2').digest()

process.stdout.write([
  basicVector('Test 1 (Basic, v1 infohash)', 'A v1 torrent: the infohash is 20 bytes.', v1, range(0x00, 32)),
  basicVector('Test 2 (Basic, v2 infohash)', 'A v2 torrent: the infohash is 32 bytes, used at full length.', v2, range(0x00, 32)),
  hybridVector('Test 3 (Basic, hybrid torrent)', [
    'The infohashes of tests 1 and 2 taken as the v1 and v2 infohashes of one hybrid torrent (any',
    'pair would do). The initiator knows the v2 infohash, so it proves with the v2 key: its AuthHello',
    'is that of test 2. The responder holds both keys and also accepts the AuthHello of test 1. The',
    'wire infohash of both BitTorrent handshakes is the v2 infohash truncated to 20 bytes.'
  ].join('\n'), v1, v2, range(0x00, 32)),
  basicVector('Test 4 (Basic, v1 infohash, another connection)', [
    'The infohash of test 1 on another connection (exporter 0x20 to 0x3f). Both proofs differ from',
    'those of test 1, so a proof relayed from one connection to another does not verify.'
  ].join('\n'), v1, range(0x20, 32))
].join('\n\n'))
