/**
 * Strict-level inputs to the key schedule (BEP: "Strict"). Each mode turns what the torrent's holders
 * have, and an infohash-only outsider has not, into the IKM of the same HKDF as Basic:
 *
 *   secret mode      IKM = infohash || secret                    (secret: 32 random bytes)
 *   passphrase mode  IKM = infohash || scrypt(passphrase, PASSPHRASE_SALT_LABEL || infohash)
 *   publisher mode   IKM = infohash || Ed25519 publisher public key (32 bytes)
 *   swarm_key        = HKDF-SHA256(SWARM_KEY_SALT, IKM, STRICT_KEY_INFO, 32)
 *
 * The infohash is in every IKM so a key is bound to one swarm, and the salt of the passphrase
 * stretching is per swarm, so one precomputed dictionary does not serve every torrent.
 */
import { createHash, scrypt, scryptSync } from 'node:crypto'
import {
  PASSPHRASE_SALT_LABEL, RENDEZVOUS_LENGTH, SCRYPT_N, SCRYPT_P, SCRYPT_R, STRICT_COMMITMENT_LABEL, STRICT_KEY_INFO, STRICT_RENDEZVOUS_INFO,
  STRICT_SECRET_LENGTH
} from '../protocol/constants.js'
import { deriveSwarmKey } from '../protocol/key-schedule.js'

export function strictSwarmKey (infoHash: Uint8Array, strictInput: Uint8Array): Buffer {
  return deriveSwarmKey(Buffer.concat([infoHash, strictInput]), STRICT_KEY_INFO)
}

/**
 * The Strict rendezvous (BEP: "Strict rendezvous"): what a Strict swarm announces to trackers and the
 * DHT in place of its infohash. Same IKM as the swarm key, another label, 20 bytes: it looks like any
 * infohash, and nobody without the strict input can link it to the torrent or compute it.
 *   rendezvous = HKDF-SHA256(SWARM_KEY_SALT, infohash || strict input, STRICT_RENDEZVOUS_INFO, 20)
 */
export function strictRendezvous (infoHash: Uint8Array, strictInput: Uint8Array): Buffer {
  return deriveSwarmKey(Buffer.concat([infoHash, strictInput]), STRICT_RENDEZVOUS_INFO, RENDEZVOUS_LENGTH)
}

/** scrypt with the BEP's fixed parameters; the passphrase is normalised to NFC first. */
export function passphraseSecret (passphrase: string, infoHash: Uint8Array): Buffer {
  const salt = Buffer.concat([Buffer.from(PASSPHRASE_SALT_LABEL, 'latin1'), infoHash])
  return scryptSync(Buffer.from(passphrase.normalize('NFC'), 'utf8'), salt, STRICT_SECRET_LENGTH, {
    N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P, maxmem: 256 * 1024 * 1024
  })
}

/** The same, off the event loop (node's libuv pool): for adding a torrent, where 0.6 s of CPU must not stall peers. */
export function passphraseSecretAsync (passphrase: string, infoHash: Uint8Array): Promise<Buffer> {
  const salt = Buffer.concat([Buffer.from(PASSPHRASE_SALT_LABEL, 'latin1'), infoHash])
  return new Promise((resolve, reject) => scrypt(Buffer.from(passphrase.normalize('NFC'), 'utf8'), salt, STRICT_SECRET_LENGTH, {
    N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P, maxmem: 256 * 1024 * 1024
  }, (err, key) => err ? reject(err) : resolve(key)))
}

/** What the info dict carries in secret mode: lets a holder check its secret without revealing it. */
export function secretCommitment (secret: Uint8Array): Buffer {
  return createHash('sha256').update(STRICT_COMMITMENT_LABEL, 'latin1').update(secret).digest()
}
