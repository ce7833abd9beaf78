/**
 * The work behind `spotfleet consolidate` (see PricingCommand.ts) and what `spotfleet backfill`
 * (BackfillTask.ts) shares with it, loaded only when one of them runs. Every failure is a
 * {@link CliFailure} in words.
 */
import * as MysqlClient from "@effect/sql-mysql2/MysqlClient"
import { MysqlFailure, MysqlMigrations, MysqlStore } from "@spotfleet/adapter-mysql"
import { ConsolidationJob, MemoryStore, type Pool, type PriceHistorySource, type Pricing } from "@spotfleet/engine"
import { Cause, Config, Console, Effect, Layer, Option, Redacted } from "effect"
import { CliFailure, parseTime } from "./CliOptions.js"

type PoolId = Pool.PoolId

/** A count with thousands separators. */
export const count = (n: number) => n.toLocaleString("en-US")

/** A progress bar on stderr for the job's progress callback. */
const progressBar = (label: string) => {
  let lastDecile = -1
  return (p: ConsolidationJob.Progress) =>
    Effect.sync(() => {
      const pct = p.poolsTotal === 0 ? 100 : Math.floor((p.poolsDone / p.poolsTotal) * 100)
      const tail = `${pct}% (${count(p.poolsDone)}/${count(p.poolsTotal)} pools, ${count(p.points)} points, ${count(p.written)} written)`
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

/** An optional time option: epoch ms or ISO-8601. */
export const optionalTime = (name: string, value: Option.Option<string>) =>
  Option.match(value, { onNone: () => Effect.succeed(undefined), onSome: (t) => parseTime(name, t) })

/** An error's message, first line only. */
export const messageOf = (e: unknown): string => {
  const m = e instanceof Error ? e.message : typeof (e as { message?: unknown })?.message === "string" ? (e as { message: string }).message : String(e)
  return m.split("\n")[0] ?? m
}

/** The store the job writes to: MySQL at `MYSQL_URL` (migrated), else (or with --dry-run) in memory. */
export const storeLayer = (dryRun: boolean) =>
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

/** Runs the job once with the given source (if any); a run that did not succeed is a failure. */
export const runOnce = (
  label: string,
  args: { readonly fill: "step" | "linear"; readonly dryRun: boolean },
  window: { readonly from: number | undefined; readonly to: number | undefined; readonly pools?: ReadonlyArray<PoolId> },
  source: Layer.Layer<PriceHistorySource.PriceHistorySource> | null
): Effect.Effect<Pricing.ConsolidationRun, CliFailure> =>
  Effect.gen(function*() {
    const job = yield* ConsolidationJob.make({ fillPolicy: args.fill })
    const run = yield* job.run({ from: window.from, to: window.to, pools: window.pools, onProgress: progressBar(label) })
    if (run.status !== "succeeded") {
      yield* Console.log(JSON.stringify(run, null, 2))
      return yield* Effect.fail(new CliFailure(`consolidation ${run.status}: ${run.error ?? ""}`))
    }
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
    const run = yield* runOnce("consolidate", args, { from, to }, null)
    yield* Console.log(JSON.stringify(run, null, 2))
  })

