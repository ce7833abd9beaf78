/**
 * The `spotfleet` command line: one root command, each group of subcommands in its own file
 * under src/cli (add yours to the list below). The definitions load no store, engine or model
 * code: each command loads its work when it runs, so the CLI starts quickly.
 */
import { Command } from "@effect/cli"
import * as Console from "effect/Console"
import { stripVTControlCharacters } from "node:util"
import { mlCommand } from "./MlCommand.js"
import { backfillCommand, consolidateCommand } from "./PricingCommand.js"
import { pricesCommand } from "./PricesSyncCommand.js"

/** `spotfleet <group> <command>`. */
export const spotfleet = Command.make("spotfleet").pipe(
  Command.withDescription("spotfleet control plane tools"),
  Command.withSubcommands([mlCommand, consolidateCommand, backfillCommand, pricesCommand])
)

/**
 * @effect/cli describes every text option in `--help` as "A user-defined piece of text." before
 * its own description (there is no option to leave it out): that line and its blank line go.
 */
const GENERIC = "A user-defined piece of text."
const dropGeneric = (text: string): string => {
  if (!text.includes(GENERIC)) return text
  const lines = text.split("\n")
  const out: Array<string> = []
  for (let i = 0; i < lines.length; i++) {
    if (stripVTControlCharacters(lines[i]!).trim() !== GENERIC) out.push(lines[i]!)
    else if (i + 1 < lines.length && stripVTControlCharacters(lines[i + 1]!).trim() === "") i++
  }
  return out.join("\n")
}
const withoutGenericHelp = (c: Console.Console): Console.Console => ({
  ...c,
  log: (...args) => c.log(...args.map((a) => (typeof a === "string" ? dropGeneric(a) : a)))
})

const runCommand = Command.run(spotfleet, { name: "spotfleet", version: "0.1.0" })

/** Runs the CLI on argv (without the node and script entries). */
export const run = (argv: ReadonlyArray<string>) => Console.consoleWith((c) => Console.withConsole(runCommand(argv), withoutGenericHelp(c)))
