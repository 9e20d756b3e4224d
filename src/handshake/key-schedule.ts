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
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'
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
