/**
 * Refits the target classifiers (handshake + first 30 records) and the "what it would take" rows from
 * a stored run, without new traffic: `npm run build && node dist/bench/wire-image/refit.js
 * bench/results/wire-image-<date>.json`. A reviewer can try another counterfactual on the same flows.
 */
import { readFileSync } from 'node:fs'
import { counterfactualDatasets } from './counterfactuals.js'
import { fitTrees, treeDatasets } from './trees.js'
import { sampleFromStored, type StoredSample } from './samples.js'

const file = process.argv[2]
if (file === undefined) {
  console.error('usage: node dist/bench/wire-image/refit.js <wire-image results .json>')
  process.exit(2)
}
const stored = JSON.parse(readFileSync(file, 'utf8')) as { sections: { traffic: { value: { samples: StoredSample[] } } } }
const samples = stored.sections.traffic.value.samples.map(sampleFromStored)
const datasets = [...treeDatasets(samples).filter(d => d.name.endsWith('hs+post30')), ...counterfactualDatasets(samples)]
for (const r of await fitTrees(datasets, { depth: 3, folds: 5, repeats: 10 })) {
  console.log(`${r.name}: ${r.mean?.toFixed(3) ?? '-'} ± ${r.sd?.toFixed(3) ?? '-'} | ${r.rootRule ?? ''}`)
}
