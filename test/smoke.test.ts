import t from 'tap'
import { basicLevel } from '../src/levels/basic.js'
t.test('basic key is 32 bytes', async t => {
  const l = basicLevel([Buffer.alloc(20, 1)])
  t.equal(l.swarmKeys[0]!.key.length, 32)
})
