/**
 * `spotfleet ml`: the training pipeline (docs/DESIGN.md, "Decision models").
 *
 * - `spotfleet ml export-dataset --history <file> --out <dir> [--format csv|jsonl] [--window-days 90] [--horizon-hours 24]`
 *   writes `dataset.<format>` and `manifest.json` (features + labels; `--generated` when no history is at hand);
 *   `--pool` (repeat) keeps only those pools of the source;
 * - `spotfleet ml train --dataset <dir> --out <model.onnx> [--name switch-decision] [--model-version 2] [--holdout 0.2]`
 *   trains a logistic regression, prints accuracy, precision/recall and calibration on a time-based hold-out
 *   split, and writes the ONNX file with its model card (`<model>.json`);
 * - `--from-store` on export-dataset reads the canonical tier of the configured store (`MYSQL_URL`)
 *   over the window instead of a history file (default pools: every pool with snapshots or runs in
 *   the window);
 * - `--register` on train validates the written model and registers it as a new version (status
 *   `registered`) in the configured store's registry, its artifact copied to `SPOTFLEET_MODEL_DIR`.
 *   The store is reached, and the version checked to be new, before training starts.
 *
 * The definitions here are light; the work (MySQL, onnxruntime) is loaded when a command runs
 * (MlTasks.ts), so `--help` and a bad option answer quickly.
 */
import { Command, Options } from "@effect/cli"
import * as Effect from "effect/Effect"
import * as CliOptions from "./CliOptions.js"

/** The shipped default model's name (the registry's `switch-decision`), kept here so --help needs no model code. */
const DEFAULT_MODEL_NAME = "switch-decision"
/** The on-demand price of c5a.2xlarge in us-east-1 (Linux), the default baseline of the labels. */
const C5A_2XLARGE_ON_DEMAND = 0.308

const tasks = () => Effect.promise(() => import("./MlTasks.js"))

/** The options of `spotfleet ml export-dataset`. */
export const exportDatasetOptions = {
  history: Options.file("history").pipe(
    Options.withDescription("spot price history export (CSV or JSON, as from describe-spot-price-history)"),
    Options.optional
  ),
  generated: Options.boolean("generated").pipe(Options.withDescription("use generated prices instead of a history file")),
  fromStore: Options.boolean("from-store").pipe(
    Options.withDescription("read the canonical tier of the store at MYSQL_URL over the window (ending now, or at --to)")
  ),
  pool: Options.text("pool").pipe(
    Options.withDescription("a pool to keep (repeat); default every pool of the source (with --from-store: every pool with snapshots in the window)"),
    Options.repeated
  ),
  to: Options.text("to").pipe(Options.withDescription("with --from-store: window end (epoch ms or ISO-8601; default now)"), Options.optional),
  out: Options.directory("out").pipe(Options.withDescription("output directory")),
  format: CliOptions.choice("format", ["csv", "jsonl"]).pipe(Options.withDefault("csv" as const)),
  windowDays: CliOptions.integer("window-days").pipe(Options.withDescription("days before the newest price"), Options.withDefault(90)),
  horizonHours: CliOptions.integer("horizon-hours").pipe(Options.withDefault(24)),
  onDemand: CliOptions.float("on-demand-price").pipe(Options.withDefault(C5A_2XLARGE_ON_DEMAND)),
  seed: CliOptions.integer("seed").pipe(Options.withDefault(1)),
  interruptions: Options.text("interruptions").pipe(
    Options.withDescription(
      "the AWS Spot Instance Advisor feed (spot-advisor-data.json) as a file or an http(s) URL: each candidate's interruption band and rate; without it every band is unknown"
    ),
    Options.optional
  )
}

const exportDataset = Command.make("export-dataset", exportDatasetOptions, (args) =>
  Effect.flatMap(tasks(), (t) => t.exportDataset(args))).pipe(
    Command.withDescription("export features + labels from a price history, with a manifest")
  )

/** The options of `spotfleet ml train`. */
export const trainOptions = {
  dataset: Options.directory("dataset").pipe(Options.withDescription("a directory written by export-dataset")),
  out: Options.file("out").pipe(Options.withDescription("the ONNX file to write (its card goes beside it as .json)")),
  name: Options.text("name").pipe(Options.withDefault(DEFAULT_MODEL_NAME)),
  version: Options.text("model-version").pipe(Options.withDefault("2")),
  holdout: CliOptions.float("holdout").pipe(Options.withDescription("fraction of the latest decision times held out"), Options.withDefault(0.2)),
  epochs: CliOptions.integer("epochs").pipe(Options.withDefault(400)),
  register: Options.boolean("register").pipe(
    Options.withDescription("register the model as a new version in the registry of the store at MYSQL_URL (status registered); checked before training")
  ),
  threshold: CliOptions.float("confidence-threshold").pipe(Options.withDescription("with --register (default 0.70)"), Options.optional)
}

const train = Command.make("train", trainOptions, (args) => Effect.flatMap(tasks(), (t) => t.train(args))).pipe(
  Command.withDescription("train a logistic regression on an exported dataset and write it as ONNX")
)

/**
 * The `ml` command group.
 */
export const mlCommand = Command.make("ml").pipe(
  Command.withDescription("decision model training pipeline"),
  Command.withSubcommands([exportDataset, train])
)
