import { createSocket } from 'node:dgram'
const s = createSocket('udp4')
const port = Number(process.argv[2])
s.on('message', m => { console.log(m.length, m.toString('hex')); })
const c = Buffer.alloc(16); c.writeBigUInt64BE(0x41727101980n); c.writeUInt32BE(0, 8); c.writeUInt32BE(7, 12)
s.send(c, port, '127.0.0.1')
s.once('message', m => {
  const a = Buffer.alloc(98); m.copy(a, 0, 8, 16); a.writeUInt32BE(1, 8); a.writeUInt32BE(8, 12); a.fill(7, 16, 36); a.writeInt32BE(-1, 92); a.writeUInt16BE(1, 96)
  s.send(a, port, '127.0.0.1')
  setTimeout(() => s.close(), 300)
})
