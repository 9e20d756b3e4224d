/**
 * Plain BitTorrent and MSE/PE (RC4) transfers of the same files, for the 4-way comparison (how easy
 * the older transports are to pick out). The CLI would upgrade such a link to TLS, so the transport
 * is forced with the bench's own worker (bench/worker.ts: a seeder, and a leecher that dials with
 * `Session.connect(…, { transport })`).
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { JsonChild } from '../json-child.js'
import type { WorkerArgs } from '../worker.js'
import { bttlsCreate, infohashNeedles } from './bttls-cli.js'
import type { PlannedFlow, TrafficContext } from './flows.js'

const WORKER = fileURLToPath(new URL('../worker.js', import.meta.url))

export const PLAIN_FIRST_PORT = 29200
export const MSE_FIRST_PORT = 29300

export async function planBtFlows (ctx: TrafficContext, transport: 'plain' | 'mse'): Promise<PlannedFlow[]> {
  const flows: PlannedFlow[] = []
  for (const [i, file] of ctx.files.entries()) {
    const dir = join(ctx.dir, transport, String(i))
    await mkdir(join(dir, 'out'), { recursive: true })
    const torrent = join(dir, `${file.name}.torrent`)
    // A v1 torrent, as the older transports' peers would use.
    const created = bttlsCreate(file.path, torrent, ['--v1'])
    const port = (transport === 'plain' ? PLAIN_FIRST_PORT : MSE_FIRST_PORT) + i
    let seed: JsonChild | undefined
    let get: JsonChild | undefined
    flows.push({
      label: { kind: transport, variant: transport === 'plain' ? 'plaintext BitTorrent' : 'MSE/PE, RC4', size: file.size },
      server: { address: '127.0.0.1', port },
      needles: infohashNeedles(created),
      setUp: async () => {
        const seedArgs: WorkerArgs = { role: 'seed', torrent, dir: ctx.filesDir, port }
        seed = new JsonChild(WORKER, [JSON.stringify(seedArgs)])
        await seed.next('ready', 30_000)
        const getArgs: WorkerArgs = { role: 'get', torrent, dir: join(dir, 'out'), port: 0, seederPort: port, transport }
        get = new JsonChild(WORKER, [JSON.stringify(getArgs)])
        await get.next('ready', 30_000)
      },
      transfer: async () => {
        get!.send('go')
        await get!.next('complete', 120_000)
      },
      tearDown: async () => {
        await get?.stop()
        await seed?.stop()
      }
    })
  }
  return flows
}
