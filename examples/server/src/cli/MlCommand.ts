/**
 * `spotfleet ml`: the training pipeline (DESIGN.md §7).
 *
 * - `spotfleet ml export-dataset --history <file> --out <dir> [--format csv|jsonl] [--window-days 90] [--horizon-hours 24]`
 *   writes `dataset.<format>` and `manifest.json` (features + labels; `--generated` when no history is at hand);
 * - `spotfleet ml train --dataset <dir> --out <model.onnx> [--name switch-decision] [--model-version 2] [--holdout 0.2]`
 *   trains a logistic regression, prints accuracy, precision/recall and calibration on a time-based hold-out
 *   split, and writes the ONNX file with its model card (`<model>.json`);
 * - `--from-store` on export-dataset reads the canonical tier of the configured store (`MYSQL_URL`)
 *   over the window instead of a history file (`--pool` to choose pools; default: every pool with
 *   snapshots or runs in the window);
 * - `--register` on train validates the written model and registers it as a new version (status
 *   `registered`) in the configured store's registry, its artifact copied to `SPOTFLEET_MODEL_DIR`.
 */
import { Command, Options } from "@effect/cli"
import * as MysqlClient from "@effect/sql-mysql2/MysqlClient"
import { MysqlMigrations, MysqlModelRegistry, MysqlStore } from "@spotfleet/adapter-mysql"
import { ModelRegistry, PriceStore } from "@spotfleet/engine"
import { ArtifactStore, Dataset, OnnxDecisionModel, Pipeline, Trainer } from "@spotfleet/ml-onnx"
import { Config, Console, Effect, Layer, Option, Redacted } from "effect"
import * as ServerModels from "../ServerModels.js"
import { createHash } from "node:crypto"
import { createWriteStream } from "node:fs"
import { mkdir, readFile, writeFile } from "node:fs/promises"
import * as path from "node:path"

const DAY = 86_400_000

/** A progress bar on stderr (a plain line per 10% when stderr is not a terminal). */
const progress = (label: string) => {
  let last = -1
  return (done: number, total: number) => {
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100)
    if (process.stderr.isTTY) {
      const filled = Math.round(pct / 4)
      process.stderr.write(`\r${label} [${"#".repeat(filled)}${".".repeat(25 - filled)}] ${pct}% (${done}/${total})`)
      if (done === total) process.stderr.write("\n")
    } else if (Math.floor(pct / 10) !== last) {
      last = Math.floor(pct / 10)
      process.stderr.write(`${label} ${pct}% (${done}/${total})\n`)
    }
  }
}

/** The store at `MYSQL_URL` (migrated) with its registry; a command that needs it fails without it. */
const configuredStore = Layer.unwrapEffect(
  Effect.gen(function*() {
    const url = Option.filter(yield* Config.option(Config.redacted("MYSQL_URL")), (u) => Redacted.value(u).trim() !== "")
    if (Option.isNone(url)) return yield* Effect.fail(new Error("MYSQL_URL is not set: --from-store and --register need the server's store"))
    return Layer.merge(MysqlStore.layer, MysqlModelRegistry.layer).pipe(
      Layer.provide(MysqlMigrations.layer.pipe(Layer.provideMerge(MysqlClient.layer({ url: url.value }))))
    )
  })
).pipe(Layer.mapError((e): Error => (e instanceof Error ? e : new Error(String(e)))))

/** Canonical points of pools over a window, as dataset price points (newest pool list from the store). */
const canonicalSource = (args: { readonly pools: ReadonlyArray<string>; readonly from: number; readonly to: number }) =>
  Effect.gen(function*() {
    const store = yield* PriceStore.PriceStore
    let pools = args.pools
    if (pools.length === 0) pools = yield* store.snapshotPools({ from: args.from, to: args.to })
    const points: Array<Dataset.PricePoint> = []
    const bar = progress("reading")
    for (const [i, pool] of pools.entries()) {
      bar(i, pools.length)
      points.push(...Dataset.fromCanonical(yield* store.canonical({ pool: pool as never, from: args.from, to: args.to })))
    }
    bar(pools.length, pools.length)
    if (points.length === 0) return yield* Effect.fail(new Error(`no canonical prices in the store for ${pools.length} pools in the window`))
    const digest = createHash("sha256").update(JSON.stringify(points)).digest("hex")
    return {
      kind: "canonical" as const,
      description: `canonical tier ${new Date(args.from).toISOString()} … ${new Date(args.to).toISOString()}, ${pools.length} pools`,
      sha256: digest,
      points
    }
  })

const exportDataset = Command.make(
  "export-dataset",
  {
    history: Options.file("history").pipe(
      Options.withDescription("spot price history export (CSV or JSON, as from describe-spot-price-history)"),
      Options.optional
    ),
    generated: Options.boolean("generated").pipe(Options.withDescription("use generated prices instead of a history file")),
    fromStore: Options.boolean("from-store").pipe(
      Options.withDescription("read the canonical tier of the store at MYSQL_URL over the window (ending now, or at --to)")
    ),
    pool: Options.text("pool").pipe(Options.withDescription("with --from-store: a pool to read (repeat); default every pool with snapshots in the window"), Options.repeated),
    to: Options.text("to").pipe(Options.withDescription("with --from-store: window end (epoch ms or ISO-8601; default now)"), Options.optional),
    out: Options.directory("out").pipe(Options.withDescription("output directory")),
    format: Options.choice("format", ["csv", "jsonl"]).pipe(Options.withDefault("csv" as const)),
    windowDays: Options.integer("window-days").pipe(Options.withDescription("days before the newest price"), Options.withDefault(90)),
    horizonHours: Options.integer("horizon-hours").pipe(Options.withDefault(24)),
    onDemand: Options.float("on-demand-price").pipe(Options.withDefault(Pipeline.C5A_2XLARGE_ON_DEMAND)),
    seed: Options.integer("seed").pipe(Options.withDefault(1))
  },
  (args) =>
    Effect.gen(function*() {
      const history = args.history
      const source: Pipeline.PriceSource | { readonly kind: "canonical"; readonly description: string; readonly sha256: string; readonly points: ReadonlyArray<Dataset.PricePoint> } =
        args.fromStore
          ? yield* Effect.gen(function*() {
            const to = Option.isSome(args.to) ? (/^\d+$/.test(args.to.value) ? Number(args.to.value) : Date.parse(args.to.value)) : Date.now()
            if (!Number.isFinite(to)) return yield* Effect.fail(new Error(`--to: not a time: ${Option.getOrElse(args.to, () => "")}`))
            return yield* canonicalSource({ pools: args.pool, from: to - args.windowDays * DAY, to }).pipe(
              Effect.provide(configuredStore),
              Effect.mapError((e): Error => (e instanceof Error ? e : new Error(String(e))))
            )
          })
          : Option.isSome(history)
          ? Pipeline.historySource(yield* Effect.promise(() => readFile(history.value, "utf8")), path.basename(history.value))
          : args.generated
          ? Pipeline.generatedSource()
          : yield* Effect.fail(new Error("give --history <file>, --from-store or --generated"))
      const newest = source.points.reduce((m, p) => Math.max(m, p.time), -Infinity)
      const options = {
        ...Pipeline.defaultDatasetOptions,
        horizonHours: args.horizonHours,
        onDemandPrice: args.onDemand,
        seed: args.seed,
        from: newest - args.windowDays * DAY
      }
      const examples = Dataset.build(source.points, { ...options, onProgress: progress("building") })
      yield* Effect.promise(() => mkdir(args.out, { recursive: true }))
      const file = `dataset.${args.format}`
      const hash = createHash("sha256")
      yield* Effect.promise(() =>
        new Promise<void>((resolve, reject) => {
          const stream = createWriteStream(path.join(args.out, file))
          stream.on("error", reject)
          const write = (line: string) => {
            hash.update(line + "\n")
            stream.write(line + "\n")
          }
          if (args.format === "csv") write(Dataset.csvHeader)
          const bar = progress("writing")
          for (const [i, e] of examples.entries()) {
            write(args.format === "csv" ? Dataset.toCsvLine(e) : Dataset.toJsonLine(e))
            if (i % 5000 === 0) bar(i, examples.length)
          }
          bar(examples.length, examples.length)
          stream.end(resolve)
        })
      )
      const manifest: Dataset.Manifest = {
        layoutVersion: 1,
        width: examples[0]?.features.length ?? 0,
        featureNames: [...Dataset.csvHeader.split(",").slice(4, -3)],
        label: `switching at t to the candidate saves more than the switch cost over the next ${args.horizonHours} h`,
        source: `${source.kind}: ${source.description} (sha256 ${source.sha256})`,
        options: { ...options },
        window: { from: options.from, to: newest },
        pools: [...new Set(source.points.map((p) => p.pool))].sort(),
        examples: examples.length,
        positives: examples.filter((e) => e.label === 1).length,
        format: args.format,
        file,
        sha256: hash.digest("hex")
      }
      yield* Effect.promise(() => writeFile(path.join(args.out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n"))
      yield* Console.log(`${examples.length} examples (${manifest.positives} positive) → ${path.join(args.out, file)}, manifest.json`)
    })
).pipe(Command.withDescription("export features + labels from a price history, with a manifest"))

const train = Command.make(
  "train",
  {
    dataset: Options.directory("dataset").pipe(Options.withDescription("a directory written by export-dataset")),
    out: Options.file("out").pipe(Options.withDescription("the ONNX file to write (its card goes beside it as .json)")),
    name: Options.text("name").pipe(Options.withDefault(OnnxDecisionModel.defaultModel.name)),
    version: Options.text("model-version").pipe(Options.withDefault("2")),
    holdout: Options.float("holdout").pipe(Options.withDescription("fraction of the latest decision times held out"), Options.withDefault(0.2)),
    epochs: Options.integer("epochs").pipe(Options.withDefault(400)),
    register: Options.boolean("register").pipe(
      Options.withDescription("register the model as a new version in the registry of the store at MYSQL_URL (status registered)")
    ),
    threshold: Options.float("confidence-threshold").pipe(Options.withDescription("with --register (default 0.70)"), Options.optional)
  },
  (args) =>
    Effect.gen(function*() {
      const manifest = JSON.parse(yield* Effect.promise(() => readFile(path.join(args.dataset, "manifest.json"), "utf8"))) as Dataset.Manifest
      const text = yield* Effect.promise(() => readFile(path.join(args.dataset, manifest.file), "utf8"))
      const examples = Dataset.parse(text, manifest.format)
      yield* Console.log(`${examples.length} examples from ${manifest.source}`)
      const result = Pipeline.trainAndExport({
        name: args.name,
        version: args.version,
        examples,
        source: { kind: "dataset", description: manifest.source, sha256: manifest.sha256 },
        dataset: manifest.options,
        holdoutFraction: args.holdout,
        train: { epochs: args.epochs }
      })
      yield* Effect.promise(() => writeFile(args.out, result.onnx))
      yield* Effect.promise(() => writeFile(args.out.replace(/\.onnx$/, "") + ".json", JSON.stringify(result.card, null, 2) + "\n"))
      // Load it back through onnxruntime: the file must pass the same checks as at registration.
      yield* Effect.scoped(OnnxDecisionModel.make({ name: args.name, version: args.version, source: { bytes: result.onnx } })).pipe(
        Effect.mapError((e) => new Error(e.message))
      )
      yield* Console.log(`hold-out from ${new Date(result.card.cutoff).toISOString()}:\n${Trainer.formatReport(result.card.holdout)}`)
      yield* Console.log(`wrote ${args.out} (${result.onnx.length} bytes, ${result.card.digest})`)
      if (args.register) {
        const registered = yield* Effect.gen(function*() {
          const registry = yield* ModelRegistry.ModelRegistry
          const v = yield* OnnxDecisionModel.register(registry, {
            name: args.name,
            version: args.version,
            source: { bytes: result.onnx },
            confidenceThreshold: Option.getOrUndefined(args.threshold)
          })
          // Where the server's model loader finds it (content-addressed by digest).
          yield* ArtifactStore.make(yield* ServerModels.modelDir).save(result.onnx)
          return v
        }).pipe(
          Effect.provide(configuredStore),
          Effect.mapError((e): Error => (e instanceof Error ? e : new Error(String(e))))
        )
        yield* Console.log(`registered ${registered.name}@${registered.version} (${registered.status}, ${registered.artifactDigest})`)
      }
    })
).pipe(Command.withDescription("train a logistic regression on an exported dataset and write it as ONNX"))

/**
 * The `ml` command group.
 */
export const mlCommand = Command.make("ml").pipe(
  Command.withDescription("decision model training pipeline"),
  Command.withSubcommands([exportDataset, train])
)
