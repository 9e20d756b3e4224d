/**
 * The receiving end of the raw TCP loopback measurement (bench/limits.ts): accepts one connection on
 * 127.0.0.1, discards what it reads, and when the sender ends reports the bytes and its CPU time.
 */
import net from 'node:net'
import { emit } from './json-child.js'

const server = net.createServer(socket => {
  let bytes = 0
  const cpu = process.cpuUsage()
  socket.on('data', (d: Buffer) => { bytes += d.length })
  socket.on('end', () => {
    const { user, system } = process.cpuUsage(cpu)
    emit('received', { bytes, cpuSeconds: (user + system) / 1e6 })
    socket.end()
    server.close()
  })
})
server.listen(0, '127.0.0.1', () => emit('listening', { port: (server.address() as net.AddressInfo).port }))
process.stdin.resume()
process.stdin.on('end', () => process.exit(0))
