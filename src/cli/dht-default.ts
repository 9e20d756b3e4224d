/**
 * Whether the CLI runs a DHT node, and from which bootstrap nodes, when the user does not say: what a
 * real client does. A session that listens on a loopback address only (the default, 127.0.0.1) can
 * reach no DHT node beyond this host, so it runs none; one that listens on any other address (e.g.
 * 0.0.0.0, or a LAN or public address) joins the public DHT through the well-known routers, as
 * libtorrent, Transmission and aria2 do by default. --dht-bootstrap replaces the routers; --no-dht
 * turns the DHT off. The library (Session) never joins a DHT unless given bootstrap nodes.
 */
import { isLoopback } from '../codec/endpoint.js'

/** The routers mainstream clients bootstrap from (host:port). */
export const PUBLIC_DHT_ROUTERS = [
  'router.bittorrent.com:6881',
  'router.utorrent.com:6881',
  'dht.transmissionbt.com:6881',
  'dht.libtorrent.org:25401'
] as const

export interface DhtChoice {
  /** Listening address of the session. */
  readonly host: string
  /** --dht-bootstrap values, host:port. */
  readonly bootstrap: readonly string[]
  /** --no-dht. */
  readonly off: boolean
}

/** The bootstrap nodes to run the DHT with, or undefined for no DHT. */
export function dhtBootstrapFor (choice: DhtChoice): string[] | undefined {
  if (choice.off) return undefined
  if (choice.bootstrap.length > 0) return [...choice.bootstrap]
  return isLoopback(choice.host) ? undefined : [...PUBLIC_DHT_ROUTERS]
}
