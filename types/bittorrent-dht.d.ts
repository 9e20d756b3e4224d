// bittorrent-dht 11 ships no types. Only what bttls uses (src/session/discovery-dht.ts, the interop
// harness's bootstrap node).
declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events'

  export interface DhtOptions {
    /** 'host:port' strings. Always pass an array: `false` or undefined makes k-rpc fall back to the public routers. */
    bootstrap: string[]
    /** Our own address: our announces are also stored in our own table (a tiny DHT needs that). */
    host?: string | false
    nodeId?: Uint8Array | string
    concurrency?: number
    /** How long announced peers are kept (ms). */
    maxAge?: number
  }

  export interface DhtPeer { host: string, port: number }

  export interface DhtEvents {
    ready: []
    listening: []
    close: []
    error: [Error]
    warning: [Error]
    peer: [DhtPeer, Buffer, { host?: string, address?: string, port: number } | null]
    node: [unknown]
  }

  export default class DHT extends EventEmitter<DhtEvents> {
    constructor (options: DhtOptions)
    readonly ready: boolean
    readonly listening: boolean
    readonly destroyed: boolean
    readonly nodeId: Buffer
    readonly nodes: { toArray (): Array<{ host: string, port: number }> }
    listen (port: number, address: string, onListening?: () => void): void
    address (): { address: string, family: string, port: number }
    /** Announce that we have `infoHash` on TCP `port` (0: implied port). Looks up first when needed. */
    announce (infoHash: Uint8Array | string, port: number, cb?: (err: Error | null) => void): void
    /** Peers come as 'peer' events; returns an abort function. */
    lookup (infoHash: Uint8Array | string, cb?: (err: Error | null, nodesWithPeers?: number) => void): () => void
    addNode (node: { host: string, port: number }): void
    destroy (cb?: () => void): void
  }
}
