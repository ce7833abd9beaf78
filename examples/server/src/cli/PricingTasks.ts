/**
 * The work behind `spotfleet consolidate` and `spotfleet backfill` (see PricingCommand.ts), loaded
 * only when one of them runs. Every failure is a {@link CliFailure} in words.
 */
import * as MysqlClient from "@effect/sql-mysql2/MysqlClient"
import { MysqlFailure, MysqlMigrations, MysqlStore } from "@spotfleet/adapter-mysql"
import { ConsolidationJob, MemoryStore, PriceHistorySource } from "@spotfleet/engine"
import { Cause, Config, Console, Context, Effect, Layer, Option, Redacted } from "effect"
import * as HistoryFile from "../HistoryFile.js"
import { CliFailure, parseTime } from "./CliOptions.js"

/** A progress bar on stderr for the job's progress callback. */
const progressBar = (label: string) => {
  let lastDecile = -1
  return (p: ConsolidationJob.Progress) =>
    Effect.sync(() => {
      const pct = p.poolsTotal === 0 ? 100 : Math.floor((p.poolsDone / p.poolsTotal) * 100)
      const tail = `${pct}% (${p.poolsDone}/${p.poolsTotal} pools, ${p.snapshots} snapshots)`
      if (process.stderr.isTTY) {
        const filled = Math.round(pct / 4)
        process.stderr.write(`\r${label} [${"#".repeat(filled)}${".".repeat(25 - filled)}] ${tail}`)
        if (p.poolsDone >= p.poolsTotal) process.stderr.write("\n")
      } else if (Math.floor(pct / 10) !== lastDecile) {
        lastDecile = Math.floor(pct / 10)
        process.stderr.write(`${label} ${tail}\n`)
      }
    })
}

const optionalTime = (name: string, value: Option.Option<string>) =>
  Option.match(value, { onNone: () => Effect.succeed(undefined), onSome: (t) => parseTime(name, t) })

const messageOf = (e: unknown): string => {
  const m = e instanceof Error ? e.message : typeof (e as { message?: unknown })?.message === "string" ? (e as { message: string }).message : String(e)
  return m.split("\n")[0] ?? m
}

/** The store the job writes to: MySQL at `MYSQL_URL` (migrated), else (or with --dry-run) in memory. */
const storeLayer = (dryRun: boolean) =>
  Layer.unwrapEffect(
    Effect.gen(function*() {
      const url = dryRun ? Option.none() : yield* Config.option(Config.redacted("MYSQL_URL")).pipe(Effect.orDie)
      const usable = Option.filter(url, (u) => Redacted.value(u).trim() !== "")
      if (Option.isNone(usable)) {
        yield* Console.error(dryRun ? "dry run: in-memory store, nothing is kept" : "MYSQL_URL not set: dry run on an in-memory store, nothing is kept")
        return MemoryStore.layer
      }
      return MysqlStore.layer.pipe(
        Layer.provide(MysqlMigrations.layer.pipe(Layer.provideMerge(MysqlClient.layer({ url: usable.value })))),
        Layer.catchAllCause((cause) =>
          Layer.fail(new CliFailure(MysqlFailure.explain(cause, { url: usable.value }) ?? `cannot open the store at MYSQL_URL: ${messageOf(Cause.squash(cause))}`))
        )
      )
    })
  )

/** Runs the job once with the given source (if any) and prints the ledger entry. */
const runOnce = (
  label: string,
  args: { readonly fill: "step" | "linear"; readonly dryRun: boolean },
  window: { readonly from: number | undefined; readonly to: number | undefined },
  source: Layer.Layer<PriceHistorySource.PriceHistorySource, PriceHistorySource.PriceHistoryError> | null
) =>
  Effect.gen(function*() {
    const job = yield* ConsolidationJob.make({ fillPolicy: args.fill })
    const run = yield* job.run({ from: window.from, to: window.to, onProgress: progressBar(label) })
    yield* Console.log(JSON.stringify(run, null, 2))
    if (run.status !== "succeeded") return yield* Effect.fail(new CliFailure(`consolidation ${run.status}: ${run.error ?? ""}`))
    return run
  }).pipe(
    Effect.provide(source === null ? Layer.empty : source),
    Effect.provide(storeLayer(args.dryRun)),
    Effect.mapError((e): CliFailure => (e instanceof CliFailure ? e : new CliFailure(messageOf(e))))
  )

/** `spotfleet consolidate`. */
export const consolidate = (args: {
  readonly from: Option.Option<string>
  readonly to: Option.Option<string>
  readonly fill: "step" | "linear"
  readonly dryRun: boolean
}) =>
  Effect.gen(function*() {
    const from = yield* optionalTime("from", args.from)
    const to = yield* optionalTime("to", args.to)
    yield* runOnce("consolidate", args, { from, to }, null)
  })

/** `spotfleet backfill`. */
export const backfill = (args: {
  readonly from: Option.Option<string>
  readonly to: Option.Option<string>
  readonly fill: "step" | "linear"
  readonly dryRun: boolean
  readonly file: ReadonlyArray<string>
  readonly product: string
}) =>
  Effect.gen(function*() {
    const source = HistoryFile.layer(args.file, { productDescription: args.product })
    // The export's time range is the default window.
    const built = yield* Layer.build(source).pipe(Effect.mapError((e) => new CliFailure(e.reason)))
    const history = Context.get(built, PriceHistorySource.PriceHistorySource)
    const pools = yield* history.pools.pipe(Effect.mapError((e) => new CliFailure(e.reason)))
    let first = Infinity, last = -Infinity
    for (const pool of pools) {
      for (const r of yield* history.history(pool, -8.64e15, 8.64e15).pipe(Effect.mapError((e) => new CliFailure(e.reason)))) {
        if (r.observedAt < first) first = r.observedAt
        if (r.observedAt > last) last = r.observedAt
      }
    }
    if (pools.length === 0) return yield* Effect.fail(new CliFailure(`no ${args.product} rows in ${args.file.join(", ")}`))
    yield* Console.error(`backfill: ${pools.length} pools from ${new Date(first).toISOString()} to ${new Date(last).toISOString()}`)
    const from = (yield* optionalTime("from", args.from)) ?? first
    const to = (yield* optionalTime("to", args.to)) ?? last + 1
    yield* runOnce("backfill", args, { from, to }, Layer.succeedContext(built))
  }).pipe(Effect.scoped)
