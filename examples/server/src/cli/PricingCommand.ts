/**
 * `spotfleet consolidate` and `spotfleet backfill`: the consolidation job (docs/DESIGN.md, "Pricing
 * pipeline") by hand.
 *
 * - `spotfleet consolidate [--from <time>] [--to <time>] [--fill step|linear] [--dry-run]` runs one
 *   consolidation over the window (default: the last 12 hours plus 1 hour of overlap);
 * - `spotfleet backfill --file <aws-export.csv|json> [--file …] [--product] [--zone-names] [--strict] [--from]
 *   [--to] [--fill] [--dry-run]` runs it with the export as the `PriceHistorySource`, over the
 *   export's time range by default (its last record's slot included): slots without agent data
 *   get the export's prices (`backfilled`, confidence 0.9). Bad rows are skipped and listed with
 *   their line and reason (`--strict`: the first one stops the command).
 *
 * Both write to the MySQL/MariaDB database at `MYSQL_URL` (migrated first), or, without it or
 * with `--dry-run`, to an in-memory store that is discarded (a dry run: the counts are printed,
 * nothing is kept). Progress goes to stderr as a bar (one line per 10% when not a terminal);
 * `consolidate` prints the run's ledger entry to stdout as JSON, `backfill` a report of what it
 * read and wrote (rows, pools, points per tier) with the ledger entry in it.
 *
 * The definitions here are light; the work is loaded when a command runs (PricingTasks.ts,
 * BackfillTask.ts).
 */
import { Command, Options } from "@effect/cli"
import * as Effect from "effect/Effect"
import * as CliOptions from "./CliOptions.js"

const tasks = () => Effect.promise(() => import("./PricingTasks.js"))
const backfillTask = () => Effect.promise(() => import("./BackfillTask.js"))

const TIME = "epoch milliseconds or ISO-8601, e.g. 2024-03-01T00:00:00Z"

const time = (name: string, description: string) =>
  Options.text(name).pipe(Options.withPseudoName("time"), Options.withDescription(description), Options.optional)

const fillDescription =
  "How gaps of up to 2 hours between agent reports are filled: step holds the last reported price, linear interpolates."

const common = {
  dryRun: Options.boolean("dry-run").pipe(
    Options.withDescription(
      "Run on an in-memory store that is discarded, even when MYSQL_URL is set: the counts are printed, nothing is kept. Without MYSQL_URL every run is a dry run."
    )
  )
}

/** `spotfleet consolidate`. */
export const consolidateCommand = Command.make(
  "consolidate",
  {
    ...common,
    from: time("from", `Start of the window (${TIME}), rounded down to the 5-minute grid. Default: 13 hours before the end (12 h window + 1 h overlap).`),
    to: time("to", `End of the window, exclusive (${TIME}); the slot it falls in is included. Default: the start of the current 5-minute slot.`),
    fill: CliOptions.choice("fill", ["step", "linear"]).pipe(Options.withDescription(`${fillDescription} Default: step.`), Options.withDefault("step" as const))
  },
  (args) => Effect.flatMap(tasks(), (t) => t.consolidate(args))
).pipe(Command.withDescription("Run one consolidation over a window by hand (default: the last 12 h plus 1 h overlap)"))

/** `spotfleet backfill`. */
export const backfillCommand = Command.make(
  "backfill",
  {
    ...common,
    file: Options.file("file", { exists: "yes" }).pipe(
      Options.withDescription(
        "An AWS DescribeSpotPriceHistory export: CSV with the header Timestamp,InstanceType,ProductDescription,SpotPrice,AvailabilityZone, or the JSON of `aws ec2 describe-spot-price-history`. Repeat for several files."
      ),
      Options.atLeast(1)
    ),
    product: Options.text("product").pipe(
      Options.withPseudoName("description"),
      Options.withDescription("The ProductDescription whose rows are kept (as AWS writes it, e.g. \"Linux/UNIX\", \"SUSE Linux\", \"Windows\", or a product slug such as suse); rows of other products are counted and left out. `all` keeps every product, each in pools of its own (m5.large.us-east-1a~suse). Default: Linux/UNIX."),
      Options.withDefault("Linux/UNIX")
    ),
    zoneNames: Options.file("zone-names", { exists: "yes" }).pipe(
      Options.withPseudoName("file.json"),
      Options.withDescription(
        "A JSON object mapping AZ IDs to AZ names ({\"use1-az1\": \"us-east-1b\"}, as `aws ec2 describe-availability-zones` pairs them for your account): rows of a listed AZ ID go to the pool of that name. Default: none; an AZ ID is kept as given and makes pools of its own (m5.large.use1-az1)."
      ),
      Options.optional
    ),
    strict: Options.boolean("strict").pipe(
      Options.withDescription("Stop at the first bad row (its line and reason, exit code 1, nothing written) instead of skipping bad rows and counting them.")
    ),
    from: time("from", `Start of the window (${TIME}), rounded down to the 5-minute grid. Default: the export's first record.`),
    to: time("to", `End of the window, exclusive (${TIME}); the slot it falls in is included. Default: 1 ms after the export's last record, so that record's slot is included.`),
    fill: CliOptions.choice("fill", ["step", "linear"]).pipe(
      Options.withDescription(
        `${fillDescription} Applies to agent reports already stored in the window only: an export's prices hold until their next change and are never interpolated. Default: step.`
      ),
      Options.optional
    )
  },
  (args) => Effect.flatMap(backfillTask(), (t) => t.backfill(args))
).pipe(Command.withDescription("Backfill the consolidated and canonical tiers from AWS spot price history exports"))
