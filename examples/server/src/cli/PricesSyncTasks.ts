/**
 * The work behind `spotfleet prices sync` (see PricesSyncCommand.ts), loaded only when it runs.
 * Every failure is a {@link CliFailure} in words.
 */
import { PriceSync } from "@spotfleet/aws"
import { Clock, Console, Effect, Option } from "effect"
import { CliFailure, parseTime } from "./CliOptions.js"
import { messageOf, storeLayer } from "./PricingTasks.js"

const DAY = 86_400_000

/** One stderr line per page and per 10 % of the consolidation. */
const progress = () => {
  let lastDecile = -1
  return (p: PriceSync.SyncProgress) =>
    Effect.sync(() => {
      switch (p._tag) {
        case "OnDemand":
          process.stderr.write(`prices sync: ${p.prices} on-demand prices from ${p.source}\n`)
          return
        case "Page":
          process.stderr.write(`prices sync: ${p.page.region} page ${p.page.page}: ${p.page.records} records (${p.page.total} so far)\n`)
          return
        case "Consolidation": {
          const { poolsDone, poolsTotal } = p.progress
          const decile = poolsTotal === 0 ? 10 : Math.floor((poolsDone / poolsTotal) * 10)
          if (decile !== lastDecile) {
            lastDecile = decile
            process.stderr.write(`prices sync: consolidation ${decile * 10}% (${poolsDone}/${poolsTotal} pools)\n`)
          }
        }
      }
    })
}

/** `spotfleet prices sync`. */
export const sync = (args: {
  readonly region: ReadonlyArray<string>
  readonly type: ReadonlyArray<string>
  readonly product: string
  readonly from: Option.Option<string>
  readonly to: Option.Option<string>
  readonly onDemand: string
  readonly endpoint: Option.Option<string>
  readonly pageSize: number
  readonly fill: "step" | "linear"
  readonly dryRun: boolean
}) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const to = yield* Option.match(args.to, { onNone: () => Effect.succeed(now), onSome: (t) => parseTime("to", t) })
    const from = yield* Option.match(args.from, { onNone: () => Effect.succeed(to - DAY), onSome: (t) => parseTime("from", t) })
    if (from >= to) return yield* Effect.fail(new CliFailure(`--from must be before --to (${new Date(from).toISOString()} ≥ ${new Date(to).toISOString()})`))
    if (args.pageSize < 5 || args.pageSize > 1000) return yield* Effect.fail(new CliFailure(`--page-size: 5 to 1000, got ${args.pageSize}`))
    const regions = args.region.map((r) => r.trim()).filter((r) => r !== "")
    yield* Console.error(
      `prices sync: ${args.product} ${args.type.length === 0 ? "every type" : args.type.join(", ")} in ${regions.length === 0 ? "the SDK's default region" : regions.join(", ")}, ${
        new Date(from).toISOString()
      } to ${new Date(to).toISOString()}`
    )
    const summary = yield* PriceSync.run({
      spot: {
        region: regions.length === 0 ? undefined : regions,
        endpoint: Option.getOrUndefined(args.endpoint),
        from,
        to,
        instanceTypes: args.type,
        productDescriptions: [args.product],
        pageSize: args.pageSize
      },
      onDemand: args.onDemand === "none" ? null : args.onDemand === "shipped" ? "shipped" : { source: args.onDemand, filter: { regions: regions.length === 0 ? undefined : regions } },
      fillPolicy: args.fill,
      onProgress: progress()
    }).pipe(Effect.provide(storeLayer(args.dryRun)))
    const spot = summary.spot
    if (spot !== null) {
      const records = Object.values(spot.records).reduce((a, b) => a + b, 0)
      const pools = Object.values(spot.pools).reduce((a, b) => a + b, 0)
      const other = spot.regions.reduce((n, r) => n + r.otherProducts, 0)
      if (other > 0) yield* Console.error(`prices sync: ${other} records of other products than ${args.product} were sent anyway and dropped`)
      if (records === 0) {
        yield* Console.error(
          `prices sync: AWS returned no ${args.product} records: check --product (as AWS writes it: Linux/UNIX, SUSE Linux, Red Hat Enterprise Linux, Windows, or with " (Amazon VPC)"), --type and the window (AWS keeps 90 days)`
        )
      }
      yield* Console.error(
        `prices sync: ${records} spot records in ${pools} pools (${spot.regions.map((r) => `${r.region}: ${r.pages} pages`).join(", ")}); ${spot.run.backfilled} points backfilled, ${spot.run.written} consolidated and ${spot.run.canonical} canonical points written`
      )
    }
    yield* Console.log(JSON.stringify(summary, null, 2))
  }).pipe(Effect.mapError((e): CliFailure => (e instanceof CliFailure ? e : new CliFailure(messageOf(e)))))
