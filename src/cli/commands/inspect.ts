import { magnetUri } from '../../torrent/magnet.js'
import { describeLevel, strictRendezvousOf } from '../../session/torrent-level.js'
import type { Reporter } from '../reporter.js'
import { readTorrentInput } from '../torrent-input.js'

/** Shows what a torrent or magnet is, never any secret it may carry. */
export async function inspectCommand (arg: string, reporter: Reporter): Promise<number> {
  const input = await readTorrentInput(arg)
  if (input.kind === 'magnet') {
    const m = input.magnet
    const fields = { kind: 'magnet', name: m.name, infoHashV1: m.infoHashV1?.toString('hex'), infoHashV2: m.infoHashV2?.toString('hex'), ...describeLevel(m), secret: m.strictSecret ? 'carried (not shown)' : undefined, rendezvous: strictRendezvousOf(m)?.toString('hex'), trackers: m.trackers, peers: m.peers }
    reporter.event('inspect', fields)
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) reporter.line(`${k.padEnd(12)} ${Array.isArray(v) ? v.join(' ') : String(v)}`)
    return 0
  }
  const t = input.metainfo
  const fields = {
    kind: 'torrent', name: t.name, version: t.version, ...describeLevel(t),
    secret: t.strictSecret ? 'carried (not shown)' : undefined,
    publisherKey: t.strict?.publisherKey?.toString('hex'),
    // What its trackers and the DHT are told instead of the infohash (unless a passphrase is needed for it).
    rendezvous: strictRendezvousOf(t)?.toString('hex'),
    infoHashV1: t.infoHashV1?.toString('hex'), infoHashV2: t.infoHashV2?.toString('hex'),
    length: t.files.filter(f => !f.pad).reduce((a, f) => a + f.length, 0), pieceLength: t.pieceLength, pieces: t.pieceCount,
    files: t.files.filter(f => !f.pad).length, private: t.private, trackers: t.trackers, magnet: magnetUri(t)
  }
  // JSON carries the file list too (the human output prints it below the fields).
  reporter.event('inspect', { ...fields, comment: t.comment, fileList: t.files.filter(f => !f.pad).map(f => ({ path: f.path.join('/'), length: f.length })) })
  for (const [k, v] of Object.entries({ ...fields, comment: t.comment })) if (v !== undefined) reporter.line(`${k.padEnd(12)} ${Array.isArray(v) ? v.join(' ') : String(v)}`)
  if (!reporter.json) for (const f of t.files) if (!f.pad) reporter.line(`  ${f.path.join('/')} (${f.length} bytes)`)
  return 0
}
