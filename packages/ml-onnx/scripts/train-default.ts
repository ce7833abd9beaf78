/**
 * Trains the model shipped in models/: prices from the spot price history at
 * `SPOTFLEET_PRICE_HISTORY` (default ../../../shared/data/spot-price-history-c5a.2xlarge-us-east-1.csv
 * beside the repository; read only, never copied) or generated prices when it is absent, and the
 * interruption bands from the Spot Instance Advisor feed at `SPOTFLEET_SPOT_ADVISOR` (default
 * ../../../shared/data/spot-advisor-data.json; without it every band is unknown, said loudly).
 *
 *   npx tsx --conditions=@spotfleet/source packages/ml-onnx/scripts/train-default.ts
 */
import { Either } from "effect"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import * as Dataset from "../src/Dataset.js"
import { defaultModel } from "../src/OnnxDecisionModel.js"
import * as Pipeline from "../src/Pipeline.js"
import * as SpotAdvisor from "../src/SpotAdvisor.js"
import * as Trainer from "../src/Trainer.js"

const data = (name: string) => fileURLToPath(new URL(`../../../../shared/data/${name}`, import.meta.url))
const history = process.env.SPOTFLEET_PRICE_HISTORY ?? data("spot-price-history-c5a.2xlarge-us-east-1.csv")
const advisor = process.env.SPOTFLEET_SPOT_ADVISOR ?? data("spot-advisor-data.json")
const source = existsSync(history)
  ? Pipeline.historySource(readFileSync(history, "utf8"), `spot price history ${history.split("/").pop()}`)
  : Pipeline.generatedSource()
console.log(`source: ${source.description} (${source.points.length} points)`)
const loaded = existsSync(advisor)
  ? Either.getOrThrow(SpotAdvisor.fromText(readFileSync(advisor, "utf8"), `AWS Spot Instance Advisor feed ${advisor.split("/").pop()}`))
  : null
if (loaded === null) console.warn(`!! no Spot Advisor feed at ${advisor}: every interruption band is unknown`)
const examples = Dataset.build(source.points, Pipeline.defaultDatasetOptions, loaded?.table)
const interruptions = loaded === null ? null : Pipeline.interruptionSource(loaded, source.points.map((p) => p.pool))
if (interruptions !== null) console.log(`interruptions: ${interruptions.description}; bands ${JSON.stringify(interruptions.bands)}`)
const out = Pipeline.trainAndExport({ ...defaultModel, examples, source, dataset: Pipeline.defaultDatasetOptions, interruptions })
const dir = new URL("../models/", import.meta.url)
writeFileSync(new URL(`${defaultModel.name}-v${defaultModel.version}.onnx`, dir), out.onnx)
writeFileSync(new URL(`${defaultModel.name}-v${defaultModel.version}.json`, dir), JSON.stringify(out.card, null, 2) + "\n")
console.log(`examples ${examples.length}; hold-out from ${new Date(out.card.cutoff).toISOString()}`)
console.log(`train:\n${Trainer.formatReport(out.card.train)}`)
console.log(`hold-out:\n${Trainer.formatReport(out.card.holdout)}`)
console.log(`wrote ${out.onnx.length} bytes, ${out.card.digest}`)
