/**
 * The work behind `spotfleet backfill` (see PricingCommand.ts), loaded only when it runs: reads
 * the exports (bad rows skipped and listed, or with `--strict` the first one stops the command),
 * runs the consolidation job over them, and reports what happened — rows read, kept, of other
 * products and skipped (by reason, with their lines), pools in the export and pools that got
 * points, and points per tier (computed and written). Every failure is a {@link CliFailure}.
 */
import { FileSystem } from "@effect/platform"
import { Pool, PriceHistorySource, type Pricing } from "@spotfleet/engine"
import { Console, Effect, Option } from "effect"
import * as HistoryFile from "../HistoryFile.js"
import { CliFailure } from "./CliOptions.js"
import { count, optionalTime, runOnce } from "./PricingTasks.js"

/** Skipped rows listed one per line on stderr (all of them are in the JSON report up to {@link REPORTED}). */
const LISTED = 20
/** Skipped rows in the JSON report. */
const REPORTED = 1000

/** The arguments of `spotfleet backfill`. */
export interface BackfillArgs {
  readonly from: Option.Option<string>
  readonly to: Option.Option<string>
  readonly fill: Option.Option<"step" | "linear">
  readonly dryRun: boolean
  readonly file: ReadonlyArray<string>
  readonly product: string
  readonly zoneNames: Option.Option<string>
  readonly strict: boolean
}

/** `--zone-names`: a JSON object of AZ ID → AZ name, checked entry by entry. */
const readZoneNames = (file: string): Effect.Effect<Readonly<Record<string, string>>, CliFailure, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file).pipe(Effect.mapError((e) => new CliFailure(`--zone-names: cannot read ${file}: ${e.message}`)))
    const parsed = yield* Effect.try({ try: () => JSON.parse(text) as unknown, catch: (e) => new CliFailure(`--zone-names: ${file} is not JSON: ${e instanceof Error ? e.message : String(e)}`) })
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      return yield* Effect.fail(new CliFailure(`--zone-names: ${file} must hold a JSON object such as {"use1-az1": "us-east-1b"}`))
    }
    const out: Record<string, string> = {}
    for (const [id, name] of Object.entries(parsed)) {
      if (Pool.zoneKindOf(id) !== "id") return yield* Effect.fail(new CliFailure(`--zone-names: ${JSON.stringify(id)} is not an AZ ID (like use1-az1)`))
      if (typeof name !== "string" || Pool.zoneKindOf(name) !== "name") {
        return yield* Effect.fail(new CliFailure(`--zone-names: the name of ${id}, ${JSON.stringify(name)}, is not an AZ name (like us-east-1b)`))
      }
      out[id] = name
    }
    return out
  })

/** What a backfill did, as printed to stdout (JSON). */
export const summary = (
  files: ReadonlyArray<{ readonly file: string; readonly report: PriceHistorySource.ParseReport }>,
  poolsInExport: number,
  run: Pricing.ConsolidationRun
) => {
  const skipped = files.flatMap(({ file, report }) => report.skipped.map((s) => ({ file, ...s })))
  const byReason: Partial<Record<PriceHistorySource.SkipReason, number>> = {}
  for (const s of skipped) byReason[s.reason] = (byReason[s.reason] ?? 0) + 1
  const sum = (f: (r: PriceHistorySource.ParseReport) => number) => files.reduce((n, { report }) => n + f(report), 0)
  return {
    rows: {
      read: sum((r) => r.read),
      kept: sum((r) => r.rows.length),
      otherProducts: sum((r) => r.otherProducts),
      skipped: skipped.length,
      skippedByReason: byReason
    },
    files: files.map(({ file, report }) => ({
      file,
      read: report.read,
      kept: report.rows.length,
      otherProducts: report.otherProducts,
      skipped: report.skipped.length
    })),
    skipped: skipped.slice(0, REPORTED),
    pools: { inExport: poolsInExport, withPoints: run.pools },
    window: { from: new Date(run.windowStart).toISOString(), to: new Date(run.windowEnd).toISOString() },
    // What each tier got. The export is read in place: nothing goes to the snapshot tier.
    tiers: {
      snapshot: { agentSnapshotsRead: run.snapshots, written: 0 },
      consolidated: {
        points: run.agentPoints + run.filled + run.backfilled,
        backfilled: run.backfilled,
        agent: run.agentPoints,
        filled: run.filled,
        written: run.written
      },
      canonical: { points: run.agentPoints + run.backfilled, written: run.canonical }
    },
    run
  }
}

/** `spotfleet backfill`. */
export const backfill = (args: BackfillArgs): Effect.Effect<void, CliFailure, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const files: Array<{ file: string; report: PriceHistorySource.ParseReport }> = []
    const zoneNames = Option.isSome(args.zoneNames) ? yield* readZoneNames(args.zoneNames.value) : undefined
    const productDescription = args.product.trim().toLowerCase() === "all" ? null : args.product
    for (const file of args.file) {
      const report = yield* HistoryFile.read(file, { productDescription, strict: args.strict, zoneNames }).pipe(
        Effect.mapError((e) => new CliFailure(e.skipped === undefined ? e.reason : `${e.reason} (--strict stops at the first bad row; nothing was written)`))
      )
      files.push({ file, report })
      yield* Console.error(
        `backfill: ${file}: ${count(report.read)} rows, ${count(report.rows.length)} ${args.product} rows kept, ` +
          `${count(report.otherProducts)} of other products, ${count(report.skipped.length)} bad rows skipped`
      )
      for (const s of report.skipped.slice(0, LISTED)) {
        yield* Console.error(`backfill: skipped ${file} ${s.where}: ${PriceHistorySource.skipReasons[s.reason]}: ${s.detail}`)
      }
      if (report.skipped.length > LISTED) yield* Console.error(`backfill: … ${count(report.skipped.length - LISTED)} more skipped rows of ${file} (all in the report)`)
    }
    const rows = files.flatMap(({ report }) => report.rows)
    if (rows.length === 0) {
      return yield* Effect.fail(new CliFailure(`no ${args.product} rows to backfill in ${args.file.join(", ")} (see the counts above; --product picks another product)`))
    }
    const source = PriceHistorySource.makeMemory(rows)
    const pools = yield* source.pools.pipe(Effect.mapError((e) => new CliFailure(e.reason)))
    let first = Infinity, last = -Infinity
    for (const r of rows) {
      if (r.observedAt < first) first = r.observedAt
      if (r.observedAt > last) last = r.observedAt
    }
    yield* Console.error(`backfill: ${count(pools.length)} pools, records from ${new Date(first).toISOString()} to ${new Date(last).toISOString()}`)
    // The export's time range is the default window; the job rounds its end up to the slot grid,
    // so the slot of the last record is included.
    const from = (yield* optionalTime("from", args.from)) ?? first
    const to = (yield* optionalTime("to", args.to)) ?? last + 1
    const fill = Option.getOrElse(args.fill, () => "step" as const)
    const run = yield* runOnce("backfill", { fill, dryRun: args.dryRun }, { from, to }, PriceHistorySource.layerMemory(rows))
    const report = summary(files, pools.length, run)
    yield* Console.log(JSON.stringify(report, null, 2))
    const { consolidated, canonical } = report.tiers
    yield* Console.error(
      `backfill: ${count(run.pools)} of ${count(pools.length)} pools got points over ${report.window.from} – ${report.window.to}; ` +
        `consolidated tier: ${count(consolidated.points)} points (${count(consolidated.backfilled)} backfilled), ${count(consolidated.written)} written; ` +
        `canonical tier: ${count(canonical.points)} points, ${count(canonical.written)} written; snapshot tier: not written (the export is read in place)`
    )
    if (consolidated.written < consolidated.points || canonical.written < canonical.points) {
      yield* Console.error("backfill: points not written were already stored with the same values")
    }
    if (run.backfilled === 0) {
      yield* Console.error(`backfill: no point was backfilled: the window ${report.window.from} – ${report.window.to} holds none of the export's prices`)
    }
    if (Option.isSome(args.fill) && run.agentPoints === 0) {
      yield* Console.error(
        `backfill: --fill ${args.fill.value} had nothing to fill: it applies to gaps between agent reports, and the window has none (an export's prices hold until their next change)`
      )
    }
  })
