/**
 * Registers a bittorrent-protocol extension (ut_metadata, ut_pex) on a wire, with the host it answers
 * to. `wire.use()` takes a class and constructs it with the wire alone, so the host has to reach the
 * constructor some other way: a class made per wire that closes over it did, and cost every link
 * about 1 KiB (a closure, a prototype, their shapes). Instead one subclass per extension serves every
 * wire, and the host is handed over during the synchronous `use` call.
 */
import type Wire from 'bittorrent-protocol'
import type { WireExtension } from 'bittorrent-protocol'

type ExtensionClass<H> = new (wire: Wire, host: H) => WireExtension

const forUse = new WeakMap<ExtensionClass<never>, new (wire: Wire) => WireExtension>()
let hostInUse: { readonly host: unknown } | undefined

export function useExtension<H> (wire: Wire, Extension: ExtensionClass<H>, host: H): void {
  let OnWire = forUse.get(Extension)
  if (OnWire === undefined) {
    const Base = Extension as ExtensionClass<unknown>
    // It inherits the prototype's `name`, which bittorrent-protocol reads before constructing.
    OnWire = class extends Base {
      constructor (wire: Wire) {
        if (hostInUse === undefined) throw new Error('an extension registered through useExtension() is constructed by it alone')
        super(wire, hostInUse.host)
      }
    }
    forUse.set(Extension, OnWire)
  }
  hostInUse = { host }
  try {
    wire.use(OnWire)
  } finally {
    hostInUse = undefined
  }
}
