/**
 * `spotfleet consolidate` and `spotfleet backfill`: the consolidation job (DESIGN.md §6) by hand.
 *
 * - `spotfleet consolidate [--from <time>] [--to <time>] [--fill step|linear] [--dry-run]` runs one
 *   consolidation over the window (default: the last 12 hours plus 1 hour of overlap);
 * - `spotfleet backfill --file <aws-export.csv|json> [--file …] [--from] [--to] [--fill] [--dry-run]`
 *   runs it with the export as the `PriceHistorySource`, over the export's time range by default:
 *   slots without agent data get the export's prices (`backfilled`, confidence 0.9).
 *
 * Both write to the MySQL/MariaDB database at `MYSQL_URL` (migrated first), or, without it or
 * with `--dry-run`, to an in-memory store that is discarded (a dry run: the counts are printed,
 * nothing is kept). Progress goes to stderr as a bar (one line per 10% when not a terminal);
 * the run's ledger entry goes to stdout as JSON.
 */
import { Command, Options } from "@effect/cli"
import * as MysqlClient from "@effect/sql-mysql2/MysqlClient"
import { MysqlMigrations, MysqlStore } from "@spotfleet/adapter-mysql"
import { ConsolidationJob, MemoryStore, PriceHistorySource } from "@spotfleet/engine"
import { Config, Console, Context, Effect, Layer, Option, Redacted } from "effect"
import * as HistoryFile from "../HistoryFile.js"

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

/** Epoch milliseconds or an ISO-8601 time. */
const parseTime = (name: string, text: string): Effect.Effect<number, Error> => {
  const n = /^\d+$/.test(text) ? Number(text) : Date.parse(text)
  return Number.isFinite(n) ? Effect.succeed(n) : Effect.fail(new Error(`--${name}: not a time (epoch ms or ISO-8601): ${text}`))
}
const optionalTime = (name: string, value: Option.Option<string>) =>
  Option.match(value, { onNone: () => Effect.succeed(undefined), onSome: (t) => parseTime(name, t) })

/** The store the job writes to: MySQL at `MYSQL_URL` (migrated), else (or with --dry-run) in memory. */
const storeLayer = (dryRun: boolean) =>
  Layer.unwrapEffect(
    Effect.gen(function*() {
      const url = dryRun ? Option.none() : yield* Config.option(Config.redacted("MYSQL_URL"))
      const usable = Option.filter(url, (u) => Redacted.value(u).trim() !== "")
      if (Option.isNone(usable)) {
        yield* Console.error(dryRun ? "dry run: in-memory store, nothing is kept" : "MYSQL_URL not set: dry run on an in-memory store, nothing is kept")
        return MemoryStore.layer
      }
      return MysqlStore.layer.pipe(Layer.provide(MysqlMigrations.layer.pipe(Layer.provideMerge(MysqlClient.layer({ url: usable.value })))))
    })
  )

const common = {
  from: Options.text("from").pipe(Options.withDescription("window start (epoch ms or ISO-8601)"), Options.optional),
  to: Options.text("to").pipe(Options.withDescription("window end, exclusive (epoch ms or ISO-8601)"), Options.optional),
  fill: Options.choice("fill", ["step", "linear"]).pipe(Options.withDefault("step" as const)),
  dryRun: Options.boolean("dry-run").pipe(Options.withDescription("run on an in-memory store even when MYSQL_URL is set"))
}

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
    if (run.status !== "succeeded") return yield* Effect.fail(new Error(`consolidation ${run.status}: ${run.error ?? ""}`))
    return run
  }).pipe(
    Effect.provide(source === null ? Layer.empty : source),
    Effect.provide(storeLayer(args.dryRun)),
    // Plain errors for the command line (and a nameable command type).
    Effect.mapError((e): Error => (e instanceof Error ? e : new Error(String(e))))
  )

/** `spotfleet consolidate`. */
export const consolidateCommand = Command.make("consolidate", common, (args) =>
  Effect.gen(function*() {
    const from = yield* optionalTime("from", args.from)
    const to = yield* optionalTime("to", args.to)
    yield* runOnce("consolidate", args, { from, to }, null)
  })).pipe(Command.withDescription("Run one consolidation over a window by hand (default: the last 12 h plus 1 h overlap)"))

/** `spotfleet backfill`. */
export const backfillCommand = Command.make(
  "backfill",
  {
    ...common,
    file: Options.file("file", { exists: "yes" }).pipe(
      Options.withDescription("AWS DescribeSpotPriceHistory export (CSV or JSON); repeat for several"),
      Options.atLeast(1)
    ),
    product: Options.text("product").pipe(Options.withDescription("product description to keep"), Options.withDefault("Linux/UNIX"))
  },
  (args) =>
    Effect.gen(function*() {
      const source = HistoryFile.layer(args.file, { productDescription: args.product })
      // The export's time range is the default window.
      const built = yield* Layer.build(source)
      const history = Context.get(built, PriceHistorySource.PriceHistorySource)
      const pools = yield* history.pools
      let first = Infinity, last = -Infinity
      for (const pool of pools) {
        for (const r of yield* history.history(pool, -8.64e15, 8.64e15)) {
          if (r.observedAt < first) first = r.observedAt
          if (r.observedAt > last) last = r.observedAt
        }
      }
      if (pools.length === 0) return yield* Effect.fail(new Error(`no ${args.product} rows in ${args.file.join(", ")}`))
      yield* Console.error(`backfill: ${pools.length} pools from ${new Date(first).toISOString()} to ${new Date(last).toISOString()}`)
      const from = (yield* optionalTime("from", args.from)) ?? first
      const to = (yield* optionalTime("to", args.to)) ?? last + 1
      yield* runOnce("backfill", args, { from, to }, Layer.succeedContext(built))
    }).pipe(Effect.scoped, Effect.mapError((e): Error => e))
).pipe(Command.withDescription("Backfill the consolidated and canonical tiers from an AWS spot price history export"))
