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
 *
 * The definitions here are light; the work is loaded when a command runs (PricingTasks.ts).
 */
import { Command, Options } from "@effect/cli"
import * as Effect from "effect/Effect"
import * as CliOptions from "./CliOptions.js"

const tasks = () => Effect.promise(() => import("./PricingTasks.js"))

const common = {
  from: Options.text("from").pipe(Options.withDescription("window start (epoch ms or ISO-8601)"), Options.optional),
  to: Options.text("to").pipe(Options.withDescription("window end, exclusive (epoch ms or ISO-8601)"), Options.optional),
  fill: CliOptions.choice("fill", ["step", "linear"]).pipe(Options.withDefault("step" as const)),
  dryRun: Options.boolean("dry-run").pipe(Options.withDescription("run on an in-memory store even when MYSQL_URL is set"))
}

/** `spotfleet consolidate`. */
export const consolidateCommand = Command.make("consolidate", common, (args) => Effect.flatMap(tasks(), (t) => t.consolidate(args))).pipe(
  Command.withDescription("Run one consolidation over a window by hand (default: the last 12 h plus 1 h overlap)")
)

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
  (args) => Effect.flatMap(tasks(), (t) => t.backfill(args))
).pipe(Command.withDescription("Backfill the consolidated and canonical tiers from an AWS spot price history export"))
