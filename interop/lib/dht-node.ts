/**
 * A DHT bootstrap node of our own for the swarm scenario (bittorrent-dht, no bootstrap of its own:
 * the scenario never touches the public DHT). Run as a process so the harness tracks and stops it
 * like every other peer:
 *
 *   node dist/interop/lib/dht-node.js --host 127.0.0.1 --port N
 *
 * Prints {"event":"listening",...} once bound, then {"event":"nodes","count":N} as nodes join.
 */
import { parseArgs } from 'node:util'
import DHT from 'bittorrent-dht'

const { values } = parseArgs({ options: { host: { type: 'string' }, port: { type: 'string' } } })
const host = values.host ?? '127.0.0.1'
// An empty list, never undefined: bittorrent-dht would fall back to the public routers.
const dht = new DHT({ bootstrap: [], host })
const emit = (event: string, fields: Record<string, unknown> = {}): void => { process.stdout.write(JSON.stringify({ event, ...fields }) + '\n') }
let nodes = 0
dht.on('node', () => { emit('nodes', { count: ++nodes }) })
dht.on('error', err => { emit('error', { message: err.message }); process.exit(1) })
dht.listen(Number(values.port ?? 0), host, () => emit('listening', { address: dht.address().address, port: dht.address().port }))
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => dht.destroy(() => process.exit(0)))
