/**
 * Strict level (BEP: "Strict"): knowing the infohash is not enough. The torrent names one of three
 * modes, and the swarm key needs what only its holders have (strict-keys.ts).
 *
 * Publisher mode adds authentication of the publisher's own peers: a peer holding the publisher's
 * private key signs the TLS exporter in its auth message, so a leecher can tell an authentic seed
 * from any other holder of the (public) torrent, and no insider can stand in the middle of a
 * connection to the publisher without its private key.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import {
  FLAG_PUBLISHER_SIGNATURE, PUBLISHER_KEY_LENGTH, PUBLISHER_PROOF_LABEL, STRICT_SECRET_LENGTH
} from '../protocol/constants.js'
import { InvalidPassphraseError, MissingCredentialError, PublisherProofError, PublisherRequiredError, StrictSecretMismatchError } from '../errors.js'
import { announcedInfoHash, type PeerCheck, type SwarmKey, type SwarmLevel } from './level.js'
import { roleLabel, type Role } from '../protocol/key-schedule.js'
import { basicSwarmKey } from './basic.js'
import { passphraseSecret, secretCommitment, strictRendezvous, strictSwarmKey } from './strict-keys.js'
import type { StrictInfo, StrictMode } from '../torrent/strict-info.js'

/** What the user supplies (or the .torrent/magnet carries) to join. */
export interface StrictCredentials {
  readonly secret?: Uint8Array
  readonly passphrase?: string
  /** publisher mode: the publisher's Ed25519 private key, to sign as an authentic publisher peer. */
  readonly publisherPrivateKey?: KeyObject
  /** publisher mode: accept only peers that prove they hold the publisher key. */
  readonly requirePublisher?: boolean
  /** passphrase mode: secrets already stretched (hex infohash -> scrypt output), so no scrypt runs on a connection. */
  readonly passphraseSecrets?: ReadonlyMap<string, Buffer>
}

/**
 * @param infoHashes the torrent's infohashes, preferred first.
 */
export function strictLevel (infoHashes: readonly Uint8Array[], info: StrictInfo, credentials: StrictCredentials = {}): SwarmLevel {
  if (infoHashes.length === 0) throw new RangeError('a torrent has at least one infohash')
  const inputOf = strictInputs(info, credentials)
  const swarmKeys = infoHashes.map(ih => lazyKey(ih, () => strictSwarmKey(ih, inputOf(ih))))
  let rendezvous: Buffer | undefined
  const publisherKey = info.mode === 'publisher' ? publicKeyObject(info.publisherKey!) : undefined
  const signer = info.mode === 'publisher' && credentials.publisherPrivateKey
    ? checkedSigner(credentials.publisherPrivateKey, info.publisherKey!)
    : undefined

  return {
    name: 'strict',
    swarmKeys,
    legacyTransports: false,
    // Trackers and the DHT are told the rendezvous, never the infohash (BEP: "Strict rendezvous").
    announce: 'rendezvous',
    weakerKeys: infoHashes.map(basicSwarmKey),
    credential: CREDENTIAL[info.mode],
    authFlags: () => signer ? FLAG_PUBLISHER_SIGNATURE : 0,
    authPayload: (role, header, exporter) => signer ? { signature: sign(null, signedBytes(role, header, exporter), signer) } : {},
    verifyPeer: (check: PeerCheck) => {
      if (!publisherKey) return
      const peerRole = check.role === 'initiator' ? 'responder' : 'initiator'
      if (check.peerSignature !== undefined) {
        if (!verify(null, signedBytes(peerRole, check.peerHeader, check.exporter), publisherKey, check.peerSignature)) {
          throw new PublisherProofError('the peer\'s publisher signature does not verify under the torrent\'s publisher key')
        }
      } else if (credentials.requirePublisher === true) {
        throw new PublisherRequiredError('the peer did not prove it holds the publisher key, and this torrent requires it')
      }
    },
    announceHash: () => {
      const ih = announcedInfoHash(infoHashes)
      return (rendezvous ??= strictRendezvous(ih, inputOf(ih)))
    }
  }
}

/** What a mode's swarm key needs besides the infohash, as error messages name it. */
const CREDENTIAL: Record<StrictMode, string> = { secret: 'secret', passphrase: 'passphrase', publisher: 'publisher key' }

/** What a publisher signs: label, the signer's role label, its header, and this connection's exporter. */
export function signedBytes (role: Role, header: Uint8Array, exporter: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(PUBLISHER_PROOF_LABEL, 'latin1'), Buffer.from(roleLabel(role), 'latin1'), header, exporter])
}

/**
 * The strict input of each infohash (the secret, the stretched passphrase or the publisher key), checked
 * against the torrent first. Passphrase mode stretches lazily when the caller could not do it ahead
 * (Session.addTorrent does, off the event loop): scrypt costs ~0.6 s per infohash.
 */
function strictInputs (info: StrictInfo, credentials: StrictCredentials): (infoHash: Uint8Array) => Uint8Array {
  switch (info.mode) {
    case 'secret': {
      const secret = credentials.secret
      if (secret === undefined) throw new MissingCredentialError('this Strict torrent needs its secret (--secret, or a .torrent/magnet that carries it)')
      if (secret.length !== STRICT_SECRET_LENGTH) throw new StrictSecretMismatchError(`a Strict secret is ${STRICT_SECRET_LENGTH} bytes, got ${secret.length}`)
      if (info.commitment && !secretCommitment(secret).equals(info.commitment)) {
        throw new StrictSecretMismatchError('the secret given does not match the torrent\'s commitment')
      }
      return () => secret
    }
    case 'passphrase': {
      const passphrase = credentials.passphrase
      if (passphrase === undefined || passphrase === '') throw new MissingCredentialError('this Strict torrent needs its passphrase (--passphrase), which is never empty')
      // A lone surrogate has no UTF-8 form; encoding would silently turn it into U+FFFD, so two different
      // inputs would give one key here and other keys in other implementations. Refused, never repaired.
      if (!(passphrase as string & { isWellFormed: () => boolean }).isWellFormed()) {
        throw new InvalidPassphraseError('the passphrase is not a sequence of Unicode characters (an unpaired surrogate)')
      }
      const stretched = new Map<string, Buffer>()
      return ih => {
        const hex = Buffer.from(ih).toString('hex')
        let secret = credentials.passphraseSecrets?.get(hex) ?? stretched.get(hex)
        if (secret === undefined) stretched.set(hex, secret = passphraseSecret(passphrase, ih))
        return secret
      }
    }
    case 'publisher': {
      const key = info.publisherKey
      if (key === undefined || key.length !== PUBLISHER_KEY_LENGTH) throw new MissingCredentialError('a publisher-mode torrent carries a 32-byte Ed25519 publisher key')
      return () => key
    }
  }
}

/** A swarm key derived on first use: an initiator only ever uses the first (passphrase mode: one scrypt). */
function lazyKey (infoHash: Uint8Array, derive: () => Buffer): SwarmKey {
  let key: Buffer | undefined
  return { infoHash, get key () { return (key ??= derive()) } }
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

export function publicKeyObject (raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' })
}

/** The 32 raw bytes of an Ed25519 public key (from a public key, private key or certificate PEM). */
export function rawPublisherKey (key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key
  if (pub.asymmetricKeyType !== 'ed25519') throw new MissingCredentialError(`a publisher key must be Ed25519, got ${String(pub.asymmetricKeyType)}`)
  return pub.export({ format: 'der', type: 'spki' }).subarray(ED25519_SPKI_PREFIX.length)
}

function checkedSigner (privateKey: KeyObject, publisherKey: Buffer): KeyObject {
  const key = privateKey.type === 'private' ? privateKey : createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' }))
  if (!rawPublisherKey(key).equals(publisherKey)) {
    throw new StrictSecretMismatchError('the publisher private key given is not the key this torrent names')
  }
  return key
}
