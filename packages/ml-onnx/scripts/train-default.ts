/**
 * Trains the model shipped in models/: prices from the spot price history at
 * `SPOTFLEET_PRICE_HISTORY` (default ../../../shared/data/spot-price-history-c5a.2xlarge-us-east-1.csv
 * beside the repository; read only, never copied) or generated prices when it is absent.
 *
 *   npx tsx --conditions=@spotfleet/source packages/ml-onnx/scripts/train-default.ts
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import * as Dataset from "../src/Dataset.js"
import { defaultModel } from "../src/OnnxDecisionModel.js"
import * as Pipeline from "../src/Pipeline.js"
import * as Trainer from "../src/Trainer.js"

const history = process.env.SPOTFLEET_PRICE_HISTORY ??
  fileURLToPath(new URL("../../../../shared/data/spot-price-history-c5a.2xlarge-us-east-1.csv", import.meta.url))
const source = existsSync(history)
  ? Pipeline.historySource(readFileSync(history, "utf8"), `spot price history ${history.split("/").pop()}`)
  : Pipeline.generatedSource()
console.log(`source: ${source.description} (${source.points.length} points)`)
const examples = Dataset.build(source.points, Pipeline.defaultDatasetOptions)
const out = Pipeline.trainAndExport({ ...defaultModel, examples, source, dataset: Pipeline.defaultDatasetOptions })
const dir = new URL("../models/", import.meta.url)
writeFileSync(new URL(`${defaultModel.name}-v${defaultModel.version}.onnx`, dir), out.onnx)
writeFileSync(new URL(`${defaultModel.name}-v${defaultModel.version}.json`, dir), JSON.stringify(out.card, null, 2) + "\n")
console.log(`examples ${examples.length}; hold-out from ${new Date(out.card.cutoff).toISOString()}`)
console.log(`train:\n${Trainer.formatReport(out.card.train)}`)
console.log(`hold-out:\n${Trainer.formatReport(out.card.holdout)}`)
console.log(`wrote ${out.onnx.length} bytes, ${out.card.digest}`)
