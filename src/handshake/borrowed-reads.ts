/**
 * A socket's reads through one buffer shared by the process (net.Socket's `onread`): TLS and
 * plaintext links; not MSE, whose wire decrypts each read into a new buffer anyway (dialer.ts `opener`).
 *
 * node:tls hands each decrypted record to JavaScript as a fresh 16 KiB buffer (`TLSWrap::ClearOut`),
 * and a plain net.Socket each TCP read as a fresh buffer of up to 64 KiB, pushed through the socket's
 * Readable and then the wire's Writable: on a bulk leecher, an allocation and two streams' bookkeeping
 * per read, and the allocations pace V8's garbage collection. With `onread`, Node copies each record
 * (TLS) or reads the bytes (TCP) into a buffer we give it and calls us instead. Node applies `onread`
 * only to a socket made with it: the dialer makes its TLS links with `tls.connect` without `socket`
 * (secure-outbound.ts `openTls`) and its plaintext links with `net.connect` (dialer.ts `opener`); an
 * accepted socket is given the buffer after the fact (`adoptBorrowedReads`): a TLS one after its TLS
 * handshake (the responder's secure-inbound.ts), a plaintext one once its first bytes said it is
 * BitTorrent (legacy-accept.ts).
 *
 * One buffer serves every such socket: Node fills it and calls back at once, and the consumer is done
 * with it when the call returns (the wire copies what it keeps: guarded-wire.ts `readBorrowed`). So it
 * costs no memory per link. Nothing a consumer does can make Node fill it again during the call. A
 * plain socket's reads come only from libuv's read callback, which runs from the event loop, never
 * from inside a write or any other call a consumer makes. A TLS socket's only other way in
 * (`TLSWrap::ClearOut` from an empty write or a new client's start) finds no cleartext, which every
 * socket's own read has already taken. A nested call is checked all the same, and fails both reads'
 * sockets rather than parse overwritten bytes.
 *
 * Until a consumer takes the socket's reads (`lendReads`), each read is copied into the socket's
 * stream, so the handshake's bounded reads (bounded-read.ts) work unchanged, and whatever is in the
 * stream when the consumer takes over (an accepted socket's sniffed first bytes) reaches it first.
 */
import net, { type Socket } from 'node:net'
import { BorrowedReadError } from '../errors.js'

/** Who takes a socket's reads once lent: it is done with `bytes` when it returns (false: pause). */
export interface BorrowedReader {
  readBorrowed (bytes: Uint8Array): boolean
}

/** A plain socket's read fills at most this (libuv reads into all of it, as into its own 64 KiB); node:tls's, one 16 KiB record. */
const SHARED_READS = Buffer.allocUnsafeSlow(64 * 1024)
const borrowing = new WeakSet<Socket>()
const readers = new WeakMap<Socket, BorrowedReader>()
/** The socket whose read is being consumed, if any (the nesting check). */
let reading: Socket | undefined
/** Reads handed to a reader since the process started (the tests' and benchmarks' evidence). */
let lent = 0

export interface OnReadOptions {
  readonly buffer: Buffer
  readonly callback: (this: Socket, length: number, buffer: Buffer) => boolean
}

const ON_READ: OnReadOptions = { buffer: SHARED_READS, callback: onRead }

/** A socket made by `create` with the shared read buffer as its `onread`. */
export function withBorrowedReads<S extends Socket> (create: (onread: OnReadOptions) => S): S {
  const socket = create(ON_READ)
  borrowing.add(socket)
  return socket
}

/**
 * net.Socket's private keys for `onread` (its buffer and callback), found on a socket made with one.
 * Node sets them in the constructor only; an accepted socket gets them here (adoptBorrowedReads).
 */
const ON_READ_KEYS = ((): { buffer: symbol, callback: symbol } | undefined => {
  // `onread` is a net.Socket option @types/node lists for net.connect only.
  const probe = new net.Socket({ onread: { buffer: Buffer.alloc(1), callback: () => true } } as net.SocketConstructorOpts)
  const slots = probe as unknown as Record<symbol, unknown>
  const keys = Object.getOwnPropertySymbols(probe)
  const buffer = keys.find(k => k.description === 'kBuffer')
  const callback = keys.find(k => k.description === 'kBufferCb')
  const found = buffer !== undefined && callback !== undefined && Buffer.isBuffer(slots[buffer]) && typeof slots[callback] === 'function'
  probe.destroy()
  return found ? { buffer, callback } : undefined
})()

/**
 * Makes an accepted socket (which `onread` cannot reach: net.Server or node:tls made it) read through
 * the shared buffer from its next read on, as its constructor would have: net.Socket's `onread` keys
 * set on it, and its handle told to read into the buffer (`useUserBuffer`, what the constructor calls;
 * a TLS socket's handle is node:tls's TLSWrap, a plain one's libuv's TCP wrap, and both have it). What
 * was read before stays in its stream. Returns false, changing nothing, when this Node lacks either:
 * the socket then reads as usual.
 */
export function adoptBorrowedReads (socket: Socket): boolean {
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (buffer: Buffer) => void } | null })._handle
  if (ON_READ_KEYS === undefined || typeof handle?.useUserBuffer !== 'function' || socket.destroyed) return false
  const slots = socket as unknown as Record<symbol, unknown>
  if (slots[ON_READ_KEYS.buffer] !== null || slots[ON_READ_KEYS.callback] !== null) return false
  slots[ON_READ_KEYS.buffer] = SHARED_READS
  slots[ON_READ_KEYS.callback] = onRead
  handle.useUserBuffer(SHARED_READS)
  borrowing.add(socket)
  return true
}

/**
 * From now on, `reader` takes the socket's reads, starting with those already in its stream (copies
 * from before, in order). False when the socket does not read through the shared buffer: the caller
 * reads its stream as usual.
 */
export function lendReads (socket: Socket, reader: BorrowedReader): boolean {
  if (!borrowing.has(socket)) return false
  for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) reader.readBorrowed(chunk)
  readers.set(socket, reader)
  return true
}

/** Node calls this with `this` the socket (net.js's onStreamRead calls `stream[kBufferCb](nread, buffer)`). */
function onRead (this: Socket, length: number, buffer: Buffer): boolean {
  const bytes = buffer.subarray(0, length)
  if (reading !== undefined) {
    const err = new BorrowedReadError('the shared read buffer was filled again while a read was being parsed')
    reading.destroy(err)
    this.destroy(err)
    return false
  }
  const reader = readers.get(this)
  // Not yet lent: into the stream, as Node would have pushed it.
  if (reader === undefined) return this.push(ownCopy(bytes))
  return lend(this, reader, bytes)
}

/**
 * `bytes` copied into an array of its own, as Node itself would hand over a read: for what outlives
 * the shared buffer's next read. Not Buffer.from, which takes small copies from Buffer's shared 8 KiB
 * pool, where anything kept keeps the whole slab (measured: +0.5 KiB a link).
 */
export function ownCopy (bytes: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(bytes)
}

function lend (socket: Socket, reader: BorrowedReader, bytes: Uint8Array): boolean {
  reading = socket
  lent++
  try {
    return reader.readBorrowed(bytes)
  } finally {
    reading = undefined
  }
}

/** Whether `socket` reads through the shared buffer. */
export function readsBorrowed (socket: Socket): boolean {
  return borrowing.has(socket)
}

/** How many reads were handed to a reader in this process. */
export function borrowedReadCount (): number {
  return lent
}
