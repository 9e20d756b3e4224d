/**
 * Creates the fixed material of the BEP's Full Strict test vector, ONCE: a swarm CA, a peer key and a
 * peer certificate for the example torrent, and one ECDSA signature. ECDSA keys, certificates (random
 * serials) and signatures are not deterministic, so the BEP prints committed material; running this
 * again replaces it and the BEP's Full Strict vector must then be regenerated (bep/generate-vectors.ts).
 *
 *   cd /work/main && TS_NODE_TRANSPILE_ONLY=1 node --import @tapjs/typescript/import bep/vectors/create-full-strict-material.ts
 *
 * The CA's private key is not kept: the vector needs only its certificate.
 */
import { createPrivateKey, sign } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createPeerKeyAndCsr, createSwarmCa, issuePeerCertificate } from '../../src/pki/certificate-profile.js'
import { certificateSignedBytes } from '../../src/levels/full-strict/full-strict.js'
import { authHeader } from '../../src/protocol/auth-message.js'
import { FLAG_CERTIFICATE, MAX_PEER_CERT_LIFETIME_S } from '../../src/protocol/constants.js'
import { FULL_STRICT_EXAMPLE } from './full-strict-example.js'

const dir = (name: string): string => fileURLToPath(new URL(name, import.meta.url))

const ca = await createSwarmCa(FULL_STRICT_EXAMPLE.caName)
const { keyPem, csrDer } = await createPeerKeyAndCsr(FULL_STRICT_EXAMPLE.peerName)
const issued = await issuePeerCertificate({
  ca,
  csrDer,
  torrent: { name: FULL_STRICT_EXAMPLE.torrentName, infoHashV1: FULL_STRICT_EXAMPLE.infoHashV1 },
  lifetimeSeconds: MAX_PEER_CERT_LIFETIME_S,
  now: FULL_STRICT_EXAMPLE.issuedAt
})
const header = authHeader('full-strict', FLAG_CERTIFICATE)
const signature = sign('sha256', certificateSignedBytes('initiator', header, FULL_STRICT_EXAMPLE.exporter), createPrivateKey(keyPem))

writeFileSync(dir('full-strict-ca.pem'), ca.certPem)
writeFileSync(dir('full-strict-peer.pem'), issued.certPem)
writeFileSync(dir('full-strict-peer-key.pem'), keyPem)
writeFileSync(dir('full-strict-signature.hex'), `${signature.toString('hex')}\n`)
process.stdout.write(`serial ${issued.serial}, notAfter ${issued.notAfter.toISOString()}\n`)
