/**
 * What a torrent says about its Strict level (BEP: "Strict"): the mode, and the public half of what
 * the swarm key needs. It lives in the info dict (bttls-fields.ts reads and writes it), so it holds no
 * secret; the level built from it (levels/strict.ts) takes the secrets apart, as credentials.
 */
export type StrictMode = 'secret' | 'passphrase' | 'publisher'

/** What a torrent says about its Strict level (no secrets: this lives in the info dict). */
export interface StrictInfo {
  readonly mode: StrictMode
  /** secret mode: SHA-256(STRICT_COMMITMENT_LABEL || secret). */
  readonly commitment?: Buffer
  /** publisher mode: the 32-byte Ed25519 public key. */
  readonly publisherKey?: Buffer
}
