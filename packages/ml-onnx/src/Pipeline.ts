/**
 * The training pipeline's shared steps (used by `spotfleet ml` and the script that trains the
 * shipped model): read a price history and the interruption data (the Spot Instance Advisor feed),
 * build the dataset, split by time, train, evaluate, and write the ONNX file with a JSON card
 * beside it (the human-readable card is MODEL_CARD.md).
 *
 * @since 0.1.0
 */
import { InterruptionData, PriceHistorySource } from "@spotfleet/engine"
import { Either, Option } from "effect"
import { createHash } from "node:crypto"
import * as Dataset from "./Dataset.js"
import * as FeatureLayout from "./FeatureLayout.js"
import { digestOf } from "./OnnxDecisionModel.js"
import * as Trainer from "./Trainer.js"

/**
 * On-demand price of c5a.2xlarge in us-east-1 (Linux), the baseline of the shipped dataset.
 *
 * @since 0.1.0
 * @category constants
 */
export const C5A_2XLARGE_ON_DEMAND = 0.308

/**
 * Dataset options of the shipped model.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultDatasetOptions = {
  horizonHours: 24,
  stepHours: 1,
  switchCostHours: 0.5,
  interruptionCostHours: 1,
  onDemandPrice: C5A_2XLARGE_ON_DEMAND,
  seed: 1
} as const

/**
 * Where the training prices came from.
 *
 * @since 0.1.0
 * @category models
 */
export interface PriceSource {
  readonly kind: "price-history" | "generated"
  readonly description: string
  /** sha256 of the file's bytes, or of the generator's parameters. */
  readonly sha256: string
  readonly points: ReadonlyArray<Dataset.PricePoint>
}

/**
 * Prices from a spot price history export (CSV or JSON text).
 *
 * @since 0.1.0
 * @category sources
 */
export const historySource = (text: string, description: string): PriceSource => {
  const rows = PriceHistorySource.parse(text)
  if (Either.isLeft(rows)) throw new Error(`cannot parse ${description}: ${rows.left.message}`)
  return {
    kind: "price-history",
    description,
    sha256: createHash("sha256").update(text).digest("hex"),
    points: Dataset.fromHistoryRows(rows.right)
  }
}

/**
 * Generated prices (no real history at hand).
 *
 * @since 0.1.0
 * @category sources
 */
export const generatedSource = (seed = 7, days = 60): PriceSource => ({
  kind: "generated",
  description: `generated: 5 pools × ${days} days, seed ${seed}`,
  sha256: createHash("sha256").update(`generated:${seed}:${days}`).digest("hex"),
  points: Dataset.generatePrices({ seed, days })
})

/**
 * The interruption data a dataset was built with, as the card records it: the feed's name and
 * sha256, and the band it gave each pool of the dataset (null: the feed does not know the pool).
 *
 * @since 0.2.0
 * @category models
 */
export interface InterruptionSource {
  readonly kind: "spot-advisor"
  readonly description: string
  readonly sha256: string
  readonly bands: Readonly<Record<string, number | null>>
}

/**
 * What the card records of the interruption data behind a dataset.
 *
 * @since 0.2.0
 * @category sources
 */
export const interruptionSource = (
  loaded: { readonly table: InterruptionData.Table; readonly description: string; readonly sha256: string },
  pools: ReadonlyArray<string>
): InterruptionSource => ({
  kind: "spot-advisor",
  description: loaded.description,
  sha256: loaded.sha256,
  bands: Object.fromEntries([...new Set(pools)].sort().map((pool) => [
    pool,
    Option.getOrNull(Option.map(
      Option.flatMap(InterruptionData.keyOfPool(pool), (key) => InterruptionData.lookupIn(loaded.table, key)),
      (i) => i.band
    ))
  ]))
})

/**
 * The card written beside a trained model.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelCard {
  readonly name: string
  readonly version: string
  readonly digest: string
  readonly layoutVersion: number
  readonly featureNames: ReadonlyArray<string>
  readonly source: { readonly kind: string; readonly description: string; readonly sha256: string }
  readonly dataset: Readonly<Record<string, number | null>>
  /** The interruption data the dataset's bands came from (null: none, every band unknown). */
  readonly interruptions?: InterruptionSource | null | undefined
  readonly holdoutFraction: number
  /** Decision times ≥ cutoff are the hold-out set. */
  readonly cutoff: number
  readonly weights: ReadonlyArray<number>
  readonly bias: number
  readonly train: Trainer.Report
  readonly holdout: Trainer.Report
}

/**
 * Splits, trains and evaluates; returns the ONNX bytes and the card.
 *
 * @since 0.1.0
 * @category pipeline
 */
export const trainAndExport = (args: {
  readonly name: string
  readonly version: string
  readonly examples: ReadonlyArray<Dataset.Example>
  readonly source: { readonly kind: string; readonly description: string; readonly sha256: string }
  readonly dataset: Readonly<Record<string, number | null>>
  readonly interruptions?: InterruptionSource | null | undefined
  readonly holdoutFraction?: number | undefined
  readonly train?: Trainer.TrainOptions | undefined
}): {
  readonly onnx: Uint8Array
  readonly card: ModelCard
  readonly model: Trainer.LinearModel
  readonly holdout: ReadonlyArray<Dataset.Example>
} => {
  const fraction = args.holdoutFraction ?? 0.2
  const split = Trainer.splitByTime(args.examples, fraction)
  const model = Trainer.train(split.train, args.train)
  const onnx = Trainer.toOnnx(model, { "spotfleet.model": `${args.name}@${args.version}` })
  return {
    onnx,
    model,
    holdout: split.holdout,
    card: {
      name: args.name,
      version: args.version,
      digest: digestOf(onnx),
      layoutVersion: FeatureLayout.VERSION,
      featureNames: [...FeatureLayout.NAMES],
      source: { kind: args.source.kind, description: args.source.description, sha256: args.source.sha256 },
      dataset: args.dataset,
      interruptions: args.interruptions ?? null,
      holdoutFraction: fraction,
      cutoff: split.cutoff,
      weights: model.weights,
      bias: model.bias,
      train: Trainer.evaluate(model, split.train),
      holdout: Trainer.evaluate(model, split.holdout)
    }
  }
}
