/**
 * The work behind `spotfleet ml export-dataset` and `spotfleet ml train` (see MlCommand.ts),
 * loaded only when one of them runs. Every failure is a {@link CliFailure} in words.
 */
import * as MysqlClient from "@effect/sql-mysql2/MysqlClient"
import { MysqlFailure, MysqlMigrations, MysqlModelRegistry, MysqlStore } from "@spotfleet/adapter-mysql"
import { ModelRegistry, PriceStore } from "@spotfleet/engine"
import { ArtifactStore, Dataset, OnnxDecisionModel, Pipeline, SpotAdvisor, Trainer } from "@spotfleet/ml-onnx"
import { Cause, Config, Console, Context, Effect, Layer, Option, Redacted } from "effect"
import { createHash } from "node:crypto"
import { createWriteStream } from "node:fs"
import { mkdir, readFile, writeFile } from "node:fs/promises"
import * as path from "node:path"
import * as ModelDir from "../ModelDir.js"
import { CliFailure, parseTime } from "./CliOptions.js"

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

/** The message of anything thrown or failed, in one line. */
const messageOf = (e: unknown): string => {
  const m = e instanceof Error ? e.message : typeof (e as { message?: unknown })?.message === "string" ? (e as { message: string }).message : String(e)
  return m.split("\n")[0] ?? m
}

const readText = (file: string, what: string) =>
  Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (e) => new CliFailure(`cannot read ${what} ${file}: ${(e as { code?: string }).code === "ENOENT" ? "no such file" : messageOf(e)}`)
  })

const write = (file: string, data: string | Uint8Array) =>
  Effect.tryPromise({ try: () => writeFile(file, data), catch: (e) => new CliFailure(`cannot write ${file}: ${messageOf(e)}`) })

/** The MySQL URL a command needs, or a failure naming the option that needs it. */
const requireUrl = (needs: string) =>
  Effect.gen(function*() {
    const url = Option.filter(yield* Config.option(Config.redacted("MYSQL_URL")).pipe(Effect.orDie), (u) => Redacted.value(u).trim() !== "")
    if (Option.isNone(url)) {
      return yield* Effect.fail(new CliFailure(`MYSQL_URL is not set — ${needs} needs the server's store: set MYSQL_URL=mysql://user:password@host:3306/database`))
    }
    return url.value
  })

/** The store at `url` (migrated) with its registry; a failure to reach it is said in one line. */
const storeLayer = (url: Redacted.Redacted<string>) =>
  Layer.merge(MysqlStore.layer, MysqlModelRegistry.layer).pipe(
    Layer.provide(MysqlMigrations.layer.pipe(Layer.provideMerge(MysqlClient.layer({ url })))),
    Layer.catchAllCause((cause) =>
      Layer.fail(new CliFailure(MysqlFailure.explain(cause, { url }) ?? `cannot open the store at MYSQL_URL: ${messageOf(Cause.squash(cause))}`))
    )
  )

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
    if (points.length === 0) return yield* Effect.fail(new CliFailure(`no canonical prices in the store for ${pools.length} pools in the window`))
    const digest = createHash("sha256").update(JSON.stringify(points)).digest("hex")
    return {
      kind: "canonical" as const,
      description: `canonical tier ${new Date(args.from).toISOString()} … ${new Date(args.to).toISOString()}, ${pools.length} pools`,
      sha256: digest,
      points
    }
  }).pipe(Effect.mapError((e) => (e instanceof CliFailure ? e : new CliFailure(`reading the canonical tier failed: ${messageOf(e)}`))))

interface Source {
  readonly kind: string
  readonly description: string
  readonly sha256: string
  readonly points: ReadonlyArray<Dataset.PricePoint>
}

/** The source's points of the chosen pools; every chosen pool must be in the source. */
const onlyPools = (source: Source, pools: ReadonlyArray<string>): Effect.Effect<Source, CliFailure> => {
  if (pools.length === 0) return Effect.succeed(source)
  const present = new Set(source.points.map((p) => p.pool as string))
  const missing = pools.filter((p) => !present.has(p))
  if (missing.length > 0) {
    return Effect.fail(
      new CliFailure(`--pool ${missing.join(", ")}: not in the source (its pools: ${[...present].sort().join(", ")})`)
    )
  }
  const keep = new Set(pools)
  return Effect.succeed({
    ...source,
    description: `${source.description}, pools ${[...keep].sort().join(", ")}`,
    points: source.points.filter((p) => keep.has(p.pool))
  })
}

/** `spotfleet ml export-dataset`. */
export const exportDataset = (args: {
  readonly history: Option.Option<string>
  readonly generated: boolean
  readonly fromStore: boolean
  readonly pool: ReadonlyArray<string>
  readonly to: Option.Option<string>
  readonly out: string
  readonly format: "csv" | "jsonl"
  readonly windowDays: number
  readonly horizonHours: number
  readonly onDemand: number
  readonly seed: number
  readonly interruptions: Option.Option<string>
}) =>
  Effect.gen(function*() {
    const chosen = [Option.isSome(args.history), args.generated, args.fromStore].filter(Boolean).length
    if (chosen === 0) return yield* Effect.fail(new CliFailure("no price source — give --history <file>, --from-store or --generated"))
    if (chosen > 1) return yield* Effect.fail(new CliFailure("give one price source: --history <file>, --from-store or --generated"))
    if (args.windowDays <= 0) return yield* Effect.fail(new CliFailure(`--window-days: must be at least 1, got ${args.windowDays}`))
    if (args.horizonHours <= 0) return yield* Effect.fail(new CliFailure(`--horizon-hours: must be at least 1, got ${args.horizonHours}`))
    let source: Source
    if (args.fromStore) {
      const to = Option.isSome(args.to) ? yield* parseTime("to", args.to.value) : Date.now()
      const url = yield* requireUrl("--from-store")
      source = yield* canonicalSource({ pools: args.pool, from: to - args.windowDays * DAY, to }).pipe(Effect.provide(storeLayer(url)))
    } else if (Option.isSome(args.history)) {
      const file = args.history.value
      const text = yield* readText(file, "the price history")
      const parsed = yield* Effect.try({
        try: () => Pipeline.historySource(text, path.basename(file)),
        catch: (e) => new CliFailure(messageOf(e))
      })
      source = yield* onlyPools(parsed, args.pool)
    } else {
      source = yield* onlyPools(Pipeline.generatedSource(), args.pool)
    }
    if (source.points.length === 0) return yield* Effect.fail(new CliFailure("the source has no prices"))
    const newest = source.points.reduce((m, p) => Math.max(m, p.time), -Infinity)
    const options = {
      ...Pipeline.defaultDatasetOptions,
      horizonHours: args.horizonHours,
      onDemandPrice: args.onDemand,
      seed: args.seed,
      from: newest - args.windowDays * DAY
    }
    const loaded = Option.isNone(args.interruptions)
      ? null
      : yield* (/^https?:\/\//.test(args.interruptions.value)
        ? SpotAdvisor.fromUrl(args.interruptions.value)
        : SpotAdvisor.fromFile(args.interruptions.value)).pipe(Effect.mapError((e) => new CliFailure(`--interruptions: ${e.message}`)))
    const interruptions = loaded === null ? null : Pipeline.interruptionSource(loaded, source.points.map((p) => p.pool))
    const examples = Dataset.build(source.points, { ...options, onProgress: progress("building") }, loaded?.table)
    if (examples.length === 0) {
      return yield* Effect.fail(new CliFailure(`no examples: the window (${args.windowDays} days) and horizon (${args.horizonHours} h) leave no decision time in the source`))
    }
    yield* Effect.tryPromise({ try: () => mkdir(args.out, { recursive: true }), catch: (e) => new CliFailure(`cannot create ${args.out}: ${messageOf(e)}`) })
    const file = `dataset.${args.format}`
    const hash = createHash("sha256")
    yield* Effect.tryPromise({
      try: () =>
        new Promise<void>((resolve, reject) => {
          const stream = createWriteStream(path.join(args.out, file))
          stream.on("error", reject)
          const line = (text: string) => {
            hash.update(text + "\n")
            stream.write(text + "\n")
          }
          if (args.format === "csv") line(Dataset.csvHeader)
          const bar = progress("writing")
          for (const [i, e] of examples.entries()) {
            line(args.format === "csv" ? Dataset.toCsvLine(e) : Dataset.toJsonLine(e))
            if (i % 5000 === 0) bar(i, examples.length)
          }
          bar(examples.length, examples.length)
          stream.end(resolve)
        }),
      catch: (e) => new CliFailure(`cannot write ${path.join(args.out, file)}: ${messageOf(e)}`)
    })
    // The generator's description already starts with its kind ("generated: …").
    const described = source.description.startsWith(`${source.kind}:`) ? source.description : `${source.kind}: ${source.description}`
    const manifest: Dataset.Manifest = {
      layoutVersion: 1,
      width: examples[0]?.features.length ?? 0,
      featureNames: [...Dataset.csvHeader.split(",").slice(4, -3)],
      label: `switching at t to the candidate saves more than the switch cost over the next ${args.horizonHours} h`,
      source: `${described} (sha256 ${source.sha256})`,
      options: { ...options },
      interruptions,
      window: { from: options.from, to: newest },
      pools: [...new Set(source.points.map((p) => p.pool))].sort(),
      examples: examples.length,
      positives: examples.filter((e) => e.label === 1).length,
      format: args.format,
      file,
      sha256: hash.digest("hex")
    }
    yield* write(path.join(args.out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n")
    yield* Console.log(`${examples.length} examples (${manifest.positives} positive) → ${path.join(args.out, file)}, manifest.json`)
  })

/** `spotfleet ml train`. */
export const train = (args: {
  readonly dataset: string
  readonly out: string
  readonly name: string
  readonly version: string
  readonly holdout: number
  readonly epochs: number
  readonly register: boolean
  readonly threshold: Option.Option<number>
}) =>
  Effect.scoped(Effect.gen(function*() {
    if (!(args.holdout > 0 && args.holdout < 1)) return yield* Effect.fail(new CliFailure(`--holdout: must be between 0 and 1, got ${args.holdout}`))
    if (args.epochs <= 0) return yield* Effect.fail(new CliFailure(`--epochs: must be at least 1, got ${args.epochs}`))
    const threshold = Option.getOrUndefined(args.threshold)
    if (threshold !== undefined && !(threshold >= 0 && threshold <= 1)) {
      return yield* Effect.fail(new CliFailure(`--confidence-threshold: must be between 0 and 1, got ${threshold}`))
    }
    // --register: the store is reached and the version checked to be new before any training.
    const registry = args.register
      ? yield* Effect.gen(function*() {
        const url = yield* requireUrl("--register")
        const context = yield* Layer.build(storeLayer(url))
        const registry = Context.get(context, ModelRegistry.ModelRegistry)
        const existing = yield* registry.get(args.name, args.version).pipe(
          Effect.mapError((e) => new CliFailure(`cannot read the model registry: ${e.message}`))
        )
        if (Option.isSome(existing)) {
          return yield* Effect.fail(
            new CliFailure(`${args.name}@${args.version} is already registered (${existing.value.status}) — choose another --model-version`)
          )
        }
        return registry
      })
      : undefined
    const manifestFile = path.join(args.dataset, "manifest.json")
    const manifest = yield* readText(manifestFile, "the dataset manifest").pipe(
      Effect.flatMap((text) =>
        Effect.try({ try: () => JSON.parse(text) as Dataset.Manifest, catch: () => new CliFailure(`${manifestFile} is not JSON — export the dataset again`) })
      ),
      Effect.mapError((e) =>
        e.message.includes("no such file") ? new CliFailure(`${args.dataset} has no manifest.json — give a directory written by \`spotfleet ml export-dataset\``) : e
      )
    )
    const text = yield* readText(path.join(args.dataset, manifest.file), "the dataset")
    const examples = yield* Effect.try({ try: () => Dataset.parse(text, manifest.format), catch: (e) => new CliFailure(`cannot parse the dataset: ${messageOf(e)}`) })
    yield* Console.log(`${examples.length} examples from ${manifest.source}`)
    const result = yield* Effect.try({
      try: () =>
        Pipeline.trainAndExport({
          name: args.name,
          version: args.version,
          examples,
          source: { kind: "dataset", description: manifest.source, sha256: manifest.sha256 },
          dataset: manifest.options,
          interruptions: manifest.interruptions ?? null,
          holdoutFraction: args.holdout,
          train: { epochs: args.epochs }
        }),
      catch: (e) => new CliFailure(`training failed: ${messageOf(e)}`)
    })
    yield* write(args.out, result.onnx)
    yield* write(args.out.replace(/\.onnx$/, "") + ".json", JSON.stringify(result.card, null, 2) + "\n")
    // Load it back through onnxruntime: the file must pass the same checks as at registration.
    yield* Effect.scoped(OnnxDecisionModel.make({ name: args.name, version: args.version, source: { bytes: result.onnx } })).pipe(
      Effect.mapError((e) => new CliFailure(`the written model does not load: ${e.message}`))
    )
    yield* Console.log(`hold-out from ${new Date(result.card.cutoff).toISOString()}:\n${Trainer.formatReport(result.card.holdout)}`)
    yield* Console.log(`wrote ${args.out} (${result.onnx.length} bytes, ${result.card.digest})`)
    if (registry !== undefined) {
      const v = yield* OnnxDecisionModel.register(registry, {
        name: args.name,
        version: args.version,
        source: { bytes: result.onnx },
        confidenceThreshold: threshold
      }).pipe(Effect.mapError((e) => new CliFailure(`registration failed: ${messageOf(e)}`)))
      // Where the server's model loader finds it (content-addressed by digest).
      const dir = yield* ModelDir.modelDir
      yield* ArtifactStore.make(dir).save(result.onnx).pipe(
        Effect.mapError((e) => new CliFailure(`cannot save the artifact in ${dir} (SPOTFLEET_MODEL_DIR): ${messageOf(e)}`))
      )
      yield* Console.log(`registered ${v.name}@${v.version} (${v.status}, ${v.artifactDigest}); artifact in ${dir}`)
    }
  }))
