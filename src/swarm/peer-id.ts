/** Our peer id (BEP 3: 20 bytes, sent in the BitTorrent handshake). */
import { randomBytes } from 'node:crypto'
import { VERSION } from '../version.js'

/**
 * Azureus-style client code (BEP 20): '-', two letters, four version digits, '-'. "BQ" is in neither
 * BEP 20's list nor the lists trackers and clients decode with (Vuze's, webtorrent's bittorrent-peerid);
 * "BT", used before, is mainline BitTorrent's. Version 0.1.0 gives "-BQ0100-".
 */
export const PEER_ID_PREFIX = `-BQ${VERSION.split('.').map(n => Number(n).toString(36)).join('').padEnd(4, '0').slice(0, 4)}-`

export function defaultPeerId (): Buffer {
  return Buffer.concat([Buffer.from(PEER_ID_PREFIX, 'latin1'), randomBytes(12)])
}
