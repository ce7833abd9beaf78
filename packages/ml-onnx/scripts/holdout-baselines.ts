/**
 * What the shipped model's hold-out accuracy is worth: the same hold-out set (rebuilt exactly as
 * scripts/train-default.ts builds it) scored by the model and by two rules that need no training —
 * "switch when the candidate is cheaper now" and "switch when today's price gap, held for the
 * horizon, pays for the switch" (persistence). Same inputs as train-default.ts.
 *
 *   npx tsx --conditions=@spotfleet/source packages/ml-onnx/scripts/holdout-baselines.ts
 */
import { Either } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import * as Dataset from "../src/Dataset.js"
import * as Pipeline from "../src/Pipeline.js"
import * as SpotAdvisor from "../src/SpotAdvisor.js"
import * as Trainer from "../src/Trainer.js"

const data = (name: string) => fileURLToPath(new URL(`../../../../shared/data/${name}`, import.meta.url))
const history = process.env.SPOTFLEET_PRICE_HISTORY ?? data("spot-price-history-c5a.2xlarge-us-east-1.csv")
const advisor = process.env.SPOTFLEET_SPOT_ADVISOR ?? data("spot-advisor-data.json")
if (!existsSync(history) || !existsSync(advisor)) throw new Error(`needs ${history} and ${advisor}`)
const card = JSON.parse(readFileSync(new URL("../models/switch-decision-v1.json", import.meta.url), "utf8")) as Pipeline.ModelCard
const source = Pipeline.historySource(readFileSync(history, "utf8"), "history")
const loaded = Either.getOrThrow(SpotAdvisor.fromText(readFileSync(advisor, "utf8"), "advisor"))
const examples = Dataset.build(source.points, card.dataset, loaded.table)
const { holdout } = Trainer.splitByTime(examples, card.holdoutFraction)
const model: Trainer.LinearModel = { layoutVersion: 1, featureNames: card.featureNames, weights: card.weights, bias: card.bias }
const H = card.dataset.horizonHours ?? 24
const switchCost = card.dataset.switchCostHours ?? 0.5
const accuracy = (predict: (e: Dataset.Example) => boolean) =>
  holdout.filter((e) => predict(e) === (e.label === 1)).length / holdout.length
// savingsFraction = (current − candidate) ÷ current; logPriceRatio = ln(candidate ÷ current) ÷ 2.
const cheaper = (e: Dataset.Example) => e.features[0]! > 0
const persistence = (e: Dataset.Example) => {
  const ratio = Math.exp(2 * e.features[1]!) // candidate ÷ current
  return e.features[7] === 0 && (1 - ratio) * H > switchCost * ratio + e.features[9]! * 4 * (H / 24) * ratio
}
const pct = (x: number) => `${(x * 100).toFixed(1)}%`
console.log(`hold-out: ${holdout.length} examples from ${new Date(card.cutoff).toISOString()}`)
console.log(`model (threshold 0.5)             ${pct(accuracy((e) => Trainer.predict(model, e.features) >= 0.5))}`)
console.log(`majority class                    ${pct(Trainer.evaluate(model, holdout).baselineAccuracy)}`)
console.log(`candidate cheaper now             ${pct(accuracy(cheaper))}`)
console.log(`today's gap pays for the switch   ${pct(accuracy(persistence))}`)
