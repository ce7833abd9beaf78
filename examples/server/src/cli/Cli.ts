/**
 * The `spotfleet` command line: one root command, each group of subcommands in its own file
 * under src/cli (add yours to the list below). The definitions load no store, engine or model
 * code: each command loads its work when it runs, so the CLI starts quickly.
 */
import { Command } from "@effect/cli"
import { mlCommand } from "./MlCommand.js"
import { backfillCommand, consolidateCommand } from "./PricingCommand.js"
import { pricesCommand } from "./PricesSyncCommand.js"

/** `spotfleet <group> <command>`. */
export const spotfleet = Command.make("spotfleet").pipe(
  Command.withDescription("spotfleet control plane tools"),
  Command.withSubcommands([mlCommand, consolidateCommand, backfillCommand, pricesCommand])
)

/** Runs the CLI on argv (without the node and script entries). */
export const run = Command.run(spotfleet, { name: "spotfleet", version: "0.1.0" })
