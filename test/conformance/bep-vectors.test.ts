/**
 * Keeps the BEP documents (bep/bep-xxxx.rst, the core, and its companions bep-xxxx-strict.rst,
 * bep-xxxx-full-strict.rst and bep-xxxx-signalling.rst) and the code from drifting apart:
 *
 * 1. each document's "Test vectors" subsections are exactly what bep/generate-vectors.ts prints for it;
 * 2. every vector is parsed out of its document and recomputed twice, once with the reference code
 *    (deriveSwarmKey, computeProof, encodeAuthMessage, basicLevel, exporterFromSecret; for Strict
 *    strictSwarmKey, secretCommitment, passphraseSecret, signedBytes, strictLevel, the bttls torrent
 *    fields and the magnet parameters; for Full Strict fullStrictSwarmKey, caFingerprint,
 *    certificateSignedBytes, the certificate block encoding, verifyPeerCertificate and the libtorrent
 *    SNI; for signalling advertise/readCapability, the ut_pex codec, the tracker's flags and
 *    capabilityParams) and once straight from the formulas the documents state (RFC 5869 HKDF,
 *    RFC 8446 HKDF-Expand-Label, RFC 2104 HMAC, SHA-256, RFC 7914 scrypt, RFC 8032 Ed25519 and ECDSA
 *    P-256 over node:crypto, and bencode and the certificate block written out by hand). ECDSA is
 *    randomised, so the Full Strict signature is verified, not recomputed. The exporter formula is
 *    also checked against real TLS 1.3 connections (Node's exporter against its key log);
 * 3. the "Constants" tables of the documents list, between them and each name once, exactly the
 *    exports of src/protocol/constants.ts, with the same values;
 * 4. every document renders with docutils at the strictest halt level (any info, warning or error
 *    fails; skipped with a reason where docutils is not installed), has no line over 100 columns,
 *    and the core stays within 900 lines.
 *
 * Vector format (as BEP 44/46): inside a subsection of "Test vectors", a paragraph `label (hex)::` or
 * `label (text)::`, optionally in bold (`**label (hex)**::`), followed by an indented literal block.
 * Hex may be wrapped over several lines; the lines are joined. Any other paragraph is prose.
 */
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { createHash, createHmac, createPrivateKey, createPublicKey, scryptSync, sign, verify, X509Certificate } from 'node:crypto'
import tls, { type TLSSocket } from 'node:tls'
import type { AddressInfo } from 'node:net'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from '../helpers/project-root.js'
import * as constants from '../../src/protocol/constants.js'
import {
  authHeader, certificateBlockLength, decodeAuthMessage, encodeAuthMessage, encodeCertificateBlock, extensionLength, type LevelName
} from '../../src/protocol/auth-message.js'
import { computeProof, connectionExporter, deriveSwarmKey, exporterFromSecret, proofMatches } from '../../src/protocol/key-schedule.js'
import { basicLevel, basicSwarmKey } from '../../src/levels/basic.js'
import { passphraseSecret, secretCommitment, strictRendezvous, strictSwarmKey } from '../../src/levels/strict-keys.js'
import { publicKeyObject, rawPublisherKey, signedBytes, strictLevel } from '../../src/levels/strict.js'
import type { StrictInfo } from '../../src/torrent/strict-info.js'
import { encodeStrictInfo, parseStrictInfo } from '../../src/torrent/bttls-fields.js'
import { BencodeDict, decodeBencode, encodeBencode } from '../../src/codec/bencode.js'
import { magnetUri, parseMagnet } from '../../src/torrent/magnet.js'
import { caFingerprint, createSwarmCa, verifyPeerCertificate } from '../../src/pki/certificate-profile.js'
import { certificateSignedBytes, fullStrictSwarmKey } from '../../src/levels/full-strict/full-strict.js'
import { libtorrentSni } from '../../src/wire/libtorrent-ssl.js'
import { readBttlsFields } from '../../src/tracker/announce-keys.js'
import { advertise, readCapability, PEX_FLAG_BTTLS } from '../../src/wire/capabilities.js'
import { encodePexMessage, parsePexMessage, PEX_FLAGS, type PexPeer } from '../../src/wire/ut-pex.js'
import { encodeCompactPeers } from '../../src/codec/compact-peers.js'
import { BTTLS_FLAGS_KEY, BTTLS_FLAGS6_KEY, encodeBttlsFlags, readFlaggedPeers, TRACKER_FLAG_BTTLS } from '../../src/tracker/bttls-flags.js'
import { capabilityParams } from '../../src/session/discovery-trackers.js'
import { levelFor } from '../../src/session/torrent-level.js'
import { decodeQuery } from '../../src/codec/query-string.js'
import { POLICIES } from '../../src/wire/policy.js'
import type Wire from 'bittorrent-protocol'
import { BEP_DOCUMENTS, spliceVectors, vectorText, type BepDocument } from '../../bep/generate-vectors.js'
import { createResponderCertificate } from '../../src/pki/responder-certificate.js'

/** BTTLS_BEP_DIR lets a check run against modified copies (to see that the tests catch drift). */
const bepDir = process.env.BTTLS_BEP_DIR ?? join(ROOT, 'bep')

// --- a small reader for the parts of reStructuredText the BEP documents use -----------------------

interface Section { title: string, level: '=' | '-', start: number, end: number }

type Field = { kind: 'hex', value: Buffer } | { kind: 'text', value: string }

class BepDoc {
  readonly path: string
  readonly rst: string
  readonly lines: string[]
  constructor (readonly name: BepDocument) {
    this.path = join(bepDir, BEP_DOCUMENTS[name])
    this.rst = readFileSync(this.path, 'utf8')
    this.lines = this.rst.split('\n')
  }

  /** Section titles: a text line underlined by a line of '=' or '-' at least as long. */
  sections (): Section[] {
    const lines = this.lines
    const found: Section[] = []
    for (let i = 0; i + 1 < lines.length; i++) {
      const title = lines[i]!
      const under = lines[i + 1]!
      const m = /^(=+|-+)$/.exec(under)
      if (!m || title.trim() === '' || /^[=\-+|]/.test(title) || under.length < title.length) continue
      found.push({ title, level: under[0] as '=' | '-', start: i + 2, end: lines.length })
    }
    // A section ends where the next section of the same or a higher level starts.
    for (let i = 0; i < found.length; i++) {
      const s = found[i]!
      const next = found.slice(i + 1).find(n => n.level === '=' || s.level === '-')
      if (next) s.end = next.start - 2
    }
    return found
  }

  section (title: string, level: '=' | '-'): Section {
    const s = this.sections().find(x => x.title === title && x.level === level)
    if (!s) throw new Error(`${BEP_DOCUMENTS[this.name]} has no section "${title}"`)
    return s
  }

  /** The labelled literal blocks of one vector subsection. */
  fields (s: Section): Map<string, Field> {
    const lines = this.lines
    const out = new Map<string, Field>()
    for (let i = s.start; i < s.end; i++) {
      const m = /^(\*\*)?(.+?) \((hex|text)\)(\*\*)?::\s*$/.exec(lines[i]!)
      if (!m) continue
      if ((m[1] ?? '') !== (m[4] ?? '')) throw new Error(`line ${i + 1}: unbalanced bold in "${lines[i]}"`)
      const body: string[] = []
      let j = i + 1
      while (j < s.end && lines[j]!.trim() === '') j++
      while (j < s.end && (lines[j]!.startsWith('    ') || lines[j]!.trim() === '')) {
        if (lines[j]!.trim() !== '') body.push(lines[j]!.trim())
        j++
      }
      if (body.length === 0) throw new Error(`line ${i + 1}: "${m[2]}" has no literal block`)
      const label = m[2]!
      if (out.has(label)) throw new Error(`line ${i + 1}: "${label}" appears twice in "${s.title}"`)
      if (m[3] === 'hex') {
        const hex = body.join('')
        if (!/^([0-9a-f]{2})+$/.test(hex)) throw new Error(`line ${i + 1}: "${label}" is not lower-case hex bytes`)
        out.set(label, { kind: 'hex', value: Buffer.from(hex, 'hex') })
      } else {
        out.set(label, { kind: 'text', value: body.join('\n') })
      }
      i = j - 1
    }
    return out
  }

  vectors (): Map<string, Vector> {
    const top = this.section('Test vectors', '=')
    const subs = this.sections().filter(s => s.level === '-' && s.start > top.start && s.start < top.end)
    return new Map(subs.map(s => [s.title, new Vector(s.title, this.fields(s))]))
  }

  vector (title: string): Vector {
    const v = this.vectors().get(title)
    if (!v) throw new Error(`${BEP_DOCUMENTS[this.name]} lacks test vector "${title}"`)
    return v
  }
}

const docs = {
  core: new BepDoc('core'),
  strict: new BepDoc('strict'),
  'full-strict': new BepDoc('full-strict'),
  signalling: new BepDoc('signalling')
} satisfies Record<BepDocument, BepDoc>
const allDocs = Object.values(docs)

class Vector {
  private readonly used = new Set<string>()
  constructor (readonly title: string, private readonly map: Map<string, Field>) {}
  has (label: string): boolean {
    return this.map.has(label)
  }
  hex (label: string): Buffer {
    const f = this.map.get(label)
    if (!f || f.kind !== 'hex') throw new Error(`vector "${this.title}" lacks "${label} (hex)"`)
    this.used.add(label)
    return f.value
  }
  text (label: string): string {
    const f = this.map.get(label)
    if (!f || f.kind !== 'text') throw new Error(`vector "${this.title}" lacks "${label} (text)"`)
    this.used.add(label)
    return f.value
  }
  /** Labels the document gives that no check looked at: a typo, or a value nobody verifies. */
  unchecked (): string[] {
    return [...this.map.keys()].filter(k => !this.used.has(k))
  }
}

// --- the formulas exactly as the BEP states them (independent of src/) --------------------------

const ascii = (s: string): Buffer => Buffer.from(s, 'latin1')
const hmac = (key: Uint8Array, ...parts: Uint8Array[]): Buffer => {
  const h = createHmac('sha256', key)
  for (const p of parts) h.update(p)
  return h.digest()
}
/** RFC 5869 with SHA-256, L = 32 (one expand block). */
const hkdf32 = (salt: Uint8Array, ikm: Uint8Array, info: Uint8Array): Buffer =>
  hmac(hmac(salt, ikm), info, Buffer.from([1]))

const levelByte: Record<string, number> = { basic: 0x01, strict: 0x02, 'full-strict': 0x03 }

// --- the vectors ---------------------------------------------------------------------------------

const CORE_VECTORS = [
  'Test 1 (Basic, v1 infohash)',
  'Test 2 (Basic, v2 infohash)',
  'Test 3 (Basic, hybrid torrent)',
  'Test 4 (Basic, v1 infohash, another connection)',
  'Test 5 (TLS exporter, SHA-256 suite)',
  'Test 6 (TLS exporter, SHA-384 suite)',
  'Test 7 (Extension handshake)'
] as const
const STRICT_VECTORS = ['Test 1 (Strict, secret mode)', 'Test 2 (Strict, passphrase mode)', 'Test 3 (Strict, publisher mode)', 'Test 4 (Strict rendezvous)'] as const
const FULL_STRICT_VECTORS = ['Test 1 (Full Strict, AuthHello with a certificate)', 'Test 2 (Full Strict magnet link)'] as const
const SIGNALLING_VECTORS = ['Test 1 (PEX and tracker signals)'] as const
const EXPECTED_VECTORS: Record<BepDocument, readonly string[]> = {
  core: CORE_VECTORS, strict: STRICT_VECTORS, 'full-strict': FULL_STRICT_VECTORS, signalling: SIGNALLING_VECTORS
}

t.test('every expected test vector is in its document, and no other', async t => {
  for (const doc of allDocs) t.same([...doc.vectors().keys()], EXPECTED_VECTORS[doc.name], `vector subsections of ${BEP_DOCUMENTS[doc.name]}`)
})

t.test('each document\'s vectors are exactly what bep/generate-vectors.ts writes', async t => {
  for (const doc of allDocs) {
    t.equal(spliceVectors(doc.rst, vectorText(doc.name)), doc.rst, `${BEP_DOCUMENTS[doc.name]} (regenerate: bep/generate-vectors.ts --write)`)
  }
})

/** Checks one Basic vector; returns its outputs for cross-vector checks. */
function checkBasic (t: Test, v: Vector): { hello: Buffer, reply: Buffer } {
  const level = v.text('level') as LevelName
  t.equal(level, 'basic')
  const infoHash = v.hex('infohash')
  const exporter = v.hex('exporter')
  t.ok(infoHash.length === 20 || infoHash.length === 32, 'infohash is 20 or 32 bytes')
  t.equal(exporter.length, constants.EXPORTER_LENGTH, 'exporter length')
  // The prose says where the example infohashes come from.
  const source = infoHash.length === 20
    ? createHash('sha1').update('bttls test vector v1').digest()
    : createHash('sha256').update('bttls test vector v2').digest()
  t.same(infoHash, source, 'example infohash as the section introduction describes it')

  // Tests 2 and 4 leave out the HKDF inputs that test 1 shows.
  const salt = v.has('HKDF salt') ? v.hex('HKDF salt') : ascii(constants.SWARM_KEY_SALT)
  const info = v.has('HKDF info') ? v.hex('HKDF info') : ascii(constants.BASIC_KEY_INFO)
  t.same(salt, ascii(constants.SWARM_KEY_SALT), 'HKDF salt is SWARM_KEY_SALT')
  t.same(info, ascii(constants.BASIC_KEY_INFO), 'HKDF info is BASIC_KEY_INFO')

  const swarmKey = v.hex('swarm key')
  t.same(swarmKey, deriveSwarmKey(infoHash, constants.BASIC_KEY_INFO), 'swarm key: deriveSwarmKey')
  t.same(swarmKey, basicSwarmKey(infoHash).key, 'swarm key: basicSwarmKey')
  t.same(swarmKey, hkdf32(salt, infoHash, info), 'swarm key: HKDF-SHA256 as the BEP states it')

  const header = v.hex('header')
  t.same(header, authHeader(level), 'header: authHeader')
  t.same(header, Buffer.from([constants.PROTOCOL_VERSION, levelByte[level]!, 0, 0]), 'header: version, level, reserved')

  const proofs: Record<'initiator' | 'responder', Buffer> = { initiator: Buffer.alloc(0), responder: Buffer.alloc(0) }
  for (const role of ['initiator', 'responder'] as const) {
    const label = role === 'initiator' ? constants.INITIATOR_PROOF_LABEL : constants.RESPONDER_PROOF_LABEL
    // Test 2 leaves out the HMAC inputs, which are those of test 1.
    const input = v.has(`${role} HMAC input`) ? v.hex(`${role} HMAC input`) : Buffer.concat([ascii(label), header, exporter])
    t.same(input, Buffer.concat([ascii(label), header, exporter]), `${role} HMAC input: label || header || exporter`)
    const proof = v.hex(`${role} proof`)
    t.same(proof, computeProof(swarmKey, role, header, exporter), `${role} proof: computeProof`)
    t.same(proof, hmac(swarmKey, input), `${role} proof: HMAC-SHA256 as the BEP states it`)
    proofs[role] = proof
  }

  const hello = v.hex('AuthHello')
  const reply = v.hex('AuthReply')
  const [helloPad, replyPad] = [paddingOf(hello), paddingOf(reply)]
  t.same(hello, encodeAuthMessage({ level, proof: proofs.initiator, padding: helloPad }), 'AuthHello: encodeAuthMessage')
  t.same(reply, encodeAuthMessage({ level, proof: proofs.responder, padding: replyPad }), 'AuthReply: encodeAuthMessage')
  t.same(hello, Buffer.concat([header, proofs.initiator, padding(helloPad)]), 'AuthHello: header || initiator proof || padding')
  t.same(reply, Buffer.concat([header, proofs.responder, padding(replyPad)]), 'AuthReply: header || responder proof || padding')
  t.equal(hello.length, constants.AUTH_MESSAGE_LENGTH + constants.AUTH_PADDING_LENGTH_SIZE + helloPad)
  for (const [name, bytes, proof] of [['AuthHello', hello, proofs.initiator], ['AuthReply', reply, proofs.responder]] as const) {
    const decoded = decodeAuthMessage(bytes)
    t.equal(decoded.level, level, `${name} decodes to its level`)
    t.ok(proofMatches(proof, decoded.proof), `${name} proof verifies`)
  }
  t.same(v.unchecked(), [], 'every value in the vector was checked')
  return { hello, reply }
}

/** The padding the BEP prescribes: a u16 length, then that many zero bytes. */
function padding (length: number): Buffer {
  const prefix = Buffer.alloc(constants.AUTH_PADDING_LENGTH_SIZE)
  prefix.writeUInt16BE(length)
  return Buffer.concat([prefix, Buffer.alloc(length)])
}

/** A message's padding length, read from its last bytes' layout by the decoder. */
function paddingOf (message: Buffer): number {
  return decodeAuthMessage(message).padding ?? 0
}

t.test('Basic vectors', async t => {
  const get = (title: string): Vector => docs.core.vector(title)
  const out = new Map<string, { hello: Buffer, reply: Buffer }>()
  for (const title of [CORE_VECTORS[0], CORE_VECTORS[1], CORE_VECTORS[3]]) {
    await t.test(title, async t => { out.set(title, checkBasic(t, get(title))) })
  }
  t.equal(get(CORE_VECTORS[0]).hex('infohash').length, 20, 'test 1 is a v1 infohash')
  t.equal(get(CORE_VECTORS[1]).hex('infohash').length, 32, 'test 2 is a v2 infohash')
  t.same(get(CORE_VECTORS[3]).hex('infohash'), get(CORE_VECTORS[0]).hex('infohash'), 'test 4 reuses the infohash of test 1')
  t.same(get(CORE_VECTORS[1]).hex('exporter'), get(CORE_VECTORS[0]).hex('exporter'), 'test 2 has the exporter of test 1, so the HMAC inputs it omits are test 1\'s')
  t.ok(get(CORE_VECTORS[0]).has('HKDF salt') && get(CORE_VECTORS[0]).has('initiator HMAC input'), 'test 1 shows every input')
  const t1 = out.get(CORE_VECTORS[0])!
  const t4 = out.get(CORE_VECTORS[3])!
  t.notSame(t4.hello.subarray(4), t1.hello.subarray(4), 'another exporter gives another initiator proof')
  t.notSame(t4.reply.subarray(4), t1.reply.subarray(4), 'another exporter gives another responder proof')

  await t.test(CORE_VECTORS[2], async t => {
    const v = get(CORE_VECTORS[2])
    const level = v.text('level') as LevelName
    t.equal(level, 'basic')
    const v1 = v.hex('v1 infohash')
    const v2 = v.hex('v2 infohash')
    const exporter = v.hex('exporter')
    t.equal(v1.length, 20)
    t.equal(v2.length, 32)
    t.same(v1, get(CORE_VECTORS[0]).hex('infohash'), 'v1 infohash is that of test 1')
    t.same(v2, get(CORE_VECTORS[1]).hex('infohash'), 'v2 infohash is that of test 2')
    t.same(exporter, get(CORE_VECTORS[1]).hex('exporter'), 'same exporter as test 2')

    const hybrid = basicLevel([v2, v1])
    t.same(hybrid.swarmKeys.map(k => Buffer.from(k.infoHash)), [v2, v1], 'the initiator proves with the v2 key first')
    t.same(v.hex('v1 swarm key'), hybrid.swarmKeys[1]!.key, 'v1 swarm key')
    t.same(v.hex('v2 swarm key'), hybrid.swarmKeys[0]!.key, 'v2 swarm key')
    t.same(v.hex('v1 swarm key'), get(CORE_VECTORS[0]).hex('swarm key'), 'v1 swarm key is that of test 1')

    const header = authHeader(level)
    const hello = v.hex('AuthHello')
    const reply = v.hex('AuthReply')
    t.same(hello, encodeAuthMessage({ level, proof: computeProof(hybrid.swarmKeys[0]!.key, 'initiator', header, exporter), padding: paddingOf(hello) }), 'AuthHello under the v2 key')
    t.same(reply, encodeAuthMessage({ level, proof: computeProof(hybrid.swarmKeys[0]!.key, 'responder', header, exporter), padding: paddingOf(reply) }), 'AuthReply under the v2 key')
    t.same(hello, out.get(CORE_VECTORS[1])!.hello, 'AuthHello equals that of test 2')

    // The responder holds both keys and accepts a proof under either (test 1's AuthHello too).
    for (const [name, msg] of [['test 3', hello], ['test 1', t1.hello]] as const) {
      const proof = decodeAuthMessage(msg).proof
      const matches = hybrid.swarmKeys.filter(k => proofMatches(computeProof(k.key, 'initiator', header, exporter), proof))
      t.equal(matches.length, 1, `the responder finds exactly one key for the AuthHello of ${name}`)
    }
    t.same(v.hex('handshake infohash'), v2.subarray(0, 20), 'wire infohash: v2 truncated to 20 bytes (BEP 52)')
    t.same(v.unchecked(), [], 'every value in the vector was checked')
  })
})

// --- the Strict vectors --------------------------------------------------------------------------

const v1Example = createHash('sha1').update('bttls test vector v1').digest()
const v2Example = createHash('sha256').update('bttls test vector v2').digest()
const exporterExample = Buffer.from(Array.from({ length: 32 }, (_, i) => i))
/** Bencode of a byte string, written out by hand (BEP 3). */
const bstr = (b: Buffer | string): Buffer => {
  const bytes = typeof b === 'string' ? ascii(b) : b
  return Buffer.concat([ascii(`${bytes.length}:`), bytes])
}
/** RFC 8032 section 7.1, TEST 1: the secret key (seed), its public key, and its signature of the empty message. */
const RFC8032_TEST1 = {
  seed: Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'),
  publicKey: Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex'),
  emptySignature: Buffer.from('e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b', 'hex')
}
const ed25519PrivateKey = (seed: Buffer) =>
  createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' })

/** What every Strict vector shares: level, mode, the example infohash and exporter. */
function strictCommon (t: Test, v: Vector, mode: StrictInfo['mode'], infoHash: Buffer): Buffer {
  t.equal(v.text('level'), 'strict')
  t.equal(v.text('mode'), mode)
  t.same(v.hex('infohash'), infoHash, 'example infohash as the section introduction describes it')
  const exporter = v.hex('exporter')
  t.same(exporter, exporterExample, 'the exporter is the bytes 0x00 to 0x1f')
  return exporter
}

/** The bttls dictionary: as the code encodes it, as bencode by hand, and parsed back. */
function checkBttlsDictionary (t: Test, v: Vector, info: StrictInfo, byHand: Buffer): void {
  const dict = v.hex('bttls dictionary')
  t.same(dict, encodeBencode(encodeStrictInfo(info)), 'bttls dictionary: encodeStrictInfo')
  t.same(dict, byHand, 'bttls dictionary: bencode with sorted keys, as the BEP lists them')
  t.same(parseStrictInfo(decodeBencode(dict, { maxBytes: 1024 })), info, 'bttls dictionary: parseStrictInfo reads it back')
}

/** Proofs and messages; `replyFlags` and `signature` for a responder that signs. Returns the proofs. */
function checkStrictProofs (t: Test, v: Vector, swarmKey: Buffer, exporter: Buffer, replyFlags = 0, signature?: Buffer) {
  const signs = replyFlags !== 0
  const helloHeader = v.hex(signs ? 'AuthHello header' : 'header')
  const replyHeader = signs ? v.hex('AuthReply header') : helloHeader
  t.same(helloHeader, authHeader('strict'), 'AuthHello header: authHeader')
  t.same(helloHeader, Buffer.from([constants.PROTOCOL_VERSION, constants.LEVEL_CODES.strict, 0, 0]), 'AuthHello header: version, level 0x02, flags 0')
  t.same(replyHeader, authHeader('strict', replyFlags), 'AuthReply header: authHeader')
  t.same(replyHeader, Buffer.from([constants.PROTOCOL_VERSION, 0x02, replyFlags >> 8, replyFlags & 0xff]), 'AuthReply header: version, level, its own flags')

  const proofs: Record<'initiator' | 'responder', Buffer> = { initiator: Buffer.alloc(0), responder: Buffer.alloc(0) }
  for (const [role, label, header] of [
    ['initiator', constants.INITIATOR_PROOF_LABEL, helloHeader],
    ['responder', constants.RESPONDER_PROOF_LABEL, replyHeader]
  ] as const) {
    const input = v.hex(`${role} HMAC input`)
    t.same(input, Buffer.concat([ascii(label), header, exporter]), `${role} HMAC input: label || its own header || exporter`)
    const proof = v.hex(`${role} proof`)
    t.same(proof, computeProof(swarmKey, role, header, exporter), `${role} proof: computeProof`)
    t.same(proof, hmac(swarmKey, input), `${role} proof: HMAC-SHA256 as the BEP states it`)
    proofs[role] = proof
  }

  const hello = v.hex('AuthHello')
  const reply = v.hex('AuthReply')
  t.same(hello, encodeAuthMessage({ level: 'strict', proof: proofs.initiator }), 'AuthHello: encodeAuthMessage')
  t.same(hello, Buffer.concat([helloHeader, proofs.initiator, padding(0)]), 'AuthHello: header || proof || padding')
  t.equal(hello.length, constants.AUTH_MESSAGE_LENGTH + constants.AUTH_PADDING_LENGTH_SIZE)
  t.same(reply, encodeAuthMessage(signs
    ? { level: 'strict', flags: replyFlags, proof: proofs.responder, signature: signature! }
    : { level: 'strict', proof: proofs.responder }), 'AuthReply: encodeAuthMessage')
  t.same(reply, Buffer.concat([replyHeader, proofs.responder, ...(signs ? [signature!] : []), padding(0)]), 'AuthReply: header || proof (|| signature) || padding')
  t.equal(reply.length, constants.AUTH_MESSAGE_LENGTH + (signs ? constants.PUBLISHER_SIGNATURE_LENGTH : 0) + constants.AUTH_PADDING_LENGTH_SIZE, 'AuthReply length')

  for (const [name, bytes, header, proof] of [['AuthHello', hello, helloHeader, proofs.initiator], ['AuthReply', reply, replyHeader, proofs.responder]] as const) {
    t.equal(extensionLength(bytes.subarray(0, constants.AUTH_MESSAGE_LENGTH)), bytes.length - constants.AUTH_MESSAGE_LENGTH - constants.AUTH_PADDING_LENGTH_SIZE, `${name}: the reading rule reads exactly the extension, then the padding length`)
    const decoded = decodeAuthMessage(bytes)
    t.equal(decoded.level, 'strict', `${name} decodes to level strict`)
    t.same(authHeader(decoded.level, decoded.flags), header, `${name} decodes to its header`)
    t.ok(proofMatches(proof, decoded.proof), `${name} proof verifies`)
  }
  return proofs
}

t.test('Strict vectors', async t => {
  const get = (title: string): Vector => docs.strict.vector(title)

  await t.test(STRICT_VECTORS[0], async t => {
    const v = get(STRICT_VECTORS[0])
    const infoHash = v1Example
    const exporter = strictCommon(t, v, 'secret', infoHash)
    const secret = v.hex('secret')
    t.same(secret, createHash('sha256').update('bttls test vector strict secret').digest(), 'the secret as the vector describes it')
    t.equal(secret.length, constants.STRICT_SECRET_LENGTH)

    const commitmentInput = v.hex('commitment input')
    t.same(commitmentInput, Buffer.concat([ascii(constants.STRICT_COMMITMENT_LABEL), secret]), 'commitment input: label || secret')
    const commitment = v.hex('commitment')
    t.same(commitment, secretCommitment(secret), 'commitment: secretCommitment')
    t.same(commitment, createHash('sha256').update(commitmentInput).digest(), 'commitment: SHA-256 as the BEP states it')
    const info: StrictInfo = { mode: 'secret', commitment }
    checkBttlsDictionary(t, v, info, Buffer.concat([
      ascii('d'), bstr('commitment'), bstr(commitment), bstr('level'), bstr('strict'), bstr('mode'), bstr('secret'), ascii('e')
    ]))

    const magnet = v.text('magnet link').replace(/\n/g, '')
    t.equal(magnet, magnetUri({ infoHashV1: infoHash, wireInfoHash: infoHash, trackers: [], peers: [], strict: { mode: 'secret' } }, { secret }), 'magnet link: magnetUri')
    t.equal(magnet, `magnet:?xt=urn:btih:${infoHash.toString('hex')}&x.bttls=strict-secret&x.bttls.secret=${secret.toString('hex')}`, 'magnet link: xt, x.bttls, x.bttls.secret')
    const parsed = parseMagnet(magnet)
    t.same(parsed.infoHashV1, infoHash)
    t.same(parsed.strict, { mode: 'secret' }, 'the magnet link parses to secret mode')
    t.same(parsed.strictSecret, secret, 'the magnet link carries the secret')

    const salt = v.hex('HKDF salt')
    const ikm = v.hex('HKDF IKM')
    const hkdfInfo = v.hex('HKDF info')
    t.same(salt, ascii(constants.SWARM_KEY_SALT), 'HKDF salt is SWARM_KEY_SALT')
    t.same(ikm, Buffer.concat([infoHash, secret]), 'HKDF IKM: infohash || secret')
    t.same(hkdfInfo, ascii(constants.STRICT_KEY_INFO), 'HKDF info is STRICT_KEY_INFO')
    const swarmKey = v.hex('swarm key')
    t.same(swarmKey, strictSwarmKey(infoHash, secret), 'swarm key: strictSwarmKey')
    t.same(swarmKey, strictLevel([infoHash], info, { secret }).swarmKeys[0]!.key, 'swarm key: strictLevel with the secret (the commitment checks)')
    t.same(swarmKey, hkdf32(salt, ikm, hkdfInfo), 'swarm key: HKDF-SHA256 as the BEP states it')
    t.notSame(swarmKey, docs.core.vector(CORE_VECTORS[0]).hex('swarm key'), 'the Strict key of an infohash is not its Basic key')
    t.throws(() => strictLevel([infoHash], info, { secret: Buffer.alloc(32) }), { name: 'StrictSecretMismatchError' }, 'another secret fails the commitment')

    checkStrictProofs(t, v, swarmKey, exporter)
    t.same(v.unchecked(), [], 'every value in the vector was checked')
  })

  await t.test(STRICT_VECTORS[1], async t => {
    const v = get(STRICT_VECTORS[1])
    const infoHash = v2Example
    const exporter = strictCommon(t, v, 'passphrase', infoHash)
    const passphrase = v.text('passphrase')
    t.equal(passphrase, passphrase.normalize('NFC'), 'the passphrase is printed in NFC')
    t.ok([...passphrase].some(c => c.charCodeAt(0) > 0x7f), 'the passphrase has non-ASCII letters, as the vector says')
    t.notSame(Buffer.from(passphrase.normalize('NFD'), 'utf8'), Buffer.from(passphrase, 'utf8'), 'its NFD form is other bytes')
    const bytes = v.hex('passphrase bytes')
    t.same(bytes, Buffer.from(passphrase.normalize('NFC'), 'utf8'), 'passphrase bytes: UTF-8 of NFC')

    const salt = v.hex('scrypt salt')
    t.same(salt, Buffer.concat([ascii(constants.PASSPHRASE_SALT_LABEL), infoHash]), 'scrypt salt: label || infohash')
    const params = /^N = (\d+), r = (\d+), p = (\d+), dkLen = (\d+)$/.exec(v.text('scrypt parameters'))
    t.ok(params, 'scrypt parameters are "N = n, r = r, p = p, dkLen = l"')
    const [N, r, p, dkLen] = (params ?? []).slice(1).map(Number)
    t.same([N, r, p, dkLen], [constants.SCRYPT_N, constants.SCRYPT_R, constants.SCRYPT_P, constants.STRICT_SECRET_LENGTH], 'scrypt parameters are the constants')
    t.equal(constants.SCRYPT_N, 2 ** 17, 'N = 2^17')

    const stretched = v.hex('scrypt output')
    t.same(stretched, passphraseSecret(passphrase, infoHash), 'scrypt output: passphraseSecret')
    t.same(stretched, passphraseSecret(passphrase.normalize('NFD'), infoHash), 'scrypt output: the NFD form gives the same')
    t.same(stretched, scryptSync(bytes, salt, dkLen!, { N: N!, r: r!, p: p!, maxmem: 256 * 1024 * 1024 }), 'scrypt output: RFC 7914 scrypt as the BEP states it')

    const info: StrictInfo = { mode: 'passphrase' }
    checkBttlsDictionary(t, v, info, Buffer.concat([ascii('d'), bstr('level'), bstr('strict'), bstr('mode'), bstr('passphrase'), ascii('e')]))
    const ikm = v.hex('HKDF IKM')
    t.same(ikm, Buffer.concat([infoHash, stretched]), 'HKDF IKM: infohash || scrypt output')
    const swarmKey = v.hex('swarm key')
    t.same(swarmKey, strictSwarmKey(infoHash, stretched), 'swarm key: strictSwarmKey')
    t.same(swarmKey, strictLevel([infoHash], info, { passphrase }).swarmKeys[0]!.key, 'swarm key: strictLevel with the passphrase')
    t.same(swarmKey, hkdf32(ascii(constants.SWARM_KEY_SALT), ikm, ascii(constants.STRICT_KEY_INFO)), 'swarm key: HKDF-SHA256 as the BEP states it')

    checkStrictProofs(t, v, swarmKey, exporter)
    t.same(v.unchecked(), [], 'every value in the vector was checked')
  })

  await t.test(STRICT_VECTORS[2], async t => {
    const v = get(STRICT_VECTORS[2])
    const infoHash = v1Example
    const exporter = strictCommon(t, v, 'publisher', infoHash)
    const seed = v.hex('publisher private key')
    t.same(seed, RFC8032_TEST1.seed, 'the private key is the secret key of RFC 8032 TEST 1')
    const privateKey = ed25519PrivateKey(seed)
    t.same(sign(null, Buffer.alloc(0), privateKey), RFC8032_TEST1.emptySignature, 'node:crypto Ed25519 gives RFC 8032 TEST 1\'s signature')
    const publisherKey = v.hex('publisher key')
    t.same(publisherKey, RFC8032_TEST1.publicKey, 'publisher key: the public key of RFC 8032 TEST 1')
    t.same(publisherKey, rawPublisherKey(privateKey), 'publisher key: rawPublisherKey')
    t.equal(publisherKey.length, constants.PUBLISHER_KEY_LENGTH)

    const info: StrictInfo = { mode: 'publisher', publisherKey }
    checkBttlsDictionary(t, v, info, Buffer.concat([
      ascii('d'), bstr('level'), bstr('strict'), bstr('mode'), bstr('publisher'), bstr('publisher key'), bstr(publisherKey), ascii('e')
    ]))
    const magnet = v.text('magnet link').replace(/\n/g, '')
    t.equal(magnet, magnetUri({ infoHashV1: infoHash, wireInfoHash: infoHash, trackers: [], peers: [], strict: info }), 'magnet link: magnetUri')
    t.equal(magnet, `magnet:?xt=urn:btih:${infoHash.toString('hex')}&x.bttls=strict-publisher&x.bttls.pk=${publisherKey.toString('hex')}`, 'magnet link: xt, x.bttls, x.bttls.pk')
    t.same(parseMagnet(magnet).strict, info, 'the magnet link parses to publisher mode with the key')

    const ikm = v.hex('HKDF IKM')
    t.same(ikm, Buffer.concat([infoHash, publisherKey]), 'HKDF IKM: infohash || publisher key')
    const swarmKey = v.hex('swarm key')
    t.same(swarmKey, strictSwarmKey(infoHash, publisherKey), 'swarm key: strictSwarmKey')
    t.same(swarmKey, hkdf32(ascii(constants.SWARM_KEY_SALT), ikm, ascii(constants.STRICT_KEY_INFO)), 'swarm key: HKDF-SHA256 as the BEP states it')
    const seed7 = strictLevel([infoHash], info, { publisherPrivateKey: privateKey })
    t.same(seed7.swarmKeys[0]!.key, swarmKey, 'swarm key: strictLevel')
    t.equal(seed7.authFlags(), constants.FLAG_PUBLISHER_SIGNATURE, 'a peer with the private key sets FLAG_PUBLISHER_SIGNATURE')

    const replyHeader = authHeader('strict', constants.FLAG_PUBLISHER_SIGNATURE)
    const signed = v.hex('signed bytes')
    t.same(signed, signedBytes('responder', replyHeader, exporter), 'signed bytes: signedBytes')
    t.same(signed, Buffer.concat([ascii(constants.PUBLISHER_PROOF_LABEL), ascii(constants.RESPONDER_PROOF_LABEL), replyHeader, exporter]),
      'signed bytes: publisher label || responder label || AuthReply header || exporter')
    const signature = v.hex('signature')
    t.equal(signature.length, constants.PUBLISHER_SIGNATURE_LENGTH)
    t.same(signature, sign(null, signed, privateKey), 'signature: Ed25519 (deterministic) with the fixed key')
    t.same(signature, seed7.authPayload('responder', replyHeader, exporter).signature, 'signature: the level\'s authPayload')
    t.ok(verify(null, signed, publicKeyObject(publisherKey), signature), 'signature verifies under the publisher key')

    const proofs = checkStrictProofs(t, v, swarmKey, exporter, constants.FLAG_PUBLISHER_SIGNATURE, signature)
    const reply = v.hex('AuthReply')
    t.same(decodeAuthMessage(reply).signature, signature, 'AuthReply decodes to its signature')

    // A leecher that requires the publisher accepts this AuthReply, and refuses it stripped or moved.
    const leecher = strictLevel([infoHash], info, { requirePublisher: true })
    const check = (peerHeader: Buffer, peerSignature: Buffer | undefined, on = exporter) =>
      leecher.verifyPeer({ role: 'initiator', socket: undefined as unknown as TLSSocket, exporter: on, peerHeader, peerSignature })
    await t.resolves(async () => { await check(replyHeader, signature) }, 'the leecher accepts the signed AuthReply')
    await t.rejects(async () => { await check(authHeader('strict'), undefined) }, { name: 'PublisherRequiredError' }, 'an unsigned AuthReply is refused')
    await t.rejects(async () => { await check(replyHeader, signature, Buffer.alloc(32, 0xff)) }, { name: 'PublisherProofError' }, 'the signature does not verify on another connection')
    t.notOk(proofMatches(computeProof(swarmKey, 'responder', authHeader('strict'), exporter), proofs.responder),
      'stripping the flag breaks the responder proof, which covers the header')
    t.same(v.unchecked(), [], 'every value in the vector was checked')
  })
})

// --- the Full Strict vector ---------------------------------------------------------------------

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff])
const pemDer = (pem: string): Buffer => Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64')

t.test('Full Strict vector', async t => {
  const v = docs['full-strict'].vector(FULL_STRICT_VECTORS[0])
  t.equal(v.text('level'), 'full-strict')
  const infoHash = v.hex('infohash')
  t.same(infoHash, v1Example, 'the infohash of test 1')
  const name = v.text('torrent name')
  const exporter = v.hex('exporter')
  t.same(exporter, exporterExample, 'the exporter is the bytes 0x00 to 0x1f')
  const torrent = { name, infoHashV1: infoHash }

  // The swarm CA, as info["ssl-cert"] carries it, and the level input.
  const caPem = v.text('swarm CA certificate')
  t.match(caPem, /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+\n-----END CERTIFICATE-----$/, 'the CA certificate is one PEM block')
  const ca = new X509Certificate(caPem)
  t.ok(ca.ca, 'it is a CA certificate (info.ssl-cert must be one)')
  t.ok(ca.checkIssued(ca) && ca.verify(ca.publicKey), 'it is self-signed')
  const fingerprint = v.hex('CA certificate SHA-256')
  t.same(fingerprint, caFingerprint(caPem), 'CA certificate SHA-256: caFingerprint')
  t.same(fingerprint, createHash('sha256').update(pemDer(caPem)).digest(), 'CA certificate SHA-256: SHA-256 of the PEM\'s DER')
  const ikm = v.hex('HKDF IKM')
  t.same(ikm, Buffer.concat([infoHash, fingerprint]), 'HKDF IKM: infohash || SHA-256(CA DER)')
  const hkdfInfo = v.hex('HKDF info')
  t.same(hkdfInfo, ascii(constants.FULL_STRICT_KEY_INFO), 'HKDF info is FULL_STRICT_KEY_INFO')
  const swarmKey = v.hex('swarm key')
  t.same(swarmKey, fullStrictSwarmKey(infoHash, caPem), 'swarm key: fullStrictSwarmKey')
  t.same(swarmKey, hkdf32(ascii(constants.SWARM_KEY_SALT), ikm, hkdfInfo), 'swarm key: HKDF-SHA256 as the BEP states it')

  // Header and proof.
  const header = v.hex('header')
  t.same(header, authHeader('full-strict', constants.FLAG_CERTIFICATE), 'header: authHeader')
  t.same(header, Buffer.from('01030002', 'hex'), 'header: version 1, level 0x03, FLAG_CERTIFICATE')
  const hmacInput = v.hex('initiator HMAC input')
  t.same(hmacInput, Buffer.concat([ascii(constants.INITIATOR_PROOF_LABEL), header, exporter]), 'initiator HMAC input: label || header || exporter')
  const proof = v.hex('initiator proof')
  t.same(proof, computeProof(swarmKey, 'initiator', header, exporter), 'initiator proof: computeProof')
  t.same(proof, hmac(swarmKey, hmacInput), 'initiator proof: HMAC-SHA256 as the BEP states it')

  // The peer certificate and its private key.
  const certDer = v.hex('peer certificate')
  const cert = new X509Certificate(certDer)
  const keyPem = v.text('peer private key')
  t.ok(cert.checkPrivateKey(createPrivateKey(keyPem)), 'the private key is the certificate\'s')
  t.equal(cert.publicKey.asymmetricKeyType, 'ec')
  t.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1', 'a P-256 key')
  t.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), 'issued and signed by the swarm CA')
  t.notOk(cert.ca, 'not a CA')
  t.same(v.hex('peer certificate serial'), Buffer.from(cert.serialNumber, 'hex'), 'serial number')
  t.equal(v.text('peer certificate subjectAltName'), cert.subjectAltName, 'subjectAltName')
  t.equal(cert.subjectAltName, `URI:urn:btih:${infoHash.toString('hex')}, DNS:${name}`, 'SAN: the bttls binding and the libtorrent binding')
  t.match(cert.keyUsage ?? [], ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'], 'extKeyUsage serverAuth and clientAuth')
  const validity = /^notBefore (\S+)\nnotAfter {2}(\S+)$/.exec(v.text('peer certificate validity'))
  t.ok(validity, 'validity is "notBefore <ISO>" and "notAfter  <ISO>"')
  const notBefore = new Date(validity?.[1] ?? NaN)
  const notAfter = new Date(validity?.[2] ?? NaN)
  t.equal(Date.parse(cert.validFrom), notBefore.getTime(), 'notBefore as printed')
  t.equal(Date.parse(cert.validTo), notAfter.getTime(), 'notAfter as printed')
  t.equal((notAfter.getTime() - notBefore.getTime()) / 1000, constants.MAX_PEER_CERT_LIFETIME_S + constants.CERT_CLOCK_SKEW_S,
    'issued for the longest lifetime, notBefore backdated by CERT_CLOCK_SKEW_S')
  t.equal(notAfter.toISOString(), '2026-12-08T00:00:00.000Z', 'issued at 2026-12-01T00:00:00Z for 7 days, as the vector says')

  // The signature: verified (ECDSA is randomised), never recomputed.
  const signed = v.hex('signed bytes')
  t.same(signed, certificateSignedBytes('initiator', header, exporter), 'signed bytes: certificateSignedBytes')
  t.same(signed, Buffer.concat([ascii(constants.CERTIFICATE_PROOF_LABEL), ascii(constants.INITIATOR_PROOF_LABEL), header, exporter]),
    'signed bytes: certificate label || initiator label || header || exporter')
  const signature = v.hex('signature')
  t.equal(signature[0], 0x30, 'the signature is a DER SEQUENCE (Ecdsa-Sig-Value)')
  t.ok(signature.length >= 70 && signature.length <= 72, 'a DER P-256 signature is 70 to 72 bytes')
  t.ok(verify('sha256', signed, cert.publicKey, signature), 'the signature verifies under the certificate\'s public key')
  t.ok(verify('sha256', signed, createPublicKey(keyPem), signature), 'and under the public key of the private key given')
  t.notOk(verify('sha256', certificateSignedBytes('responder', header, exporter), cert.publicKey, signature), 'it does not verify for the other role')
  t.notOk(verify('sha256', certificateSignedBytes('initiator', header, Buffer.alloc(32, 0xff)), cert.publicKey, signature), 'nor on another connection')
  const fresh = sign('sha256', signed, createPrivateKey(keyPem))
  t.ok(verify('sha256', signed, cert.publicKey, fresh), 'a fresh signature with the key verifies too (ECDSA is randomised)')

  // The certificate block and the AuthHello.
  const block = v.hex('certificate block')
  t.same(block, encodeCertificateBlock({ cert: certDer, signature }), 'certificate block: encodeCertificateBlock')
  t.same(block, Buffer.concat([u16(2 + certDer.length + 2 + signature.length), u16(certDer.length), certDer, u16(signature.length), signature]),
    'certificate block: L || n || certificate || m || signature')
  t.ok(block.length - 2 <= constants.MAX_CERTIFICATE_BLOCK, 'L is at most MAX_CERTIFICATE_BLOCK')
  const hello = v.hex('AuthHello')
  t.same(hello, encodeAuthMessage({ level: 'full-strict', flags: constants.FLAG_CERTIFICATE, proof, certificate: { cert: certDer, signature } }), 'AuthHello: encodeAuthMessage')
  t.same(hello, Buffer.concat([header, proof, block, padding(0)]), 'AuthHello: header || proof || certificate block || padding')
  const fixed = hello.subarray(0, constants.AUTH_MESSAGE_LENGTH)
  t.equal(extensionLength(fixed), 2, 'the reading rule reads the 2-byte length next')
  t.equal(certificateBlockLength(hello.subarray(0, constants.AUTH_MESSAGE_LENGTH + 2)), hello.length - constants.AUTH_MESSAGE_LENGTH - 2 - constants.AUTH_PADDING_LENGTH_SIZE, '... and then exactly the block, before the padding')
  const decoded = decodeAuthMessage(hello)
  t.equal(decoded.level, 'full-strict')
  t.same(authHeader(decoded.level, decoded.flags), header, 'AuthHello decodes to its header')
  t.ok(proofMatches(proof, decoded.proof), 'AuthHello proof verifies')
  t.same(Buffer.from(decoded.certificate!.cert), certDer, 'AuthHello decodes to the certificate')
  t.same(Buffer.from(decoded.certificate!.signature), signature, 'AuthHello decodes to the signature')
  const oversized = Buffer.concat([fixed, u16(constants.MAX_CERTIFICATE_BLOCK + 1)])
  t.throws(() => certificateBlockLength(oversized), { name: 'MalformedAuthMessageError' }, 'a block longer than MAX_CERTIFICATE_BLOCK is refused from its length')
  t.throws(() => decodeAuthMessage(Buffer.concat([authHeader('strict', constants.FLAG_CERTIFICATE), proof, block])), { name: 'MalformedAuthMessageError' },
    'FLAG_CERTIFICATE is refused at another level')

  // The certificate against the profile, with clocks inside and outside its validity window.
  const skew = constants.CERT_CLOCK_SKEW_S * 1000
  const at = (ms: number) => ({ certDer, caCertPem: caPem, torrent, now: new Date(ms) })
  const inside = new Date('2026-12-04T12:00:00Z').getTime()
  t.match(verifyPeerCertificate(at(inside)), { serial: cert.serialNumber.toLowerCase().replace(/^0+/, '') }, 'valid inside its window')
  t.doesNotThrow(() => verifyPeerCertificate(at(notBefore.getTime() - skew)), 'valid CERT_CLOCK_SKEW_S before notBefore')
  t.doesNotThrow(() => verifyPeerCertificate(at(notAfter.getTime() + skew)), 'valid CERT_CLOCK_SKEW_S after notAfter')
  t.throws(() => verifyPeerCertificate(at(notBefore.getTime() - skew - 1000)), { name: 'CertificateNotYetValidError' }, 'not yet valid before that')
  t.throws(() => verifyPeerCertificate(at(notAfter.getTime() + skew + 1000)), { name: 'CertificateExpiredError' }, 'expired after that')
  t.throws(() => verifyPeerCertificate({ ...at(inside), torrent: { name, infoHashV1: createHash('sha1').update('another torrent').digest() } }),
    { name: 'WrongTorrentCertificateError' }, 'refused for another infohash')
  t.throws(() => verifyPeerCertificate({ ...at(inside), revokedSerials: new Set([`00${cert.serialNumber.toLowerCase()}`]) }), { name: 'CertificateRevokedError' },
    'refused when its serial is revoked (leading zeros ignored)')
  // As a tracker's `bttls revoked` list reaches a peer: upper-case hex is read as the same number.
  const announced = readBttlsFields(new Map([['bttls revoked', [Buffer.from(cert.serialNumber.toUpperCase(), 'latin1')]]]))
  t.throws(() => verifyPeerCertificate({ ...at(inside), revokedSerials: new Set(announced.revokedSerials) }), { name: 'CertificateRevokedError' },
    'refused when a tracker lists its serial in upper case')
  const rogue = await createSwarmCa('rogue CA')
  t.throws(() => verifyPeerCertificate({ ...at(inside), caCertPem: rogue.certPem }), { name: 'UntrustedCertificateError' }, 'refused under another CA')
  t.throws(() => verifyPeerCertificate({ ...at(inside), certDer: pemDer(caPem) }), { name: 'UntrustedCertificateError' }, 'the CA itself is no peer certificate')

  // libtorrent compatibility profile: its SNI, and its name rule in place of the infohash binding.
  const sni = v.text('libtorrent SNI')
  t.equal(sni, libtorrentSni(torrent), 'libtorrent SNI: libtorrentSni')
  t.equal(sni, infoHash.toString('hex'), 'libtorrent SNI: the lower-case hex v1 infohash')
  t.doesNotThrow(() => verifyPeerCertificate({ ...at(inside), torrent: { name, infoHashV1: Buffer.alloc(20) }, binding: 'libtorrent' }), 'the libtorrent name rule accepts it by its dNSName')
  t.throws(() => verifyPeerCertificate({ ...at(inside), torrent: { name: 'another name', infoHashV1: infoHash }, binding: 'libtorrent' }),
    { name: 'WrongTorrentCertificateError' }, 'and refuses it for another name')
  t.same(v.unchecked(), [], 'every value in the vector was checked')
})

t.test('Full Strict magnet link vector: the link of the torrent of test 1 gives its swarm key with the CA it names', async t => {
  const first = docs['full-strict'].vector(FULL_STRICT_VECTORS[0])
  const v = docs['full-strict'].vector(FULL_STRICT_VECTORS[1])
  const infoHash = first.hex('infohash')
  const caPem = first.text('swarm CA certificate')
  const tracker = v.text('secure tracker')
  t.match(tracker, /^https:\/\//, 'the secure tracker is https')
  const link = v.text('magnet link').replace(/\n/g, '')
  const fingerprint = v.hex('x.bttls.ca')
  t.same(fingerprint, first.hex('CA certificate SHA-256'), 'x.bttls.ca is the CA certificate SHA-256 of test 1')
  t.equal(link, `magnet:?xt=urn:btih:${infoHash.toString('hex')}&dn=${first.text('torrent name')}&tr=${encodeURIComponent(tracker)}&x.bttls=full-strict&x.bttls.ca=${fingerprint.toString('hex')}`,
    'magnet link: xt, dn, tr, x.bttls, x.bttls.ca')
  t.equal(link, magnetUri({ infoHashV1: infoHash, wireInfoHash: infoHash, name: first.text('torrent name'), trackers: [tracker], peers: [], caFingerprint: caFingerprint(caPem) }), 'magnet link: magnetUri')
  const parsed = parseMagnet(link)
  t.same(parsed.caFingerprint, fingerprint, 'parseMagnet reads x.bttls.ca')
  t.same(parsed.trackers, [tracker])
  const swarmKey = v.hex('swarm key')
  t.same(swarmKey, first.hex('swarm key'), 'the swarm key of test 1')
  t.same(Buffer.from(levelFor(parsed, { swarmCa: caPem }).swarmKeys[0]!.key), swarmKey, 'levelFor(link, the CA it names): that swarm key')
  t.same(swarmKey, hkdf32(ascii(constants.SWARM_KEY_SALT), Buffer.concat([infoHash, fingerprint]), ascii(constants.FULL_STRICT_KEY_INFO)), 'HKDF-SHA256 from the link alone')
  t.same(v.unchecked(), [], 'every value in the vector was checked')
})

// --- the capability signalling vector and the PEX flag table ------------------------------------

/** "192.0.2.1:6881" or "[2001:db8::1]:6881", optionally followed by one word. */
function endpointLine (line: string): { host: string, port: number, rest: string } {
  const m = /^(?:\[([0-9a-f:]+)\]|(\d+\.\d+\.\d+\.\d+)):(\d+)(?: (\S+))?$/.exec(line)
  if (!m) throw new Error(`"${line}" is not address:port [word]`)
  return { host: m[1] ?? m[2]!, port: Number(m[3]), rest: m[4] ?? '' }
}
/** The code writes IPv6 addresses in full, without zero compression. */
const fullIpv6 = (host: string): string => {
  if (!host.includes(':')) return host
  const [head, tail] = host.split('::') as [string, string | undefined]
  const h = head === '' ? [] : head.split(':')
  const tl = tail === undefined || tail === '' ? [] : tail.split(':')
  return [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl].map(g => parseInt(g, 16).toString(16)).join(':')
}

t.test('Extension handshake vector (core)', async t => {
  const v = docs.core.vector(CORE_VECTORS[6])
  const port = Number(v.text('listen port'))

  // The extension handshake: our keys as advertise() sets them, beside BEP 10's m.
  const handshake = v.text('extended handshake')
  const wire = { extendedHandshake: {} as Record<string, unknown> }
  advertise(wire as unknown as Wire, port)
  t.same(wire.extendedHandshake, { bttls: 1, p: port }, 'advertise: "bttls": 1 and p')
  const ours = { m: { ut_metadata: 1, ut_pex: 2 }, ...wire.extendedHandshake } as Record<string, number | Record<string, number>>
  t.equal(encodeBencode(ours).toString('latin1'), handshake, 'extended handshake: bencode of m and the advertised keys')
  t.equal(handshake, `d5:bttlsi1e1:md11:ut_metadatai1e6:ut_pexi2ee1:pi${port}ee`, 'extended handshake: bencode written out (keys sorted)')
  const decoded = decodeBencode(ascii(handshake), { maxBytes: 1024, maxDepth: 4 })
  if (!(decoded instanceof BencodeDict)) throw new Error('the extended handshake is not a dictionary')
  const asObject: Record<string, unknown> = Object.fromEntries(decoded)
  t.same(readCapability(asObject), { tls: true, port }, 'readCapability: speaks bttls, at its listen port')
  t.same(readCapability({ ...asObject, bttls: 0 }), { tls: false, port }, 'a version below 1 says nothing')
  t.same(readCapability({ ...asObject, bttls: 2 }), { tls: true, port }, 'a later version is read as support')
  t.same(readCapability({ p: port }), { tls: false, port }, 'no key: nothing')
  t.same(readCapability({ ...asObject, 'bttls port': port + 1 }), { tls: true, port }, 'the withdrawn "bttls port" key is ignored')
  t.same(v.unchecked(), [], 'every value in the vector was checked')
})

t.test('PEX and tracker signals vector (signalling)', async t => {
  const v = docs.signalling.vector(SIGNALLING_VECTORS[0])
  t.equal(Number(v.text('listen port')), Number(docs.core.vector(CORE_VECTORS[6]).text('listen port')), 'the listen port of the core\'s test 7')

  // PEX: the flag bits and the message.
  t.equal(PEX_FLAGS.BTTLS, PEX_FLAG_BTTLS)
  t.equal(PEX_FLAG_BTTLS, 0x20, 'the bttls PEX flag is 0x20')
  const added: PexPeer[] = v.text('PEX added peers').split('\n').map(l => {
    const e = endpointLine(l)
    return { host: e.host, port: e.port, flags: parseInt(e.rest, 16) }
  })
  const dropped: PexPeer[] = v.text('PEX dropped peers').split('\n').map(l => {
    const e = endpointLine(l)
    return { host: e.host, port: e.port, flags: 0 }
  })
  const pex = v.hex('ut_pex message')
  t.same(pex, encodePexMessage({ added, dropped }), 'ut_pex message: encodePexMessage')
  const compact4 = (p: { host: string, port: number }): Buffer => Buffer.from([...p.host.split('.').map(Number), p.port >> 8, p.port & 0xff])
  const compact6 = (p: { host: string, port: number }): Buffer => Buffer.concat([
    Buffer.from(fullIpv6(p.host).split(':').flatMap(g => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff])), Buffer.from([p.port >> 8, p.port & 0xff])])
  const v4 = added.filter(p => !p.host.includes(':'))
  const v6 = added.filter(p => p.host.includes(':'))
  t.same(pex, Buffer.concat([
    ascii('d'),
    bstr('added'), bstr(Buffer.concat(v4.map(compact4))), bstr('added.f'), bstr(Buffer.from(v4.map(p => p.flags))),
    bstr('added6'), bstr(Buffer.concat(v6.map(compact6))), bstr('added6.f'), bstr(Buffer.from(v6.map(p => p.flags))),
    bstr('dropped'), bstr(Buffer.concat(dropped.map(compact4))),
    ascii('e')
  ]), 'ut_pex message: BEP 11 bencode written out')
  const parsed = parsePexMessage(pex)
  t.same(parsed.added.map(p => [p.host, p.port, p.flags]), added.map(p => [fullIpv6(p.host), p.port, p.flags]), 'parsePexMessage: the added peers and their flags')
  t.same(parsed.dropped.map(p => [p.host, p.port]), dropped.map(p => [p.host, p.port]), 'parsePexMessage: the dropped peer')
  t.same(parsed.added.map(p => (p.flags & PEX_FLAG_BTTLS) !== 0), [true, false, true], 'flag 0x20 on the first and third peers')

  // Announce parameters by policy, in the order the code sends them.
  for (const policy of POLICIES) {
    const text = v.text(`announce parameters, ${policy}`)
    t.equal(capabilityParams(policy).map(([k, val]) => `${k}=${val}`).join('&'), text, `announce parameters under ${policy}`)
  }

  // The tracker response: bttls_flags / bttls_flags6 aligned with peers / peers6.
  const trackerPeers = v.text('tracker peers').split('\n').map(endpointLine)
  const flagged = trackerPeers.map(p => ({ host: p.host, port: p.port, bttls: p.rest === 'supportbttls' }))
  const interval = Number(v.text('tracker interval'))
  const compact = encodeCompactPeers(flagged)
  const flags = encodeBttlsFlags(flagged)
  const response = v.hex('tracker response')
  t.same(response, encodeBencode({ interval, peers: compact.peers, peers6: compact.peers6, [BTTLS_FLAGS_KEY]: flags.flags, [BTTLS_FLAGS6_KEY]: flags.flags6 }),
    'tracker response: encodeCompactPeers and encodeBttlsFlags')
  const f4 = flagged.filter(p => !p.host.includes(':'))
  const f6 = flagged.filter(p => p.host.includes(':'))
  const byte = (p: { bttls: boolean }): number => p.bttls ? TRACKER_FLAG_BTTLS : 0
  t.same(response, Buffer.concat([
    ascii('d'),
    bstr('bttls_flags'), bstr(Buffer.from(f4.map(byte))), bstr('bttls_flags6'), bstr(Buffer.from(f6.map(byte))),
    bstr('interval'), ascii(`i${interval}e`),
    bstr('peers'), bstr(Buffer.concat(f4.map(compact4))), bstr('peers6'), bstr(Buffer.concat(f6.map(compact6))),
    ascii('e')
  ]), 'tracker response: bencode written out')
  const dict = decodeBencode(response, { maxBytes: response.length, maxDepth: 4 })
  if (!(dict instanceof BencodeDict)) throw new Error('the tracker response is not a dictionary')
  t.same(readFlaggedPeers(dict).map(p => [p.host, p.port, p.tls === true]),
    [...f4, ...f6].map(p => [fullIpv6(p.host), p.port, p.bttls]), 'readFlaggedPeers: each peer with its flag')
  t.same(v.unchecked(), [], 'every value in the vector was checked')
})

t.test('the BEP\'s PEX flag table is the code\'s', async t => {
  const rows = gridRows(docs.signalling, docs.signalling.section('Peer exchange', '='))
  t.same(rows[0]?.slice(0, 3), ['Bit', 'Meaning', 'Defined by'], 'table header')
  const byBit = new Map(rows.slice(1).map(r => [parseInt(r[0]!, 16), r[2]!]))
  t.same([...byBit.keys()], [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80], 'all eight bits, in order')
  const { BTTLS, ...bep11 } = PEX_FLAGS
  for (const bit of Object.values(bep11)) t.equal(byBit.get(bit), 'BEP 11', `0x${bit.toString(16).padStart(2, '0')} is BEP 11's`)
  t.equal(byBit.get(BTTLS), 'this extension', '0x20 is this extension\'s')
  t.match(byBit.get(0x80), /libtorrent/, '0x80 is libtorrent\'s internal bit')
})

// --- the constants table -------------------------------------------------------------------------

/** Rows of the first grid table in a section: cell texts, multi-line cells joined with spaces. */
function gridRows (doc: BepDoc, s: Section): string[][] {
  const lines = doc.lines
  const rows: string[][] = []
  let current: string[] | undefined
  let inTable = false
  for (let i = s.start; i < s.end; i++) {
    const line = lines[i]!
    if (/^\+[-=+]+\+$/.test(line)) {
      inTable = true
      if (current) rows.push(current.map(c => c.trim().replace(/\s+/g, ' ')))
      current = undefined
      continue
    }
    if (!inTable) continue
    if (!line.startsWith('|')) break
    const cells = line.split('|').slice(1, -1)
    current = current ? current.map((c, k) => `${c} ${cells[k] ?? ''}`) : cells
  }
  return rows
}

type ConstValue = string | number | readonly string[]

function parseValue (cell: string): ConstValue {
  const str = /^"([^"]*)"$/.exec(cell)
  if (str) return str[1]!
  if (/^0x[0-9a-f]+$/i.test(cell)) return parseInt(cell, 16)
  if (/^\d+$/.test(cell)) return parseInt(cell, 10)
  const items = [...cell.matchAll(/``([^`]+)``/g)].map(m => m[1]!)
  if (items.length > 0 && cell.replace(/``[^`]+``/g, '').trim() === '') return items
  throw new Error(`cannot read constant value "${cell}"`)
}

/** constants.ts flattened to the BEP's names: LEVEL_CODES.basic is LEVEL_BASIC, and so on. */
function codeConstants (): Map<string, ConstValue> {
  const out = new Map<string, ConstValue>()
  for (const [name, value] of Object.entries(constants)) {
    if (name === 'LEVEL_CODES') {
      for (const [level, code] of Object.entries(value as Record<string, number>)) {
        out.set(`LEVEL_${level.toUpperCase().replace(/-/g, '_')}`, code)
      }
    } else if (typeof value === 'string' || typeof value === 'number' || Array.isArray(value)) {
      out.set(name, value as ConstValue)
    } else {
      throw new Error(`constants.ts exports ${name} of a kind the BEP table cannot show`)
    }
  }
  return out
}

/**
 * Rows of the first simple table in a section (columns from the border under the header): cell texts,
 * a row's continuation lines (blank first column) joined to it with spaces.
 */
function simpleRows (doc: BepDoc, s: Section): string[][] {
  const lines = doc.lines
  const border = /^=+( +=+)+$/
  let i = s.start
  while (i < s.end && !border.test(lines[i]!)) i++
  if (i >= s.end) throw new Error(`no simple table in "${s.title}"`)
  const starts = [...lines[i]!.matchAll(/=+/g)].map(m => m.index)
  const cells = (line: string): string[] => starts.map((at, k) => line.slice(at, starts[k + 1] ?? line.length).trim())
  const rows: string[][] = []
  let borders = 0
  for (; i < s.end && borders < 3; i++) {
    const line = lines[i]!
    if (border.test(line)) { borders++; continue }
    const c = cells(line)
    if (c[0] === '' && rows.length > 0) rows[rows.length - 1] = rows[rows.length - 1]!.map((x, k) => c[k] === '' ? x : `${x} ${c[k]}`)
    else rows.push(c)
  }
  return rows
}

/** Every document's constants table, by name; a name in two tables (or twice in one) is an error. */
function documentedConstants (): Map<string, { value: ConstValue, doc: string }> {
  const out = new Map<string, { value: ConstValue, doc: string }>()
  for (const doc of allDocs) {
    if (!doc.sections().some(x => x.title === 'Constants' && x.level === '=')) continue
    const rows = simpleRows(doc, doc.section('Constants', '='))
    if (rows[0]?.join('|') !== 'Name|Value|Meaning') throw new Error(`${BEP_DOCUMENTS[doc.name]}: constants table header is "${rows[0]?.join('|')}"`)
    for (const row of rows.slice(1)) {
      const name = /^``([A-Z0-9_]+)``$/.exec(row[0]!)
      if (!name) throw new Error(`constant name cell "${row[0]}" is not a \`\`NAME\`\``)
      const seen = out.get(name[1]!)
      if (seen) throw new Error(`${name[1]} is in the constants of both ${seen.doc} and ${BEP_DOCUMENTS[doc.name]}`)
      out.set(name[1]!, { value: parseValue(row[1]!), doc: BEP_DOCUMENTS[doc.name] })
    }
  }
  return out
}

t.test('the documents\' constants tables are constants.ts, each name in one document', async t => {
  const table = documentedConstants()
  const code = codeConstants()
  t.same([...table.keys()].sort(), [...code.keys()].sort(), 'same names in the documents and in constants.ts')
  for (const [name, value] of code) t.same(table.get(name)?.value, value, name)
  for (const name of ['PROTOCOL_VERSION', 'EXPORTER_LABEL', 'AUTH_TIMEOUT_MS', 'CIPHER_SUITES']) t.equal(table.get(name)?.doc, BEP_DOCUMENTS.core, `${name} is the core's`)
  t.equal(table.get('SCRYPT_N')?.doc, BEP_DOCUMENTS.strict, 'SCRYPT_N is the Strict companion\'s')
  t.equal(table.get('MAX_CERTIFICATE_BLOCK')?.doc, BEP_DOCUMENTS['full-strict'], 'MAX_CERTIFICATE_BLOCK is the Full Strict companion\'s')
})

t.test('the documents\' prose quotes the constants it names', async t => {
  // Every `NAME` (N) in the prose must give the code's value.
  let count = 0
  for (const doc of allDocs) {
    for (const m of doc.rst.matchAll(/``([A-Z][A-Z0-9_]+)``\s+\(((?:0x)?[0-9a-f]+)(?: ms)?\)/g)) {
      count++
      t.equal(codeConstants().get(m[1]!), Number(m[2]), `${BEP_DOCUMENTS[doc.name]}: ${m[1]} quoted as ${m[2]}`)
    }
  }
  t.ok(count >= 10, 'the prose quotes constants with their values')
})

t.test('layout: no line over 100 columns, and the core within 900 lines', async t => {
  for (const doc of allDocs) {
    const wide = doc.lines.flatMap((l, i) => l.length > 100 ? [`${i + 1}: ${l.length}`] : [])
    t.same(wide, [], `${BEP_DOCUMENTS[doc.name]}: lines over 100 columns`)
  }
  const coreLines = docs.core.rst.endsWith('\n') ? docs.core.lines.length - 1 : docs.core.lines.length
  t.ok(coreLines <= 900, `the core is ${coreLines} lines (at most 900, vectors included): move what is not core into a companion`)
})

// --- the exporter vectors ------------------------------------------------------------------------

/** RFC 8446 section 7.1, written out: HKDF-Expand (RFC 5869) over the HkdfLabel structure. */
function hkdfExpandLabel (hash: 'sha256' | 'sha384', secret: Buffer, label: string, context: Buffer, length: number): Buffer {
  const full = ascii(`tls13 ${label}`)
  const info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, full.length]), full, Buffer.from([context.length]), context])
  let block = Buffer.alloc(0)
  const out: Buffer[] = []
  for (let i = 1; Buffer.concat(out).length < length; i++) {
    block = createHmac(hash, secret).update(Buffer.concat([block, info, Buffer.from([i])])).digest()
    out.push(block)
  }
  return Buffer.concat(out).subarray(0, length)
}

t.test('TLS exporter vectors (core)', async t => {
  for (const [title, hash, suite] of [[CORE_VECTORS[4], 'sha256', 'TLS_AES_128_GCM_SHA256'], [CORE_VECTORS[5], 'sha384', 'TLS_AES_256_GCM_SHA384']] as const) {
    await t.test(title, async t => {
      const v = docs.core.vector(title)
      t.equal(v.text('cipher suite'), suite)
      t.ok((constants.CIPHER_SUITES as readonly string[]).includes(suite), 'a suite of CIPHER_SUITES')
      const secret = v.hex('exporter_master_secret')
      t.same(secret, createHash(hash).update('bttls test vector exporter master secret').digest(), 'the example secret as the vector says')
      const empty = createHash(hash).digest()
      const label1 = v.hex('HkdfLabel of the derived secret')
      t.same(label1, Buffer.concat([Buffer.from([0, empty.length, 6 + constants.EXPORTER_LABEL.length]), ascii(`tls13 ${constants.EXPORTER_LABEL}`),
        Buffer.from([empty.length]), empty]), 'HkdfLabel: length, "tls13 " + EXPORTER_LABEL, Hash("")')
      const derived = v.hex('derived secret')
      t.same(derived, hkdfExpandLabel(hash, secret, constants.EXPORTER_LABEL, empty, empty.length), 'derived secret: Derive-Secret(secret, label, "")')
      const label2 = v.hex('HkdfLabel of the exporter')
      t.same(label2, Buffer.concat([Buffer.from([0, constants.EXPORTER_LENGTH, 14]), ascii('tls13 exporter'), Buffer.from([empty.length]), empty]),
        'HkdfLabel: EXPORTER_LENGTH, "tls13 exporter", Hash("")')
      const exporter = v.hex('exporter')
      t.same(exporter, hkdfExpandLabel(hash, derived, 'exporter', empty, constants.EXPORTER_LENGTH), 'exporter: HKDF-Expand-Label as RFC 8446 states it')
      t.same(exporter, exporterFromSecret(secret, hash), 'exporter: exporterFromSecret')
      t.same(v.unchecked(), [], 'every value in the vector was checked')
    })
  }
})

t.test('the exporter formula is what a real TLS 1.3 stack exports, for every suite of CIPHER_SUITES', async t => {
  const { cert, key } = await createResponderCertificate()
  for (const suite of constants.CIPHER_SUITES) {
    const server = tls.createServer({ cert, key }, socket => { socket.on('error', () => {}) })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const keylog: string[] = []
    const client = tls.connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', rejectUnauthorized: false, ciphers: suite })
    client.on('keylog', line => keylog.push(line.toString('latin1')))
    await new Promise((resolve, reject) => { client.once('secureConnect', resolve); client.once('error', reject) })
    t.equal(client.getCipher().standardName, suite, `${suite} negotiated`)
    const line = keylog.find(l => l.startsWith('EXPORTER_SECRET '))
    t.ok(line, 'the key log has the exporter_master_secret')
    const secret = Buffer.from(line!.trim().split(' ')[2]!, 'hex')
    const hash = suite.endsWith('SHA384') ? 'sha384' : 'sha256'
    const derived = hkdfExpandLabel(hash, secret, constants.EXPORTER_LABEL, createHash(hash).digest(), secret.length)
    t.same(connectionExporter(client), hkdfExpandLabel(hash, derived, 'exporter', createHash(hash).digest(), constants.EXPORTER_LENGTH),
      `${suite}: the connection's exporter is the formula over its key log's secret`)
    client.destroy()
    await new Promise(resolve => server.close(resolve))
  }
})

// --- docutils -----------------------------------------------------------------------------------

const python = '/usr/bin/python3'
const docutilsMissing = spawnSync(python, ['-c', 'import docutils'], { encoding: 'utf8' }).status !== 0

t.test('every document renders with docutils without any system message', {
  skip: docutilsMissing ? `docutils is not installed for ${python} (apt-get install python3-docutils)` : false
}, async t => {
  // halt_level 1 is docutils' --strict: stop at any info, warning or error.
  const script = [
    'import sys, docutils.core',
    'docutils.core.publish_file(source_path=sys.argv[1], destination_path="/dev/null", writer_name="html",',
    '  settings_overrides={"halt_level": 1, "report_level": 1, "traceback": False})'
  ].join('\n')
  for (const doc of allDocs) {
    const r = spawnSync(python, ['-c', script, doc.path], { encoding: 'utf8' })
    t.equal(r.status, 0, `${BEP_DOCUMENTS[doc.name]}: docutils exit status`)
    t.equal(r.stderr, '', `${BEP_DOCUMENTS[doc.name]}: no docutils messages`)
  }
})

t.test('Strict companion, test 4: the rendezvous, from the magnet link alone', async t => {
  const v = docs.strict.vector(STRICT_VECTORS[3])
  t.equal(v.text('level'), 'strict')
  t.equal(v.text('mode'), 'secret')
  const magnet = parseMagnet(v.text('magnet link').replace(/\n/g, ''))
  const infoHash = magnet.infoHashV1!
  const secret = magnet.strictSecret!
  t.same(infoHash, v1Example, 'the infohash of the core\'s test 1')
  t.same(secret, createHash('sha256').update('bttls test vector strict secret').digest(), 'the secret of test 1')
  const salt = v.hex('HKDF salt')
  const ikm = v.hex('HKDF IKM')
  const info = v.hex('HKDF info')
  const length = Number(v.text('HKDF length'))
  t.same(salt, ascii(constants.SWARM_KEY_SALT), 'HKDF salt is SWARM_KEY_SALT')
  t.same(ikm, Buffer.concat([infoHash, secret]), 'HKDF IKM: infohash || secret, as for the swarm key')
  t.same(info, ascii(constants.STRICT_RENDEZVOUS_INFO), 'HKDF info is STRICT_RENDEZVOUS_INFO')
  t.equal(length, constants.RENDEZVOUS_LENGTH)
  const rendezvous = v.hex('rendezvous')
  t.equal(rendezvous.length, 20, 'as long as a v1 infohash')
  t.same(rendezvous, strictRendezvous(infoHash, secret), 'rendezvous: strictRendezvous')
  t.same(rendezvous, hkdf32(salt, ikm, info).subarray(0, length), 'rendezvous: HKDF-SHA256 with L = 20 (the first 20 bytes of T(1)), as the BEP states it')
  const level = levelFor(magnet)
  t.equal(level.announce, 'rendezvous')
  t.same(level.announceHash(), rendezvous, 'the level made from the magnet link alone announces it')
  const param = v.text('info_hash parameter')
  t.same(decodeQuery(param).get('info_hash')?.[0], rendezvous, 'info_hash parameter: the rendezvous, percent-encoded')
  t.notOk(param.toLowerCase().includes(infoHash.toString('hex')), 'not the infohash')
  t.same(v.unchecked(), [], 'every value in the vector was checked')
})
