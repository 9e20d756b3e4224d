/** The report's chart: the accuracy of every bttls-vs-HTTPS classifier against the goal and moonshot. */
import { barChart } from '../svg.js'
import { valueOf } from '../analysis.js'
import { bttlsClassifierScores, CLASSIFIER_GOAL, CLASSIFIER_MOONSHOT } from './analysis.js'
import type { WireImageRun } from './results.js'

export function classifierChart (run: WireImageRun): string {
  const traffic = valueOf(run.sections.traffic)
  const scores = bttlsClassifierScores(traffic?.rules ?? [], traffic?.trees.results ?? [])
  return barChart({
    title: `bttls vs HTTPS: classifier accuracy (${run.date.slice(0, 10)}${run.quick ? ', quick' : ''})`,
    yLabel: 'accuracy (0.5 = a coin)',
    categories: scores.map(s => s.name),
    series: [{ name: 'accuracy (trees: mean of repeated 5-fold CV)', values: scores.map(s => s.accuracy) }],
    references: [{ label: 'goal', value: CLASSIFIER_GOAL }, { label: 'moonshot', value: CLASSIFIER_MOONSHOT }],
    width: 900
  })
}
