import t from 'tap'
import { readFile, readlink } from 'node:fs/promises'
import { join } from 'node:path'
import { fixture } from '../helpers/release-repo.js'

t.test('publish two releases; the client updates through the swarm, then rolls back', async t => {
  const f = await fixture(t)
  const v1 = await f.release('1.0.0')
  const server = await f.serve()
  const first = await f.update(server.url)
  t.match(first, { status: 'installed', version: '1.0.0', via: 'swarm' })
  t.same(await readFile(join(f.client, 'current', 'app.bin')), v1)
  const v2 = await f.release('1.1.0')
  await server.rescan()
  const second = await f.update(server.url)
  t.match(second, { status: 'installed', version: '1.1.0', via: 'swarm', previous: '1.0.0' })
  t.same(await readFile(join(f.client, 'current', 'app.bin')), v2)
  t.equal(await readlink(join(f.client, 'previous')), join('releases', '1.0.0'))
  t.match(await f.update(server.url), { status: 'up-to-date', version: '1.1.0' })
})
