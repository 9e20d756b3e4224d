/**
 * Hand-written rules a censor would try first, scored on the captured flows. Each says "bttls" or
 * not for a TLS flow (or names a kind, for the plain and MSE rules). The rules with a learned
 * constant (the bttls JA4s, the first client record length) take it from the bttls flows of this
 * very run, which flatters them; a real censor would have to learn it elsewhere. They are reported
 * as upper bounds.
 */
import { bursts, postHandshake } from './features.js'
import type { ReferenceSet } from './plan.js'
import type { FlowKind, FlowSample } from './samples.js'

export interface RuleScore {
  readonly name: string
  readonly description: string
  /** Which flows it was scored on. */
  readonly population: string
  readonly flows: number
  readonly accuracy: number
  readonly truePositives: number
  readonly falsePositives: number
  readonly positives: number
}

interface Rule {
  readonly name: string
  readonly description: (learned: Learned) => string
  readonly target: FlowKind
  /** The flows the rule is scored on (bttls vs HTTPS for the TLS rules). */
  readonly population: readonly FlowKind[]
  readonly predict: (s: FlowSample, learned: Learned) => boolean
}

interface Learned {
  readonly bttlsJa4: ReadonlySet<string>
  readonly bttlsJa4a: ReadonlySet<string>
  readonly firstClientPost?: number
}

const FULL_RECORD = 16401

function mode (xs: readonly number[]): number | undefined {
  const counts = new Map<number, number>()
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1)
  let best: number | undefined
  for (const [x, n] of counts) if (best === undefined || n > counts.get(best)!) best = x
  return best
}

const firstClientPost = (s: FlowSample): number | undefined => postHandshake(s.records).find(r => r.dir === '>')?.length

const BT_HANDSHAKE_PREFIX = '13426974546f7272656e742070726f746f636f6c' // \x13BitTorrent protocol

const RULES: readonly Rule[] = [
  {
    name: 'ja4 t13i0409',
    description: () => 'JA4 starts with t13i0409 (the lab\'s rule: TLS 1.3 only, no SNI, 4 suites, 9 extensions)',
    target: 'bttls',
    population: ['bttls', 'https'],
    predict: s => s.clientHello?.ja4.startsWith('t13i0409') === true
  },
  {
    name: 'ja4 = a bttls JA4',
    description: l => `JA4 is one of the bttls flows' (${[...l.bttlsJa4].join(', ')})`,
    target: 'bttls',
    population: ['bttls', 'https'],
    predict: (s, l) => s.clientHello !== undefined && l.bttlsJa4.has(s.clientHello.ja4)
  },
  {
    name: 'ja4_a = a bttls ja4_a',
    description: l => `JA4's first part (version, SNI, counts, ALPN) is one of the bttls flows' (${[...l.bttlsJa4a].join(', ')})`,
    target: 'bttls',
    population: ['bttls', 'https'],
    predict: (s, l) => s.clientHello !== undefined && l.bttlsJa4a.has(s.clientHello.ja4.split('_')[0]!)
  },
  {
    name: 'first client record',
    description: l => `the client's first record after its Finished is ${l.firstClientPost ?? '?'} bytes (the commonest among bttls flows)`,
    target: 'bttls',
    population: ['bttls', 'https'],
    predict: (s, l) => l.firstClientPost !== undefined && firstClientPost(s) === l.firstClientPost
  },
  {
    name: '16401 then 30',
    description: () => 'a server record of 16401 bytes followed by one of 30 (a 16397-byte piece message cut at 2^14)',
    target: 'bttls',
    population: ['bttls', 'https'],
    predict: s => {
      const down = s.records.filter(r => r.dir === '<')
      return down.some((r, i) => r.length === FULL_RECORD && down[i + 1]?.length === 30)
    }
  },
  {
    name: '≥3 client turns',
    description: () => '≥3 client bursts after the Finished before the first full (16401-byte) server record',
    target: 'bttls',
    population: ['bttls', 'https'],
    predict: s => {
      const post = postHandshake(s.records)
      const full = post.findIndex(r => r.dir === '<' && r.length >= FULL_RECORD)
      const before = full < 0 ? post : post.slice(0, full)
      return bursts(before).filter(b => b > 0).length >= 3
    }
  },
  {
    name: 'plain BT prefix',
    description: () => 'the first client bytes are "\\x13BitTorrent protocol"',
    target: 'plain',
    population: ['plain', 'mse', 'bttls', 'https'],
    predict: s => s.firstBytes.toServer.startsWith(BT_HANDSHAKE_PREFIX.slice(0, 32))
  },
  {
    name: 'MSE sizes',
    description: () => 'not TLS, not BitTorrent, first segment each way 96–608 bytes (Hjelmvik & John)',
    target: 'mse',
    population: ['plain', 'mse', 'bttls', 'https'],
    predict: s => {
      if (s.tls || s.firstBytes.toServer.startsWith(BT_HANDSHAKE_PREFIX.slice(0, 32))) return false
      const up = s.segments.find(u => u.dir === '>')?.length ?? 0
      const down = s.segments.find(u => u.dir === '<')?.length ?? 0
      return up >= 96 && up <= 608 && down >= 96 && down <= 608
    }
  }
]

/**
 * The HTTPS flows a bttls rule is scored against: the lab's reference set (named as the lab's rules were),
 * the wider set, and both together, where the score is the balanced accuracy (the mean of the two
 * classes' recalls), since HTTPS flows then outnumber bttls flows two to one.
 */
export interface ReferencePopulation {
  readonly suffix: string
  /** Only HTTPS flows of this set; undefined: all. */
  readonly reference?: ReferenceSet
  readonly balanced: boolean
}

export const REFERENCE_POPULATIONS: readonly ReferencePopulation[] = [
  { suffix: '', reference: 'lab', balanced: false },
  { suffix: ' (wider)', reference: 'wider', balanced: false },
  { suffix: ' (all, balanced)', balanced: true }
]

/** Every flow of a kind other than HTTPS, and the HTTPS flows of the population's set. */
export function inPopulation (s: FlowSample, p: ReferencePopulation): boolean {
  return s.kind !== 'https' || p.reference === undefined || s.reference === undefined || s.reference === p.reference
}

/** Every flow, plain accuracy: the population of the rules and trees that are not bttls vs HTTPS. */
export const EVERY_FLOW: ReferencePopulation = { suffix: '', balanced: false }

export function scoreRules (samples: readonly FlowSample[]): RuleScore[] {
  const bttls = samples.filter(s => s.kind === 'bttls')
  const learned: Learned = {
    bttlsJa4: new Set(bttls.map(s => s.clientHello?.ja4).filter((x): x is string => x !== undefined)),
    bttlsJa4a: new Set(bttls.map(s => s.clientHello?.ja4.split('_')[0]).filter((x): x is string => x !== undefined)),
    firstClientPost: mode(bttls.map(firstClientPost).filter((x): x is number => x !== undefined))
  }
  const scores: RuleScore[] = []
  for (const rule of RULES) {
    const tlsRule = rule.population.length === 2 && rule.population.includes('https')
    const variants = tlsRule ? REFERENCE_POPULATIONS : [EVERY_FLOW]
    for (const v of variants) {
      const population = samples.filter(s => rule.population.includes(s.kind) && inPopulation(s, v))
      if (population.length === 0 || !population.some(s => s.kind === rule.target) || population.every(s => s.kind === rule.target)) continue
      let tp = 0
      let fp = 0
      let tn = 0
      for (const s of population) {
        const said = rule.predict(s, learned)
        const is = s.kind === rule.target
        if (said && is) tp++
        if (said && !is) fp++
        if (!said && !is) tn++
      }
      const positives = population.filter(s => s.kind === rule.target).length
      const negatives = population.length - positives
      scores.push({
        name: rule.name,
        description: rule.description(learned),
        population: rule.population.join('/') + v.suffix,
        flows: population.length,
        accuracy: v.balanced ? (tp / positives + tn / negatives) / 2 : (tp + tn) / population.length,
        truePositives: tp,
        falsePositives: fp,
        positives
      })
    }
  }
  return scores
}
