/**
 * The bttls key schedule (BEP: "Key schedule").
 *
 *   swarm_key       = HKDF-SHA256(salt = SWARM_KEY_SALT, IKM = level input, info = level label, L = 32)
 *   exporter        = TLS-Exporter(EXPORTER_LABEL, context = "", 32)       -- per connection, RFC 8446 §7.5
 *   initiator_proof = HMAC-SHA256(swarm_key, INITIATOR_PROOF_LABEL || header || exporter)
 *   responder_proof = HMAC-SHA256(swarm_key, RESPONDER_PROOF_LABEL || header || exporter)
 *
 * The exporter is secret to the two TLS endpoints, so a passive observer who knows the infohash cannot
 * compute or test a proof, and a man in the middle who terminates TLS on both sides sees two different
 * exporters and cannot forward a proof from one to the other.
 */
import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'
import {
  EXPORTER_LABEL, EXPORTER_LENGTH, INITIATOR_PROOF_LABEL, PROOF_LENGTH, RESPONDER_PROOF_LABEL, SWARM_KEY_SALT
} from './constants.js'

export type Role = 'initiator' | 'responder'

/** HKDF-SHA256 with the bttls salt. `ikm` is the level's secret input, `info` its label; 32 bytes unless `length` says. */
export function deriveSwarmKey (ikm: Uint8Array, info: string, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, Buffer.from(SWARM_KEY_SALT, 'latin1'), Buffer.from(info, 'latin1'), length))
}

/** The label that names a side in what it proves or signs (its proof, a publisher or certificate signature). */
export function roleLabel (role: Role): string {
  return role === 'initiator' ? INITIATOR_PROOF_LABEL : RESPONDER_PROOF_LABEL
}

/** The proof one side sends: an HMAC over its role label, the 4-byte message header and the exporter. */
export function computeProof (swarmKey: Uint8Array, role: Role, header: Uint8Array, exporter: Uint8Array): Buffer {
  return createHmac('sha256', swarmKey).update(roleLabel(role), 'latin1').update(header).update(exporter).digest()
}

/** Constant-time comparison of a received proof with the expected one. */
export function proofMatches (expected: Uint8Array, received: Uint8Array): boolean {
  return expected.length === PROOF_LENGTH && received.length === PROOF_LENGTH && timingSafeEqual(expected, received)
}

/** The exporter value both ends of one TLS 1.3 connection share. */
export function connectionExporter (socket: { exportKeyingMaterial (length: number, label: string, context: Buffer): Buffer }): Buffer {
  // TLS 1.3 makes an absent and an empty context the same (RFC 8446 §7.5); the BEP says "empty".
  return socket.exportKeyingMaterial(EXPORTER_LENGTH, EXPORTER_LABEL, EXPORTER_CONTEXT)
}

const EXPORTER_CONTEXT = Buffer.alloc(0)

/**
 * RFC 8446 §7.5: what TLS-Exporter(EXPORTER_LABEL, "", 32) computes inside the TLS stack, from the
 * connection's exporter_master_secret (a key log's EXPORTER_SECRET line) and the hash of its cipher
 * suite. The runtime never calls it (the stack exports); it makes the BEP's exporter vectors and lets a
 * test check a TLS stack's exporter against the formula.
 *
 *   exporter = HKDF-Expand-Label(Derive-Secret(secret, label, ""), "exporter", Hash(""), 32)
 */
export function exporterFromSecret (exporterMasterSecret: Uint8Array, hash: 'sha256' | 'sha384', label = EXPORTER_LABEL): Buffer {
  const emptyHash = createHash(hash).digest()
  const derived = hkdfExpandLabel(hash, exporterMasterSecret, label, emptyHash, emptyHash.length)
  return hkdfExpandLabel(hash, derived, 'exporter', emptyHash, EXPORTER_LENGTH)
}

/** RFC 8446 §7.1: HKDF-Expand(secret, HkdfLabel, length), HkdfLabel = u16 length || <"tls13 " + label> || <context>. */
export function hkdfExpandLabel (hash: 'sha256' | 'sha384', secret: Uint8Array, label: string, context: Uint8Array, length: number): Buffer {
  return hkdfExpand(hash, secret, hkdfLabel(label, context, length), length)
}

/** The HkdfLabel structure of RFC 8446 §7.1. */
export function hkdfLabel (label: string, context: Uint8Array, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'latin1')
  return Buffer.concat([Buffer.from([length >> 8, length & 0xff, full.length]), full, Buffer.from([context.length]), context])
}

/** RFC 5869 HKDF-Expand alone: the TLS 1.3 secrets are already pseudorandom keys. */
function hkdfExpand (hash: 'sha256' | 'sha384', prk: Uint8Array, info: Uint8Array, length: number): Buffer {
  const blocks: Buffer[] = []
  let previous = Buffer.alloc(0)
  for (let i = 1; Buffer.concat(blocks).length < length; i++) {
    previous = createHmac(hash, prk).update(previous).update(info).update(Buffer.from([i])).digest()
    blocks.push(previous)
  }
  return Buffer.concat(blocks).subarray(0, length)
}
