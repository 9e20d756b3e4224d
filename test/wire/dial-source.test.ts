/**
 * Which address a dial comes from (dialer.ts, dialSourceAddress): bound where it is where peers see
 * us; left to the kernel where binding would only cost a search of the bound-port table.
 */
import t from 'tap'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { basicLevel } from '../../src/levels/basic.js'
import { dial, dialSourceAddress } from '../../src/wire/dialer.js'

t.test('the rule', async t => {
  t.equal(dialSourceAddress(undefined, '127.0.0.1'), undefined, 'no source address: the kernel chooses')
  t.equal(dialSourceAddress('127.0.0.1', '127.0.0.2'), undefined, '127.0.0.1 to loopback: what the kernel picks anyway, not bound')
  t.equal(dialSourceAddress('127.0.0.1', 'localhost'), undefined)
  t.equal(dialSourceAddress('::1', '::1'), undefined)
  t.equal(dialSourceAddress('127.0.0.3', '127.0.0.2'), '127.0.0.3', 'another loopback address is where peers see us: bound')
  t.equal(dialSourceAddress('127.0.0.1', '203.0.113.7'), '127.0.0.1', 'a loopback source to the network stays bound, so it cannot leave this host')
  t.equal(dialSourceAddress('192.0.2.10', '203.0.113.7'), '192.0.2.10')
  t.equal(dialSourceAddress('127.0.0.3', '::1'), undefined, 'the other family: the kernel chooses')
  t.equal(dialSourceAddress('192.0.2.10', 'peer.example'), '192.0.2.10', 'a name: bound as asked')
})

t.test('over TCP: the peer sees the bound source, and 127.0.0.1 whether bound or not', async t => {
  const seen: string[] = []
  const server = net.createServer(socket => { seen.push(socket.remoteAddress ?? ''); socket.destroy() })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const { port } = server.address() as net.AddressInfo
  const ih = randomBytes(20)
  for (const localAddress of ['127.0.0.3', '127.0.0.1']) {
    // The server is no peer: the dial fails after its one TCP connect, which is all this test needs.
    const err = await dial({ host: '127.0.0.1', port, localAddress, level: basicLevel([ih]), wireInfoHash: ih, policy: 'require-tls' }).then(() => undefined, (e: unknown) => e as Error)
    t.equal(err?.name, 'DialError', `the dial from ${localAddress} fails at the TLS handshake`)
  }
  t.same(seen, ['127.0.0.3', '127.0.0.1'])
})
