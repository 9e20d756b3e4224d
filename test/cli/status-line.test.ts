/**
 * The terminal status line: byte, progress and duration formats at their unit boundaries, fitting to a
 * narrow terminal, current (windowed) rates, and the fields of a get and a seed line, stalled or not.
 * Swarms are stand-ins that report fixed stats: the line reads nothing else of them.
 */
import t from 'tap'
import { EventEmitter } from 'node:events'
import { mock } from 'node:test'
import { RATE_WINDOW_MS, REDRAW_MS, RateMeter, StatusLine, fitLine, formatBytes, formatDuration, formatProgress, statusFields } from '../../src/cli/status-line.js'
import type { Swarm } from '../../src/swarm/swarm.js'
import type { SwarmStats } from '../../src/swarm/swarm-api.js'

const MiB = 1024 * 1024

function fakeSwarm (stats: Partial<SwarmStats>, files?: Array<{ length: number, pad: boolean }>): Swarm & { set: (s: Partial<SwarmStats>) => void } {
  let current = { downloaded: 0, uploaded: 0, piecesDone: 0, piecesTotal: 0, peers: 0, ...stats }
  return Object.assign(new EventEmitter(), {
    metainfo: files === undefined ? undefined : { files },
    stats: () => current,
    set: (s: Partial<SwarmStats>) => { current = { ...current, ...s } }
  }) as unknown as Swarm & { set: (s: Partial<SwarmStats>) => void }
}

t.test('formatBytes picks the largest unit the value reaches, up to TiB', async t => {
  t.equal(formatBytes(0), '0 B')
  t.equal(formatBytes(1023), '1023 B')
  t.equal(formatBytes(1023.4), '1023 B', 'bytes are whole')
  t.equal(formatBytes(1024), '1.0 KiB')
  t.equal(formatBytes(1536), '1.5 KiB')
  t.equal(formatBytes(7.4 * MiB), '7.4 MiB')
  t.equal(formatBytes(1024 ** 3), '1.0 GiB')
  t.equal(formatBytes(1024 ** 4), '1.0 TiB')
  t.equal(formatBytes(1024 ** 5), '1024.0 TiB', 'no unit past TiB')
  t.equal(formatBytes(3 * MiB, 2), '3.0 MiB', 'an explicit unit')
  t.equal(formatBytes(512 * 1024, 2), '0.5 MiB', 'an explicit unit larger than the value')
})

t.test('formatProgress gives both numbers in the unit of the total', async t => {
  t.equal(formatProgress(7.4 * MiB, 20 * MiB), '7.4/20.0 MiB')
  t.equal(formatProgress(0, 20 * MiB), '0.0/20.0 MiB')
  t.equal(formatProgress(512, 2048), '0.5/2.0 KiB')
  t.equal(formatProgress(10, 100), '10/100 B')
  t.equal(formatProgress(20 * MiB, 20 * MiB), '20.0/20.0 MiB')
})

t.test('formatDuration: s, then m+ss, then h+mm; rounded before the unit is chosen; ? when unknown', async t => {
  t.equal(formatDuration(0), '0s')
  t.equal(formatDuration(59.4), '59s')
  t.equal(formatDuration(59.6), '1m00s', 'rounds to 60 s, shown as a minute')
  t.equal(formatDuration(61), '1m01s')
  t.equal(formatDuration(3599), '59m59s')
  t.equal(formatDuration(3599.7), '1h00m')
  t.equal(formatDuration(3661), '1h01m')
  t.equal(formatDuration(90061), '25h01m', 'hours do not wrap at a day')
  t.equal(formatDuration(Infinity), '?')
  t.equal(formatDuration(NaN), '?')
})

t.test('fitLine keeps leading fields that fit, then cuts to the width', async t => {
  const fields = ['37%', '7.4/20.0 MiB', 'DL 5.1 MiB/s', 'UL 0 B/s']
  t.equal(fitLine(fields, 200), '37%  7.4/20.0 MiB  DL 5.1 MiB/s  UL 0 B/s')
  t.equal(fitLine(fields, '37%  7.4/20.0 MiB  DL 5.1 MiB/s'.length), '37%  7.4/20.0 MiB  DL 5.1 MiB/s', 'exactly the width')
  t.equal(fitLine(fields, '37%  7.4/20.0 MiB  DL 5.1 MiB/s'.length + 5), '37%  7.4/20.0 MiB  DL 5.1 MiB/s', 'a field that does not fit ends the line')
  t.equal(fitLine(['a', 'a very long field', 'b'], 5), 'a', 'fields after one that does not fit are dropped, even short ones')
  t.equal(fitLine(['fetching metadata', '3 peers'], 8), 'fetching', 'a first field wider than the terminal is cut')
  t.equal(fitLine(fields, 0), '')
  t.equal(fitLine(fields, -1), '', 'a nonsense width gives an empty line, not a throw')
  t.equal(fitLine([], 80), '')
})

t.test('RateMeter: 0 until two samples, then bytes per second over the last RATE_WINDOW_MS', async t => {
  const m = new RateMeter()
  t.same(m.rates(), { down: 0, up: 0 })
  m.add(1000, 0, 0)
  t.same(m.rates(), { down: 0, up: 0 }, 'one sample')
  m.add(1000, 500, 500)
  t.same(m.rates(), { down: 0, up: 0 }, 'two samples at the same instant')
  m.add(2000, 1000, 250)
  t.same(m.rates(), { down: 1000, up: 250 })

  // 10 s idle, then 5 s at 1000 B/s down: the rate is the current one, not the average since the start.
  const w = new RateMeter()
  for (let s = 0; s <= 10; s++) w.add(s * 1000, 0, 0)
  for (let s = 11; s <= 15; s++) w.add(s * 1000, (s - 10) * 1000, 0)
  t.equal(w.rates().down, 1000)
  // A pause in sampling longer than the window keeps the last two samples, not none.
  w.add(15_000 + 3 * RATE_WINDOW_MS, 5000 + 30_000, 0)
  t.equal(w.rates().down, 30_000 / (3 * RATE_WINDOW_MS / 1000))
})

t.test('get line: percent, progress of the real files (pad files excluded), rates, peers, ETA', async t => {
  const s = fakeSwarm({ piecesDone: 37, piecesTotal: 100, peers: 3 }, [{ length: 20 * MiB, pad: false }, { length: 5 * MiB, pad: true }])
  t.same(statusFields('get', s, { down: 5.1 * MiB, up: 0 }, undefined, 0),
    ['37%', '7.4/20.0 MiB', 'DL 5.1 MiB/s', 'UL 0 B/s', '3 peers', 'ETA 2s'])
  t.same(statusFields('get', s, { down: 0, up: 0 }, undefined, 0).at(-1), 'ETA ?', 'no download rate: no ETA')
  s.set({ peers: 1 })
  t.same(statusFields('get', s, { down: 1, up: 0 }, undefined, 0)[4], '1 peer')
  t.same(statusFields('get', s, { down: 0, up: 0 }, 10_000, 22_500),
    ['37%', '7.4/20.0 MiB', 'DL 0 B/s', 'stalled 13s', 'UL 0 B/s', '1 peer'], 'a stall comes right after DL, in place of the ETA')
})

t.test('get line before the metadata is known', async t => {
  t.same(statusFields('get', fakeSwarm({ peers: 2 }), { down: 0, up: 0 }, undefined, 0), ['fetching metadata', '2 peers'])
  t.same(statusFields('get', fakeSwarm({ peers: 0 }, [{ length: 1, pad: false }]), { down: 0, up: 0 }, undefined, 0),
    ['fetching metadata', '0 peers'], 'metainfo but no piece count yet')
})

t.test('seed line sums every torrent served', async t => {
  const a = fakeSwarm({ uploaded: 40 * MiB, peers: 3 })
  t.same(statusFields('seed', a, { down: 0, up: 5.1 * MiB }, undefined, 0), ['seeding', 'UL 5.1 MiB/s', 'up 40.0 MiB', '3 peers'])
  const b = fakeSwarm({ uploaded: 2 * MiB, peers: 1 })
  t.same(statusFields('seed', a, { down: 0, up: 0 }, undefined, 0, [a, b]), ['seeding', 'UL 0 B/s', 'up 42.0 MiB', '4 peers', '2 torrents'])
})

t.test('StatusLine draws at once, follows stalled/resumed, measures every swarm, and stops', async t => {
  // Node's own fake clock for setInterval and Date, so that the redraws are ticked, not waited for.
  mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_000_000 })
  t.teardown(() => mock.timers.reset())
  const a = fakeSwarm({ peers: 1, piecesDone: 1, piecesTotal: 2, downloaded: 0 }, [{ length: 2048, pad: false }])
  const drawn: string[][] = []
  const line = new StatusLine('get', a, fields => drawn.push(fields))
  t.teardown(() => line.stop())
  t.equal(drawn.length, 1, 'drawn in the constructor')
  t.equal(drawn[0]![0], '50%')
  a.emit('stalled', { sinceMs: 61_000, peers: 1, unchokedWithPieces: 0 })
  mock.timers.tick(REDRAW_MS - 1)
  t.equal(drawn.length, 1, 'not before REDRAW_MS')
  mock.timers.tick(1)
  t.equal(drawn.length, 2, 'redrawn after REDRAW_MS')
  t.equal(drawn[1]![3], 'stalled 1m02s', 'the stall is dated from when it began, not from the event')
  a.emit('resumed')
  mock.timers.tick(REDRAW_MS)
  t.notOk(drawn.at(-1)!.some(f => f.startsWith('stalled')), 'no stall after resumed')
  line.stop()
  const n = drawn.length
  mock.timers.tick(5 * REDRAW_MS)
  t.equal(drawn.length, n, 'no redraw after stop')

  const x = fakeSwarm({ uploaded: 0, peers: 1 })
  const y = fakeSwarm({ uploaded: 0, peers: 2 })
  const seen: string[][] = []
  const seed = new StatusLine('seed', [x, y], f => seen.push(f))
  t.teardown(() => seed.stop())
  x.set({ uploaded: 1024 * 1024 })
  y.set({ uploaded: 1024 * 1024 })
  mock.timers.tick(REDRAW_MS)
  t.same(seen.at(-1), ['seeding', 'UL 2.0 MiB/s', 'up 2.0 MiB', '3 peers', '2 torrents'], 'rate and totals count both torrents')
})
