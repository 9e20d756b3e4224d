// bittorrent-protocol 5 ships no types (and @types/bittorrent-protocol describes v3). Only what bttls uses.
declare module 'bittorrent-protocol' {
  import { Duplex } from 'streamx'

  export interface WireExtension {
    name: string
    onHandshake? (infoHash: string, peerId: string, extensions: Record<string, boolean>): void
    onExtendedHandshake? (handshake: Record<string, any>): void
    onMessage? (buf: Uint8Array): void
  }
  export interface WireExtensionConstructor {
    new (wire: Wire): WireExtension
    prototype: { name: string }
  }
  export interface BitFieldLike {
    get (index: number): boolean
    set (index: number, value?: boolean): void
    buffer: Uint8Array
  }
  export interface PeerRequest { piece: number, offset: number, length: number }

  export default class Wire extends Duplex {
    static nativeRC4: boolean
    constructor (type?: string, peEnabled?: 0 | 1 | 2)
    type: string
    peerId: string | null
    peerIdBuffer: Uint8Array | null
    amChoking: boolean
    amInterested: boolean
    peerChoking: boolean
    peerInterested: boolean
    peerPieces: BitFieldLike
    peerExtensions: Record<string, boolean>
    extendedHandshake: Record<string, unknown>
    peerExtendedHandshake: Record<string, any>
    peerExtendedMapping: Record<string, number>
    requests: Array<PeerRequest>
    peerRequests: Array<PeerRequest>
    hasFast: boolean
    uploaded: number
    downloaded: number
    /** Throughput meters: called with the bytes of each block, they answer bytes per second. */
    uploadSpeed: (delta?: number) => number
    downloadSpeed: (delta?: number) => number
    destroyed: boolean
    _infoHash: string | null
    _cryptoHandshakeDone: boolean
    _encryptionMethod: number | undefined
    use (ext: WireExtensionConstructor): void
    setKeepAlive (enable: boolean): void
    setTimeout (ms: number, unref?: boolean): void
    startEncryption (infoHashHex: string): void
    setInfoHash (infoHashHex: string): void
    handshake (infoHash: Uint8Array | string, peerId: Uint8Array | string, extensions?: Record<string, boolean>): void
    choke (): void
    unchoke (): void
    interested (): void
    uninterested (): void
    have (index: number): void
    bitfield (bitfield: BitFieldLike | Uint8Array): void
    haveAll (): void
    haveNone (): void
    request (index: number, offset: number, length: number, cb: (err: Error | null, block?: Uint8Array) => void): void
    cancel (index: number, offset: number, length: number): void
    piece (index: number, offset: number, buffer: Uint8Array): void
    reject (index: number, offset: number, length: number): void
    extended (ext: string | number, obj: unknown): void
    destroy (err?: Error): this
    end (data?: unknown): this
    allowedFastSet: number[]
    _message (id: number, numbers: number[], data: Uint8Array | null): void
    /** A request message from the peer (guarded-wire.ts answers it in its own way). */
    _onRequest (index: number, offset: number, length: number): void
    /** The parser's steps (guarded-wire.ts overrides the two it re-arms for every message). */
    _onMessageLength (buffer: Uint8Array): void
    _onMessage (buffer: Uint8Array): void
    _parse (size: number, parser: (buffer: Uint8Array) => void): void
    /** The peer's handshake, parsed; it re-arms the parser for the first message (guarded-wire.ts holds it). */
    _onHandshakeBuffer (handshake: Uint8Array): void
    _parser: (buffer: Uint8Array) => void
    _processBuffer (): void
    _write (data: Uint8Array, cb: (err: Error | null) => void): void
    /** streamx's writable side: `buffered` counts the bytes written and not yet handed to `_write`. */
    _writableState: { buffered: number }
    _handshakeSent: boolean
    /** The receive buffer guarded-wire.ts keeps: unparsed chunks, their total length, the bytes the parser waits for. */
    _buffer: Uint8Array[]
    _bufferSize: number
    _parserSize: number
    /** MSE's receive state: the pattern being searched for, the wait for setInfoHash, the stream cipher. */
    _cryptoSyncPattern: Uint8Array | null
    _pePending: boolean
    _encryptor: { decrypt (data: Uint8Array): Uint8Array } | null
  }
}
declare module 'streamx' {
  import { EventEmitter } from 'node:events'
  export class Duplex extends EventEmitter {
    pipe<T extends NodeJS.WritableStream | Duplex> (dest: T): T
    write (data: unknown): boolean
    push (data: unknown): boolean
    destroyed: boolean
    destroying: boolean
  }
}
