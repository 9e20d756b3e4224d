/**
 * Makes the "Test vectors" subsections of the bttls BEP documents (bep/README.md lists them) with the
 * reference implementation:
 *
 *   node --import @tapjs/typescript/import bep/generate-vectors.ts           # all, to stdout
 *   node --import @tapjs/typescript/import bep/generate-vectors.ts strict    # one document's
 *   node --import @tapjs/typescript/import bep/generate-vectors.ts --write   # into the documents
 *
 * --write replaces every subsection of each document's "Test vectors" section (the introduction stays).
 * test/conformance/bep-vectors.test.ts checks that each document's vectors are exactly this output, and recomputes
 * every value independently, so a stale or hand-edited vector fails the tests.
 */
import { createHash, createPrivateKey, sign, X509Certificate } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { authHeader, encodeAuthMessage, encodeCertificateBlock } from '../src/protocol/auth-message.js'
import { computeProof, deriveSwarmKey, exporterFromSecret, hkdfExpandLabel, hkdfLabel } from '../src/protocol/key-schedule.js'
import {
  BASIC_KEY_INFO, EXPORTER_LABEL, EXPORTER_LENGTH, FLAG_CERTIFICATE, FLAG_PUBLISHER_SIGNATURE, FULL_STRICT_KEY_INFO, STRICT_RENDEZVOUS_INFO, RENDEZVOUS_LENGTH, INITIATOR_PROOF_LABEL, PASSPHRASE_SALT_LABEL, RESPONDER_PROOF_LABEL,
  SCRYPT_N, SCRYPT_P, SCRYPT_R, STRICT_COMMITMENT_LABEL, STRICT_KEY_INFO, STRICT_SECRET_LENGTH, SWARM_KEY_SALT
} from '../src/protocol/constants.js'
import { basicLevel } from '../src/levels/basic.js'
import { passphraseSecret, secretCommitment, strictRendezvous, strictSwarmKey } from '../src/levels/strict-keys.js'
import { rawPublisherKey, signedBytes } from '../src/levels/strict.js'
import type { StrictInfo } from '../src/torrent/strict-info.js'
import { encodeStrictInfo } from '../src/torrent/bttls-fields.js'
import { encodeBencode } from '../src/codec/bencode.js'
import { magnetUri } from '../src/torrent/magnet.js'
import { caFingerprint } from '../src/pki/certificate-profile.js'
import { certificateSignedBytes, fullStrictSwarmKey } from '../src/levels/full-strict/full-strict.js'
import { libtorrentSni } from '../src/wire/libtorrent-ssl.js'
import { advertise } from '../src/wire/capabilities.js'
import { encodePexMessage, type PexPeer } from '../src/wire/ut-pex.js'
import { encodeCompactPeers } from '../src/codec/compact-peers.js'
import { BTTLS_FLAGS_KEY, BTTLS_FLAGS6_KEY, encodeBttlsFlags } from '../src/tracker/bttls-flags.js'
import { capabilityParams } from '../src/session/discovery-trackers.js'
import { POLICIES } from '../src/wire/policy.js'
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

/** `omit` leaves out inputs that an earlier vector of the same document already shows. */
function basicVector (heading: string, note: string, infoHash: Buffer, exporter: Buffer, padding = NO_PADDING, omit: readonly string[] = []): string {
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
  ].filter(text => !omit.some(label => text.startsWith(`${label} (`))).join('\n')
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
  return wrappedMagnet(magnetUri({ infoHashV1, wireInfoHash: infoHashV1, trackers: [], peers: [], strict }, secret ? { secret } : {}), bold)
}

function wrappedMagnet (uri: string, bold = true): string {
  const [first, ...rest] = uri.split('&')
  return block('magnet link', [`${first!}&${rest[0]!}`, ...rest.slice(1).map(p => `&${p}`)].join('\n    '), bold)
}

/** The rendezvous a Strict torrent is announced under (`Strict rendezvous`), and its tracker query form. */
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

/** The example secure tracker of the Full Strict magnet link vector (RFC 2606 reserves example.org). */
export const FULL_STRICT_EXAMPLE_TRACKER = 'https://tracker.example.org/announce'

/** The magnet link of the Full Strict vector's torrent, and the swarm key computed from it and the CA alone. */
function fullStrictMagnetVector (heading: string, note: string): string {
  const caPem = readFileSync(new URL('./vectors/full-strict-ca.pem', import.meta.url), 'utf8').trim()
  const { infoHashV1: infoHash, torrentName } = FULL_STRICT_EXAMPLE
  const uri = magnetUri({ infoHashV1: infoHash, wireInfoHash: infoHash, name: torrentName, trackers: [FULL_STRICT_EXAMPLE_TRACKER], peers: [], caFingerprint: caFingerprint(caPem) })
  return [
    title(heading),
    `${note}\n`,
    block('secure tracker', FULL_STRICT_EXAMPLE_TRACKER),
    wrappedMagnet(uri),
    block('x.bttls.ca', caFingerprint(caPem)),
    block('swarm key', fullStrictSwarmKey(infoHash, caPem), true)
  ].join('\n')
}

const FULL_STRICT_NOTE = [
  'A Full Strict torrent with the v1 example infohash and the name ``bttls-full-strict-example``. The',
  'swarm CA certificate is what ``info["ssl-cert"]`` carries. The peer certificate was issued by that',
  'CA for the torrent with the longest lifetime allowed (7 days, from an issuing time of',
  '2026-12-01T00:00:00Z, backdated by ``CERT_CLOCK_SKEW_S``); it is valid at any time inside the window',
  'given, widened by ``CERT_CLOCK_SKEW_S`` on both sides. The initiator holds that certificate and its',
  'private key and sends the AuthHello below. ECDSA signatures are randomised: the signature is one',
  'valid signature, made once with the key given; another implementation produces a different one,',
  'which must verify in the same way.'
].join('\n')

/**
 * The exporter of a TLS 1.3 connection from its exporter_master_secret, step by step (RFC 8446 §7.5
 * and §7.1). The secret is an example value; for a real connection it is the EXPORTER_SECRET line of
 * a key log.
 */
function exporterVector (heading: string, note: string, suite: string, hash: 'sha256' | 'sha384', secret: Buffer): string {
  const emptyHash = createHash(hash).digest()
  return [
    title(heading),
    `${note}\n`,
    block('cipher suite', suite),
    block('exporter_master_secret', secret),
    block('HkdfLabel of the derived secret', hkdfLabel(EXPORTER_LABEL, emptyHash, emptyHash.length)),
    block('derived secret', hkdfExpandLabel(hash, secret, EXPORTER_LABEL, emptyHash, emptyHash.length)),
    block('HkdfLabel of the exporter', hkdfLabel('exporter', emptyHash, EXPORTER_LENGTH)),
    block('exporter', exporterFromSecret(secret, hash), true)
  ].join('\n')
}

const LISTEN_PORT = 6881

/** The extension handshake of a peer that also offers ut_metadata and ut_pex, with the keys advertise() adds. */
function extensionHandshakeVector (heading: string, note: string): string {
  const wire = { extendedHandshake: {} as Record<string, unknown> }
  advertise(wire as unknown as Parameters<typeof advertise>[0], LISTEN_PORT)
  const handshake = { m: { ut_metadata: 1, ut_pex: 2 }, ...wire.extendedHandshake } as Record<string, number | Record<string, number>>
  return [
    title(heading),
    `${note}\n`,
    block('listen port', String(LISTEN_PORT)),
    block('extended handshake', encodeBencode(handshake).toString('latin1'), true)
  ].join('\n')
}

const endpoint = (p: { host: string, port: number }): string => p.host.includes(':') ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`

/** PEX flags, announce parameters and a tracker response, as the code writes them. */
function signalsVector (heading: string, note: string): string {
  const added: PexPeer[] = [
    { host: '192.0.2.1', port: 6881, flags: 0x30 },
    { host: '198.51.100.7', port: 51413, flags: 0x01 },
    { host: '2001:db8::1', port: 6881, flags: 0x20 }
  ]
  const dropped: PexPeer[] = [{ host: '203.0.113.9', port: 6881, flags: 0 }]
  const tracked = added.map(p => ({ host: p.host, port: p.port, bttls: (p.flags & 0x20) !== 0 }))
  const interval = 1800
  const compact = encodeCompactPeers(tracked)
  const flags = encodeBttlsFlags(tracked)
  return [
    title(heading),
    `${note}\n`,
    block('listen port', String(LISTEN_PORT)),
    block('PEX added peers', added.map(p => `${endpoint(p)} 0x${p.flags.toString(16).padStart(2, '0')}`).join('\n    ')),
    block('PEX dropped peers', dropped.map(endpoint).join('\n    ')),
    block('ut_pex message', encodePexMessage({ added, dropped }), true),
    ...POLICIES.map(policy => block(`announce parameters, ${policy}`, capabilityParams(policy).map(([k, v]) => `${k}=${v}`).join('&'), true)),
    block('tracker peers', tracked.map(p => `${endpoint(p)}${p.bttls ? ' supportbttls' : ''}`).join('\n    ')),
    block('tracker interval', String(interval)),
    block('tracker response', encodeBencode({
      interval, peers: compact.peers, peers6: compact.peers6, [BTTLS_FLAGS_KEY]: flags.flags, [BTTLS_FLAGS6_KEY]: flags.flags6
    }), true)
  ].join('\n')
}

const v1 = createHash('sha1').update('bttls test vector v1').digest()
const v2 = createHash('sha256').update('bttls test vector v2').digest()
const strictSecret = createHash('sha256').update('bttls test vector strict secret').digest()
const PASSPHRASE = 'Frühling in Köln, 2026'

const STRICT_SECRET_NOTE = [
  'A secret-mode torrent with the v1 example infohash and the secret SHA-256(``bttls test vector',
  'strict secret``). Neither side signs, so both messages are 38 bytes. The commitment and the',
  '``bttls`` dictionary are what the info dictionary carries; the magnet link carries the secret.'
].join('\n')
const PASSPHRASE_NOTE = [
  'A passphrase-mode torrent with the v2 example infohash. The passphrase contains non-ASCII',
  'letters; its bytes are its UTF-8 encoding after NFC normalisation, so the same passphrase typed in',
  'decomposed form (NFD) gives the same scrypt output. The info dictionary carries no commitment.'
].join('\n')
const PUBLISHER_NOTE = [
  'A publisher-mode torrent with the v1 example infohash. The publisher\'s private key is the secret key',
  'of TEST 1 in [#RFC8032]_ section 7.1 (the 32-byte seed). The responder is the publisher\'s seed: it',
  'sets ``FLAG_PUBLISHER_SIGNATURE`` and signs, so its AuthReply is 102 bytes. The initiator does not',
  'hold the private key: its AuthHello is an ordinary 38-byte message with flags 0x0000.'
].join('\n')

/** The documents of the proposal, by the name the command line and the tests use. */
export const BEP_DOCUMENTS = {
  core: 'bep-xxxx.rst',
  strict: 'bep-xxxx-strict.rst',
  'full-strict': 'bep-xxxx-full-strict.rst',
  signalling: 'bep-xxxx-signalling.rst'
} as const
export type BepDocument = keyof typeof BEP_DOCUMENTS

const EXPORTER_SECRET_NOTE = (hash: string): string => [
  `A connection whose cipher suite hashes with ${hash}. The exporter_master_secret is an example value,`,
  `the ${hash} of the ASCII string \`\`bttls test vector exporter master secret\`\`; for a real connection`,
  'it is the value of the ``EXPORTER_SECRET`` line of a TLS key log. The label is ``EXPORTER_LABEL``;',
  'the context is empty, so both HkdfLabels end with the hash of the empty string.'
].join('\n')

const HKDF_INPUTS = ['HKDF salt', 'HKDF info']

/** Each document's vector subsections, in order. */
export function vectorSections (document: BepDocument): string[] {
  switch (document) {
    case 'core': return [
      basicVector('Test 1 (Basic, v1 infohash)', 'A v1 torrent: the infohash is 20 bytes.', v1, range(0x00, 32)),
      basicVector('Test 2 (Basic, v2 infohash)', [
        'A v2 torrent: the infohash is 32 bytes, used at full length. The HKDF salt and info and the HMAC',
        'inputs are those of test 1.'
      ].join('\n'), v2, range(0x00, 32), NO_PADDING, [...HKDF_INPUTS, 'initiator HMAC input', 'responder HMAC input']),
      hybridVector('Test 3 (Basic, hybrid torrent)', [
        'The infohashes of tests 1 and 2 taken as the v1 and v2 infohashes of one hybrid torrent (any',
        'pair would do). The initiator knows the v2 infohash, so it proves with the v2 key: its AuthHello',
        'is that of test 2. The responder holds both keys and also accepts the AuthHello of test 1. The',
        'wire infohash of both BitTorrent handshakes is the v2 infohash truncated to 20 bytes.'
      ].join('\n'), v1, v2, range(0x00, 32)),
      basicVector('Test 4 (Basic, v1 infohash, another connection)', [
        'The infohash of test 1 on another connection (exporter 0x20 to 0x3f). Both proofs differ from',
        'those of test 1, so a proof relayed from one connection to another does not verify. The AuthHello',
        'carries 5 bytes of padding and the AuthReply 3; every other vector carries none. The HKDF salt',
        'and info are those of test 1.'
      ].join('\n'), v1, range(0x20, 32), { hello: 5, reply: 3 }, HKDF_INPUTS),
      exporterVector('Test 5 (TLS exporter, SHA-256 suite)', EXPORTER_SECRET_NOTE('SHA-256'), 'TLS_AES_128_GCM_SHA256', 'sha256',
        createHash('sha256').update('bttls test vector exporter master secret').digest()),
      exporterVector('Test 6 (TLS exporter, SHA-384 suite)', EXPORTER_SECRET_NOTE('SHA-384'), 'TLS_AES_256_GCM_SHA384', 'sha384',
        createHash('sha384').update('bttls test vector exporter master secret').digest()),
      extensionHandshakeVector('Test 7 (Extension handshake)', [
        'The extension handshake of `Capability key`_ for a peer that listens on port 6881 and also',
        'supports metadata exchange and PEX, bencoded with its keys sorted.'
      ].join('\n'))
    ]
    case 'strict': return [
      strictSecretVector('Test 1 (Strict, secret mode)', STRICT_SECRET_NOTE, v1, strictSecret, range(0x00, 32)),
      strictPassphraseVector('Test 2 (Strict, passphrase mode)', PASSPHRASE_NOTE, v2, PASSPHRASE, range(0x00, 32)),
      strictPublisherVector('Test 3 (Strict, publisher mode)', PUBLISHER_NOTE, v1, RFC8032_TEST1_SEED, range(0x00, 32)),
      strictRendezvousVector('Test 4 (Strict rendezvous)', [
        'The rendezvous of the secret-mode torrent of test 1, computed from its magnet link alone: the',
        'announce of `Strict rendezvous`_ sends it as ``info_hash`` (every byte percent-encoded here; any',
        'valid encoding of the same bytes will do), and never the infohash.'
      ].join('\n'), v1, strictSecret)
    ]
    case 'full-strict': return [
      fullStrictVector('Test 1 (Full Strict, AuthHello with a certificate)', FULL_STRICT_NOTE),
      fullStrictMagnetVector('Test 2 (Full Strict magnet link)', [
        'The magnet link of the torrent of test 1, whose secure tracker is at the example URL given.',
        '``x.bttls.ca`` is the CA certificate SHA-256 of test 1; with the infohash it gives the swarm key',
        'of test 1. The CA certificate itself is what the tracker presents after its own certificate.'
      ].join('\n'))
    ]
    case 'signalling': return [
      signalsVector('Test 1 (PEX and tracker signals)', [
        'The ut_pex message lists three peers and drops one: the first peer accepts the core extension and',
        'was dialed by the sender (0x20 and 0x10), the second prefers MSE/PE (0x01), the third, an IPv6',
        'peer, accepts the core extension (0x20). The announce parameters are those a peer adds to its',
        'announces under each policy, in this order. The tracker response lists the same three peers, of',
        'which the first and the third announced ``supportbttls=1``. The addresses are from the',
        'documentation ranges. A peer is written *address*:*port* (IPv6 in brackets), followed by its',
        'flags byte (PEX) or by ``supportbttls`` if it announced it (tracker).'
      ].join('\n'))
    ]
  }
}

/** The text that replaces a document's vector subsections. */
export function vectorText (document: BepDocument): string {
  return vectorSections(document).join('\n')
}

/**
 * The document with its "Test vectors" subsections replaced by `vectors`: everything from the first
 * subsection title to the next top-level section.
 */
export function spliceVectors (rst: string, vectors: string): string {
  const lines = rst.split('\n')
  const underlined = (i: number, c: string): boolean =>
    lines[i]!.trim() !== '' && new RegExp(`^\\${c}+$`).test(lines[i + 1] ?? '') && lines[i + 1]!.length >= lines[i]!.length
  const top = lines.findIndex((l, i) => l === 'Test vectors' && underlined(i, '='))
  if (top < 0) throw new Error('the document has no "Test vectors" section')
  let first = -1
  let next = lines.length
  for (let i = top + 2; i + 1 < lines.length; i++) {
    if (first < 0 && underlined(i, '-')) first = i
    if (underlined(i, '=')) { next = i; break }
  }
  if (first < 0) first = next
  const before = lines.slice(0, first).join('\n').trimEnd()
  const after = lines.slice(next).join('\n')
  return `${before}\n\n${vectors.trimEnd()}\n\n\n${after}`
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]
if (isMain) {
  const args = process.argv.slice(2)
  const write = args.includes('--write')
  const chosen = args.filter(a => a !== '--write')
  for (const name of chosen) if (!(name in BEP_DOCUMENTS)) throw new Error(`unknown document "${name}": one of ${Object.keys(BEP_DOCUMENTS).join(', ')}`)
  const documents = (chosen.length > 0 ? chosen : Object.keys(BEP_DOCUMENTS)) as BepDocument[]
  for (const document of documents) {
    if (write) {
      const path = fileURLToPath(new URL(BEP_DOCUMENTS[document], import.meta.url))
      writeFileSync(path, spliceVectors(readFileSync(path, 'utf8'), vectorText(document)))
      process.stdout.write(`wrote the vectors of ${path}\n`)
    } else {
      process.stdout.write(`${vectorText(document)}\n`)
    }
  }
}
