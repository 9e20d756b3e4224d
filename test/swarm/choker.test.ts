import t from 'tap'
import { Choker } from '../../src/swarm/choker.js'
import { PiecePicker } from '../../src/swarm/piece-picker.js'
import { Bitfield } from '../../src/swarm/bitfield.js'
import { scriptedRandom, seededRandom } from '../helpers/seeded-random.js'

t.test('choker: best rates get the regular slots, one optimistic slot rotates', async t => {
  const choker = new Choker<string>(3, 1, seededRandom(7))
  const peers = ['a', 'b', 'c', 'd', 'e', 'f'].map((key, i) => ({ key, interested: key !== 'f', rate: 100 - i * 10 }))
  const optimistic = new Set<string>()
  for (let round = 0; round < 40; round++) {
    const set = choker.decide(peers)
    t.equal(set.size, 3)
    t.ok(set.has('a') && set.has('b'), 'the two fastest keep their slots')
    t.notOk(set.has('f'), 'never an uninterested peer')
    for (const k of set) if (k !== 'a' && k !== 'b') optimistic.add(k)
  }
  t.same([...optimistic].sort(), ['c', 'd', 'e'], 'the optimistic slot rotated among c, d and e')
  t.same(new Choker<string>(8).decide(peers), new Set(['a', 'b', 'c', 'd', 'e']), 'room for all: all interested unchoked')
})

t.test('picker: rarest first, random among equals, never a piece the peer lacks', async t => {
  const picker = new PiecePicker(8, [0], seededRandom(11))
  const common = Bitfield.fromWire(Buffer.from([0xff]), 8)!
  const rare = Bitfield.fromWire(Buffer.from([0x3f]), 8)! // pieces 2..7
  picker.addBitfield(common)
  picker.addBitfield(common)
  picker.addBitfield(rare)
  picker.addSeed()
  // 2..7 have 3 holders + seed, 1 has 2 + seed: piece 1 is rarest; 0 is done.
  t.equal(picker.pick(() => true), 1)
  const next = picker.pick(i => i !== 1)
  t.ok(next >= 2 && next <= 7, 'without piece 1, one of 2..7')
  const seen = new Set<number>()
  for (let k = 0; k < 200; k++) seen.add(picker.pick(i => i >= 2))
  t.same([...seen].sort(), [2, 3, 4, 5, 6, 7], 'ties broken at random: every tied piece comes up')
  t.ok([...seen].every(i => i >= 2), 'only pieces the peer has')
  picker.markActive(1)
  t.equal(picker.pick(i => i === 1), -1, 'an active piece is not picked again')
  picker.markMissing(1)
  t.equal(picker.pick(i => i === 1), 1)
  picker.markDone(1)
  t.equal(picker.doneCount, 2)
})

t.test('choker: the optimistic slot is drawn with the given random source and kept for its rounds', async t => {
  const peers = ['a', 'b', 'c', 'd'].map((key, i) => ({ key, interested: true, rate: 100 - i * 10 }))
  // 2 slots: 'a' by rate, one optimistic among b, c, d; redrawn every 2 rounds.
  const choker = new Choker<string>(2, 2, scriptedRandom([0.9, 0.0, 0.5]))
  const optimistic = (): string => [...choker.decide(peers)].find(k => k !== 'a')!
  t.same([optimistic(), optimistic(), optimistic(), optimistic(), optimistic(), optimistic()], ['d', 'd', 'b', 'b', 'c', 'c'])
})

t.test('picker: the scan starts where the random source says; the first rarest from there wins', async t => {
  const picker = new PiecePicker(6, [], scriptedRandom([0, 0.5, 5 / 6]))
  t.equal(picker.pick(() => true), 0, 'from 0')
  t.equal(picker.pick(() => true), 3, 'from 3')
  t.equal(picker.pick(() => true), 5, 'from 5')

  // Two holders of every piece but piece 1, which has one: wherever the scan starts, piece 1.
  const rare = new PiecePicker(6, [], scriptedRandom([0, 0.5, 5 / 6]))
  for (let i = 0; i < 6; i++) { rare.addHave(i); if (i !== 1) rare.addHave(i) }
  t.same([rare.pick(() => true), rare.pick(() => true), rare.pick(() => true)], [1, 1, 1], 'the rarest, from 0, 3 and 5')
})
