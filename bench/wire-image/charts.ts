/** The report's chart: the accuracy of every bttls-vs-HTTPS classifier against the goal and moonshot. */
import { barChart } from '../svg.js'
import { valueOf } from '../analysis.js'
import { REFERENCE_POPULATIONS } from './rules.js'
import { bttlsClassifierScores, CLASSIFIER_GOAL, CLASSIFIER_MOONSHOT } from './analysis.js'
import type { WireImageRun } from './results.js'

export function classifierChart (run: WireImageRun): string {
  const traffic = valueOf(run.sections.traffic)
  const scoresOf = (suffix: string): Map<string, number> =>
    new Map(bttlsClassifierScores(traffic?.rules ?? [], traffic?.trees.results ?? [], suffix).map(s => [s.name, s.accuracy]))
  const perPopulation = REFERENCE_POPULATIONS.map(p => ({ p, scores: scoresOf(p.suffix) })).filter(x => x.scores.size > 0)
  const names = [...new Set(perPopulation.flatMap(x => [...x.scores.keys()]))]
  return barChart({
    title: `bttls vs HTTPS: classifier accuracy (${run.date.slice(0, 10)}${run.quick ? ', quick' : ''})`,
    yLabel: 'accuracy (0.5 = a coin)',
    categories: names,
    series: perPopulation.map(({ p, scores }) => ({
      name: `vs ${p.reference ?? 'both'} reference${p.balanced ? ' (balanced)' : ''}`,
      values: names.map(n => scores.get(n) ?? 0)
    })),
    references: [{ label: 'goal', value: CLASSIFIER_GOAL }, { label: 'moonshot', value: CLASSIFIER_MOONSHOT }],
    width: 900
  })
}
