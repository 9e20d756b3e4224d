/**
 * Prints the "Test vectors" subsections of bep/bep-xxxx.rst, computed with the reference implementation.
 *
 *   cd /work/main && TS_NODE_TRANSPILE_ONLY=1 node --import @tapjs/typescript/import bep/generate-vectors.ts
 *
 * Paste the output into the BEP. test/bep-vectors.test.ts parses the BEP and recomputes every value
 * independently, so a stale or hand-edited vector fails the tests.
 */
import { createHash, createPrivateKey, sign, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { authHeader, encodeAuthMessage, encodeCertificateBlock } from '../src/handshake/auth-message.js'
import { computeProof, deriveSwarmKey } from '../src/handshake/key-schedule.js'
import {
  BASIC_KEY_INFO, FLAG_CERTIFICATE, FLAG_PUBLISHER_SIGNATURE, FULL_STRICT_KEY_INFO, INITIATOR_PROOF_LABEL, PASSPHRASE_SALT_LABEL, RESPONDER_PROOF_LABEL,
  RENDEZVOUS_LENGTH, SCRYPT_N, SCRYPT_P, SCRYPT_R, STRICT_COMMITMENT_LABEL, STRICT_KEY_INFO, STRICT_RENDEZVOUS_INFO, STRICT_SECRET_LENGTH, SWARM_KEY_SALT
} from '../src/handshake/constants.js'
import { basicLevel } from '../src/levels/basic.js'
import { passphraseSecret, secretCommitment, strictRendezvous, strictSwarmKey } from '../src/levels/strict-keys.js'
import { rawPublisherKey, signedBytes, type StrictInfo } from '../src/levels/strict.js'
import { encodeStrictInfo } from '../src/torrent/bttls-fields.js'
import { encodeBencode } from '../src/torrent/bencode.js'
import { magnetUri } from '../src/torrent/magnet.js'
import { caFingerprint } from '../src/levels/full-strict/certificate-profile.js'
import { certificateSignedBytes, fullStrictSwarmKey } from '../src/levels/full-strict/full-strict.js'
import { libtorrentSni } from '../src/wire/libtorrent-ssl.js'
import { FULL_STRICT_EXAMPLE } from './vectors/full-strict-example.js'

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

/** Padding of the vectors' auth messages: none, except on the connection of test 4, to show it. */
interface Padding { readonly hello: number, readonly reply: number }
const NO_PADDING: Padding = { hello: 0, reply: 0 }

function basicVector (heading: string, note: string, infoHash: Buffer, exporter: Buffer, padding = NO_PADDING): string {
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
    block('AuthHello', encodeAuthMessage({ level: 'basic', proof: iProof, padding: padding.hello }), true),
    block('AuthReply', encodeAuthMessage({ level: 'basic', proof: rProof, padding: padding.reply }), true)
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

/** The proof part every vector shares: header(s), HMAC inputs, proofs, the two messages. */
function proofBlocks (key: Buffer, exporter: Buffer, replyFlags = 0, signature?: Buffer): string[] {
  const iHeader = authHeader('strict')
  const rHeader = authHeader('strict', replyFlags)
  const iProof = computeProof(key, 'initiator', iHeader, exporter)
  const rProof = computeProof(key, 'responder', rHeader, exporter)
  const iInput = Buffer.concat([Buffer.from(INITIATOR_PROOF_LABEL, 'latin1'), iHeader, exporter])
  const rInput = Buffer.concat([Buffer.from(RESPONDER_PROOF_LABEL, 'latin1'), rHeader, exporter])
  const signed = replyFlags !== 0
  return [
    ...(signed ? [block('AuthHello header', iHeader, true)] : [block('header', iHeader, true)]),
    block('initiator HMAC input', iInput),
    block('initiator proof', iProof, true),
    ...(signed ? [block('AuthReply header', rHeader, true)] : []),
    block('responder HMAC input', rInput),
    block('responder proof', rProof, true),
    ...(signed ? [block('signed bytes', signedBytes('responder', rHeader, exporter)), block('signature', signature!, true)] : []),
    block('AuthHello', encodeAuthMessage({ level: 'strict', proof: iProof }), true),
    block('AuthReply', encodeAuthMessage(signed
      ? { level: 'strict', flags: replyFlags, proof: rProof, signature: signature! }
      : { level: 'strict', proof: rProof }), true)
  ]
}

/** A magnet link wrapped before each parameter after the first two, as the BEP prints it. */
function magnetBlock (infoHashV1: Buffer, strict: StrictInfo, secret?: Buffer, bold = true): string {
  const uri = magnetUri({ infoHashV1, wireInfoHash: infoHashV1, trackers: [], peers: [], strict }, secret ? { secret } : {})
  const [first, ...rest] = uri.split('&')
  return block('magnet link', [`${first!}&${rest[0]!}`, ...rest.slice(1).map(p => `&${p}`)].join('\n    '), bold)
}

function strictSecretVector (heading: string, note: string, infoHash: Buffer, secret: Buffer, exporter: Buffer): string {
  if (secret.length !== STRICT_SECRET_LENGTH) throw new RangeError('secret length')
  const info: StrictInfo = { mode: 'secret', commitment: secretCommitment(secret) }
  const ikm = Buffer.concat([infoHash, secret])
  return [
    title(heading),
    `${note}\n`,
    block('level', 'strict'),
    block('mode', 'secret'),
    block('infohash', infoHash),
    block('secret', secret),
    block('exporter', exporter),
    block('commitment input', Buffer.concat([Buffer.from(STRICT_COMMITMENT_LABEL, 'latin1'), secret])),
    block('commitment', info.commitment!, true),
    block('bttls dictionary', encodeBencode(encodeStrictInfo(info)), true),
    magnetBlock(infoHash, { mode: 'secret' }, secret),
    block('HKDF salt', Buffer.from(SWARM_KEY_SALT, 'latin1')),
    block('HKDF IKM', ikm),
    block('HKDF info', Buffer.from(STRICT_KEY_INFO, 'latin1')),
    block('swarm key', strictSwarmKey(infoHash, secret), true),
    ...proofBlocks(strictSwarmKey(infoHash, secret), exporter)
  ].join('\n')
}

function strictPassphraseVector (heading: string, note: string, infoHash: Buffer, passphrase: string, exporter: Buffer): string {
  const stretched = passphraseSecret(passphrase, infoHash)
  const key = strictSwarmKey(infoHash, stretched)
  return [
    title(heading),
    `${note}\n`,
    block('level', 'strict'),
    block('mode', 'passphrase'),
    block('infohash', infoHash),
    block('passphrase', passphrase),
    block('exporter', exporter),
    block('passphrase bytes', Buffer.from(passphrase.normalize('NFC'), 'utf8')),
    block('scrypt salt', Buffer.concat([Buffer.from(PASSPHRASE_SALT_LABEL, 'latin1'), infoHash])),
    block('scrypt parameters', `N = ${SCRYPT_N}, r = ${SCRYPT_R}, p = ${SCRYPT_P}, dkLen = ${STRICT_SECRET_LENGTH}`),
    block('scrypt output', stretched, true),
    block('bttls dictionary', encodeBencode(encodeStrictInfo({ mode: 'passphrase' })), true),
    block('HKDF IKM', Buffer.concat([infoHash, stretched])),
    block('swarm key', key, true),
    ...proofBlocks(key, exporter)
  ].join('\n')
}

/** The rendezvous a Strict torrent is announced under (BEP: "Strict rendezvous"), and its tracker query form. */
function strictRendezvousVector (heading: string, note: string, infoHash: Buffer, secret: Buffer): string {
  const rendezvous = strictRendezvous(infoHash, secret)
  return [
    title(heading),
    `${note}\n`,
    block('level', 'strict'),
    block('mode', 'secret'),
    magnetBlock(infoHash, { mode: 'secret' }, secret, false),
    block('HKDF salt', Buffer.from(SWARM_KEY_SALT, 'latin1')),
    block('HKDF IKM', Buffer.concat([infoHash, secret])),
    block('HKDF info', Buffer.from(STRICT_RENDEZVOUS_INFO, 'latin1')),
    block('HKDF length', String(RENDEZVOUS_LENGTH)),
    block('rendezvous', rendezvous, true),
    block('info_hash parameter', `info_hash=${[...rendezvous].map(b => '%' + b.toString(16).padStart(2, '0')).join('')}`, true)
  ].join('\n')
}

/** RFC 8032 section 7.1, TEST 1: the secret key (seed). */
const RFC8032_TEST1_SEED = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex')
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

function strictPublisherVector (heading: string, note: string, infoHash: Buffer, seed: Buffer, exporter: Buffer): string {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  const publicKey = rawPublisherKey(privateKey)
  const info: StrictInfo = { mode: 'publisher', publisherKey: publicKey }
  const key = strictSwarmKey(infoHash, publicKey)
  const rHeader = authHeader('strict', FLAG_PUBLISHER_SIGNATURE)
  const signature = sign(null, signedBytes('responder', rHeader, exporter), privateKey)
  return [
    title(heading),
    `${note}\n`,
    block('level', 'strict'),
    block('mode', 'publisher'),
    block('infohash', infoHash),
    block('publisher private key', seed),
    block('exporter', exporter),
    block('publisher key', publicKey, true),
    block('bttls dictionary', encodeBencode(encodeStrictInfo(info)), true),
    magnetBlock(infoHash, info),
    block('HKDF IKM', Buffer.concat([infoHash, publicKey])),
    block('swarm key', key, true),
    ...proofBlocks(key, exporter, FLAG_PUBLISHER_SIGNATURE, signature)
  ].join('\n')
}

/**
 * Full Strict: ECDSA keys, certificates and signatures are not deterministic, so the material is read
 * from bep/vectors/ (made once by bep/vectors/create-full-strict-material.ts); everything else is
 * computed from it here.
 */
function fullStrictVector (heading: string, note: string): string {
  const file = (name: string): string => readFileSync(new URL(`./vectors/${name}`, import.meta.url), 'utf8')
  const caPem = file('full-strict-ca.pem').trim()
  const peerPem = file('full-strict-peer.pem')
  const keyPem = file('full-strict-peer-key.pem').trim()
  const signature = Buffer.from(file('full-strict-signature.hex').trim(), 'hex')
  const { infoHashV1: infoHash, torrentName, exporter } = FULL_STRICT_EXAMPLE
  const cert = new X509Certificate(peerPem)
  const fingerprint = caFingerprint(caPem)
  const key = fullStrictSwarmKey(infoHash, caPem)
  const header = authHeader('full-strict', FLAG_CERTIFICATE)
  const proof = computeProof(key, 'initiator', header, exporter)
  const certificate = { cert: cert.raw, signature }
  const iso = (d: string): string => new Date(d).toISOString().replace('.000Z', 'Z')
  /** Text of several lines, each indented in the literal block. */
  const lines = (text: string): string => text.replace(/\n/g, '\n    ')
  return [
    title(heading),
    `${note}\n`,
    block('level', 'full-strict'),
    block('infohash', infoHash),
    block('torrent name', torrentName),
    block('swarm CA certificate', lines(caPem)),
    block('peer private key', lines(keyPem)),
    block('exporter', exporter),
    block('CA certificate SHA-256', fingerprint),
    block('HKDF IKM', Buffer.concat([infoHash, fingerprint])),
    block('HKDF info', Buffer.from(FULL_STRICT_KEY_INFO, 'latin1')),
    block('swarm key', key, true),
    block('header', header, true),
    block('initiator HMAC input', Buffer.concat([Buffer.from(INITIATOR_PROOF_LABEL, 'latin1'), header, exporter])),
    block('initiator proof', proof, true),
    block('peer certificate', cert.raw),
    block('peer certificate serial', Buffer.from(cert.serialNumber, 'hex')),
    block('peer certificate validity', lines(`notBefore ${iso(cert.validFrom)}\nnotAfter  ${iso(cert.validTo)}`)),
    block('peer certificate subjectAltName', cert.subjectAltName ?? ''),
    block('signed bytes', certificateSignedBytes('initiator', header, exporter)),
    block('signature', signature, true),
    block('certificate block', encodeCertificateBlock(certificate), true),
    block('AuthHello', encodeAuthMessage({ level: 'full-strict', flags: FLAG_CERTIFICATE, proof, certificate }), true),
    block('libtorrent SNI', libtorrentSni({ infoHashV1: infoHash }), true)
  ].join('\n')
}

const FULL_STRICT_NOTE = [
  'A Full Strict torrent with the infohash of test 1 and the name ``bttls-full-strict-example``. The',
  'swarm CA certificate is what ``info["ssl-cert"]`` carries. The peer certificate was issued by that CA',
  'for the torrent with the longest lifetime allowed (7 days, from an issuing time of',
  '2026-12-01T00:00:00Z, backdated by ``CERT_CLOCK_SKEW_S``); it is valid at any time inside the window',
  'given, widened by ``CERT_CLOCK_SKEW_S`` on both sides. The initiator holds that certificate and its',
  'private key and sends the AuthHello below. ECDSA signatures are randomised: the signature is one',
  'valid signature, made once with the key given; another implementation produces a different one,',
  'which must verify in the same way.'
].join('\n')

const v1 = createHash('sha1').update('bttls test vector v1').digest()
const v2 = createHash('sha256').update('bttls test vector v2').digest()
const strictSecret = createHash('sha256').update('bttls test vector strict secret').digest()
const PASSPHRASE = 'Frühling in Köln, 2026'

const STRICT_SECRET_NOTE = [
  'A secret-mode torrent with the infohash of test 1 and the secret SHA-256(``bttls test vector strict',
  'secret``). Neither side signs, so both messages are 38 bytes. The commitment and the ``bttls``',
  'dictionary are what the info dictionary carries; the magnet link carries the secret.'
].join('\n')
const PASSPHRASE_NOTE = [
  'A passphrase-mode torrent with the v2 infohash of test 2. The passphrase contains non-ASCII',
  'letters; its bytes are its UTF-8 encoding after NFC normalisation, so the same passphrase typed in',
  'decomposed form (NFD) gives the same scrypt output. The info dictionary carries no commitment.'
].join('\n')
const PUBLISHER_NOTE = [
  'A publisher-mode torrent with the infohash of test 1. The publisher\'s private key is the secret key',
  'of TEST 1 in [#RFC8032]_ section 7.1 (the 32-byte seed). The responder is the publisher\'s seed: it',
  'sets ``FLAG_PUBLISHER_SIGNATURE`` and signs, so its AuthReply is 102 bytes. The initiator does not',
  'hold the private key: its AuthHello is an ordinary 38-byte message with flags 0x0000.'
].join('\n')

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
    'those of test 1, so a proof relayed from one connection to another does not verify. The AuthHello',
    'carries 5 bytes of padding and the AuthReply 3; every other vector carries none.'
  ].join('\n'), v1, range(0x20, 32), { hello: 5, reply: 3 }),
  strictSecretVector('Test 5 (Strict, secret mode)', STRICT_SECRET_NOTE, v1, strictSecret, range(0x00, 32)),
  strictPassphraseVector('Test 6 (Strict, passphrase mode)', PASSPHRASE_NOTE, v2, PASSPHRASE, range(0x00, 32)),
  strictPublisherVector('Test 7 (Strict, publisher mode)', PUBLISHER_NOTE, v1, RFC8032_TEST1_SEED, range(0x00, 32)),
  fullStrictVector('Test 8 (Full Strict, AuthHello with a certificate)', FULL_STRICT_NOTE),
  strictRendezvousVector('Test 10 (Strict rendezvous)', [
    'The rendezvous of the secret-mode torrent of test 5, computed from its magnet link alone: the',
    'announce of `Strict rendezvous`_ sends it as ``info_hash`` (every byte percent-encoded here; any',
    'valid encoding of the same bytes will do), and never the infohash of test 1.'
  ].join('\n'), v1, strictSecret)
].join('\n\n'))
