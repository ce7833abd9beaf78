/**
 * `spotfleet prices sync`: AWS prices into the price tiers (the @spotfleet/aws price sync job).
 *
 * - spot price history from EC2 `DescribeSpotPriceHistory` for the regions, instance types and
 *   product asked for, over a window (default the last 24 hours), stored through the
 *   consolidation job as `spotfleet backfill` stores an export;
 * - on-demand prices from an AWS Price List offer file (path or URL), or the table shipped with
 *   @spotfleet/aws (default), or none.
 *
 * Credentials and region come from the AWS SDK's standard chain (AWS_PROFILE, AWS_REGION,
 * AWS_ACCESS_KEY_ID…, SSO, instance roles) unless `--region`/`--endpoint` say otherwise. The store
 * is MySQL/MariaDB at `MYSQL_URL`, or an in-memory dry run. Progress goes to stderr; the summary
 * (counts per product and the run's ledger entry) to stdout as JSON.
 */
import { Command, Options } from "@effect/cli"
import * as Effect from "effect/Effect"
import * as CliOptions from "./CliOptions.js"

const tasks = () => Effect.promise(() => import("./PricesSyncTasks.js"))

/** `spotfleet prices sync`. */
export const pricesSyncCommand = Command.make(
  "sync",
  {
    region: Options.text("region").pipe(
      Options.withDescription("AWS region to read (repeat for several); default: the SDK's standard chain (AWS_REGION, profile)"),
      Options.repeated
    ),
    type: Options.text("type").pipe(Options.withDescription("instance type to read (repeat for several); default: every type"), Options.repeated),
    product: Options.text("product").pipe(
      Options.withDescription("product description as AWS writes it (Linux/UNIX, SUSE Linux, Windows, …); default Linux/UNIX"),
      Options.withDefault("Linux/UNIX")
    ),
    from: Options.text("from").pipe(Options.withDescription("window start, epoch ms or ISO-8601; default 24 hours before --to"), Options.optional),
    to: Options.text("to").pipe(Options.withDescription("window end, epoch ms or ISO-8601; default now"), Options.optional),
    onDemand: Options.text("on-demand").pipe(
      Options.withDescription("on-demand prices: an AWS Price List EC2 offer file (path or http(s) URL), 'shipped' (the table in @spotfleet/aws) or 'none'"),
      Options.withDefault("shipped")
    ),
    endpoint: Options.text("endpoint").pipe(Options.withDescription("EC2 endpoint URL instead of the region's (an emulator, a VPC endpoint)"), Options.optional),
    pageSize: CliOptions.integer("page-size").pipe(Options.withDescription("records per DescribeSpotPriceHistory page (5–1000)"), Options.withDefault(1000)),
    fill: CliOptions.choice("fill", ["step", "linear"]).pipe(Options.withDescription("fill policy of the consolidation"), Options.withDefault("step" as const)),
    dryRun: Options.boolean("dry-run").pipe(Options.withDescription("run on an in-memory store even when MYSQL_URL is set"))
  },
  (args) => Effect.flatMap(tasks(), (t) => t.sync(args))
).pipe(Command.withDescription("Read AWS spot price history and on-demand prices into the price tiers"))

/** `spotfleet prices <command>`. */
export const pricesCommand = Command.make("prices").pipe(
  Command.withDescription("AWS prices: spot history and on-demand"),
  Command.withSubcommands([pricesSyncCommand])
)
