/**
 * tcpdump on `lo` for the duration of the traffic section, filtered to the harness's port range so
 * nothing else on the machine ends up in the pcap. Full packets (-s 0): the record layer is parsed
 * from the reassembled payload. Packet-buffered (-U) with a large kernel buffer (-B), and the count
 * of packets the kernel dropped is reported: a drop makes a hole in a stream (tcp-flows.ts).
 */
import type { Peer, ProcessGroup } from '../../interop/lib/processes.js'

export interface Capture {
  readonly file: string
  readonly filter: string
  /** Stops tcpdump (SIGTERM: it flushes the file) and returns its own count of dropped packets. */
  stop (): Promise<{ captured?: number, droppedByKernel?: number }>
}

export async function startCapture (procs: ProcessGroup, file: string, ports: { from: number, to: number }, logPrefix: string): Promise<Capture> {
  const filter = `tcp and portrange ${ports.from}-${ports.to}`
  // --immediate-mode: without it libpcap hands packets over in blocks, and the last block of the
  // run (the last flow) would be lost when tcpdump is stopped.
  const peer: Peer = procs.spawn('tcpdump', ['-i', 'lo', '-n', '-s', '0', '-U', '--immediate-mode', '-B', '65536', '-w', file, filter], { name: 'tcpdump', logPrefix })
  // tcpdump says "listening on lo" once the filter is attached; traffic before that would be lost.
  await peer.until('"listening on lo"', () => peer.stderr.includes('listening on'), 10_000)
  return {
    file,
    filter,
    async stop () {
      // Let the last segments (FIN, ACK) of the last flow reach the capture.
      await new Promise(resolve => setTimeout(resolve, 1000))
      await procs.stop(peer, 5000)
      const captured = /(\d+) packets captured/.exec(peer.stderr)?.[1]
      const dropped = /(\d+) packets dropped by kernel/.exec(peer.stderr)?.[1]
      return { captured: captured === undefined ? undefined : Number(captured), droppedByKernel: dropped === undefined ? undefined : Number(dropped) }
    }
  }
}
