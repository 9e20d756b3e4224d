/**
 * The inputs of the BEP's Full Strict test vector (test 8) that are chosen, not generated. The generated
 * material (CA certificate, peer key and certificate, signature) is in the files beside this one.
 */
import { createHash } from 'node:crypto'

export const FULL_STRICT_EXAMPLE = {
  /** The v1 infohash of tests 1, 5 and 7: SHA-1("bttls test vector v1"). */
  infoHashV1: createHash('sha1').update('bttls test vector v1').digest(),
  torrentName: 'bttls-full-strict-example',
  caName: 'bttls test vector swarm CA',
  peerName: 'bttls test vector peer',
  /** The issuer's clock when it issued the peer certificate; the lifetime is the 7-day maximum. */
  issuedAt: new Date('2026-12-01T00:00:00Z'),
  /** The example exporter of the other vectors: the bytes 0x00 to 0x1f. */
  exporter: Buffer.from(Array.from({ length: 32 }, (_, i) => i))
} as const
