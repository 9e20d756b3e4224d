/**
 * One peer endpoint, however a source spells it. A dual-stack socket reports an IPv4 peer as
 * ::ffff:a.b.c.d while trackers, PEX and users name it a.b.c.d, and IPv6 text may come in either
 * case: every list, dedupe map and ban keyed by endpoint uses the first two functions below, so that
 * one peer is one key whichever way it reached us. isLoopback says whether an address reaches this
 * host only (the CLI's DHT default, the dialer's source address).
 */
import { isIP } from 'node:net'

const IPV4_MAPPED = /^::ffff:(?=\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$)/i

/** The address as peers are listed: an IPv4-mapped IPv6 address becomes its IPv4 address. */
export function plainAddress (address: string): string {
  return address.replace(IPV4_MAPPED, '')
}

/** The key of (address, port): the plain address, lowercased, and the port. */
export function endpointKey (address: string, port: number): string {
  return `${plainAddress(address).toLowerCase()}|${port}`
}

/** 127.0.0.0/8, ::1, ::ffff:127.x and "localhost": addresses that reach this host only. */
export function isLoopback (host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  if (h === 'localhost') return true
  if (isIP(h) === 4) return h.startsWith('127.')
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h)
  return false
}
