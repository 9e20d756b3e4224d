/**
 * Every protocol constant of the bttls BEP documents (the "Constants" tables of bep/bep-xxxx.rst and of
 * its Strict and Full Strict companions) lives here and only here. The test vectors are computed from
 * these values and test/conformance/bep-vectors.test.ts checks them, so a change here that is not made in the
 * documents fails the tests.
 */

/** Version byte of the AuthHello/AuthReply messages. */
export const PROTOCOL_VERSION = 0x01

/** HKDF salt for every swarm key: domain separation from any other use of an infohash. */
export const SWARM_KEY_SALT = 'BitTorrent over TLS v1'

/** HKDF info for the Basic level's swarm key (IKM = the infohash). */
export const BASIC_KEY_INFO = 'bttls v1 basic swarm key'

/** HKDF info for the Strict level's swarm key (IKM = infohash || strict input: secret or publisher key). */
export const STRICT_KEY_INFO = 'bttls v1 strict swarm key'
/** HKDF info of the Strict rendezvous: the 20 bytes announced to trackers and the DHT in place of the infohash (same IKM). */
export const STRICT_RENDEZVOUS_INFO = 'bttls v1 strict rendezvous'
/** Length of the Strict rendezvous: the size of an infohash on trackers and in the DHT. */
export const RENDEZVOUS_LENGTH = 20

/** Strict secret mode: length of the secret (256 random bits need no stretching). */
export const STRICT_SECRET_LENGTH = 32
/** Strict secret mode: the info dict commits to the secret, so a wrong secret is caught before dialing. */
export const STRICT_COMMITMENT_LABEL = 'bttls v1 strict secret commitment'

/**
 * Strict passphrase mode: secret = scrypt(passphrase (UTF-8, NFC), PASSPHRASE_SALT_LABEL || infohash).
 * N = 2^17, r = 8, p = 1: 128 MiB and about 0.6 s per guess on the reference machine.
 */
export const PASSPHRASE_SALT_LABEL = 'bttls v1 passphrase'
export const SCRYPT_N = 131_072
export const SCRYPT_R = 8
export const SCRYPT_P = 1

/** Strict publisher mode: an Ed25519 signature over this label, the role label, the header and the exporter. */
export const PUBLISHER_PROOF_LABEL = 'bttls v1 publisher proof'
export const PUBLISHER_KEY_LENGTH = 32
export const PUBLISHER_SIGNATURE_LENGTH = 64
/** Flag in the auth message header: a publisher signature (64 bytes) follows the proof. */
export const FLAG_PUBLISHER_SIGNATURE = 0x0001

/** HKDF info for the Full Strict swarm key (IKM = infohash || SHA-256(DER of the swarm CA certificate)). */
export const FULL_STRICT_KEY_INFO = 'bttls v1 full-strict swarm key'
/** Flag in the auth message header: a certificate block follows the proof (Full Strict). */
export const FLAG_CERTIFICATE = 0x0002
/** The certificate block's signature: over this label, the signer's role label, its header and the exporter. */
export const CERTIFICATE_PROOF_LABEL = 'bttls v1 certificate proof'
/** Largest certificate block (u16 length prefix excluded) a peer accepts. */
export const MAX_CERTIFICATE_BLOCK = 8192
/** Longest lifetime a peer accepts in a Full Strict peer certificate: 7 days. */
export const MAX_PEER_CERT_LIFETIME_S = 7 * 24 * 3600
/** Clock skew tolerated when checking a peer certificate's validity window. */
export const CERT_CLOCK_SKEW_S = 300

/** RFC 8446 §7.5 exporter label; the exporter output binds the proofs to this one TLS connection. */
export const EXPORTER_LABEL = 'EXPORTER-BitTorrent-TLS-v1'
export const EXPORTER_LENGTH = 32

/** HMAC labels of the two proofs. Distinct labels stop a proof being reflected back to its sender. */
export const INITIATOR_PROOF_LABEL = 'bttls v1 initiator proof'
export const RESPONDER_PROOF_LABEL = 'bttls v1 responder proof'

/** Size of an AuthHello or AuthReply: version(1) level(1) flags(2) proof(32), before any extension. */
export const AUTH_HEADER_LENGTH = 4
export const PROOF_LENGTH = 32
export const AUTH_MESSAGE_LENGTH = AUTH_HEADER_LENGTH + PROOF_LENGTH

/**
 * Every auth message ends in a u16 padding length and that many zero bytes, so its record length says
 * nothing (TLS 1.3 adds a fixed 17 bytes per record). A sender draws the length uniformly from
 * 0..MAX_AUTH_PADDING; a receiver refuses more.
 */
export const AUTH_PADDING_LENGTH_SIZE = 2
export const MAX_AUTH_PADDING = 1024

/** Level codes carried in the AuthHello/AuthReply level byte. */
export const LEVEL_CODES = { basic: 0x01, strict: 0x02, 'full-strict': 0x03 } as const

/**
 * Time bounds of the initiator's handshake steps (BEP: "Timeouts"). The responder's TLS handshake is
 * bounded as an ordinary web server bounds it (see the listener); its wait for the AuthHello by
 * AUTH_TIMEOUT_MS, after which the connection is the decoy's.
 */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000
export const AUTH_TIMEOUT_MS = 10_000
/** How long the one-port listener waits for enough bytes to classify a connection. */
export const SNIFF_TIMEOUT_MS = 10_000

/**
 * Largest ClientHello handshake message the responder accepts. A real ClientHello is well under 2 KiB
 * (about 1.8 KiB even with a post-quantum key share); one TLS record carries at most 16 KiB.
 */
export const MAX_CLIENT_HELLO_LENGTH = 16_384

/**
 * The TLS 1.3 cipher suites a connection may end up with (BEP: "TLS profile"). The initiator offers
 * what its TLS library's HTTPS client offers, TLS 1.2 suites included; only these may be negotiated.
 */
export const CIPHER_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_256_GCM_SHA384'] as const
export type CipherSuite = typeof CIPHER_SUITES[number]

/** The ALPN list of the initiator's ClientHello: what a browser offers, so the hello names no protocol of ours. */
export const ALPN_OFFER = ['h2', 'http/1.1'] as const

/** Largest first application-data record the responder reads for an AuthHello (one TLS record). */
export const MAX_RECORD_PAYLOAD = 16_384
