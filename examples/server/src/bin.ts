/**
 * The `spotfleet` bin: `spotfleet ml export-dataset …`, `spotfleet ml train …`, `spotfleet consolidate …`,
 * `spotfleet backfill --file …` (see src/cli). Started by bin/spotfleet.mjs.
 *
 * Errors are one line in words on stderr (`spotfleet: …`; exit code 2 for a bad command line, 1
 * for a failed command, the full cause with `--verbose` or `DEBUG` set); colours only when the
 * output is a terminal.
 */
import { ValidationError } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { stripVTControlCharacters } from "node:util"
import { run } from "./cli/Cli.js"

const verbose = process.argv.includes("--verbose") || (process.env["DEBUG"] ?? "") !== ""
const argv = process.argv.filter((a) => a !== "--verbose")

/** The console without ANSI escapes on the streams that are not terminals (pipes, files, CI logs). */
const plainWhereNotTty = (c: Console.Console): Console.Console => {
  const strip = (tty: boolean | undefined) => (args: ReadonlyArray<unknown>) =>
    tty === true ? args : args.map((a) => (typeof a === "string" ? stripVTControlCharacters(a) : a))
  const out = strip(process.stdout.isTTY)
  const err = strip(process.stderr.isTTY)
  // @effect/cli prints a bad option's message itself (as a paragraph with blank lines): one line, named.
  const said = (args: ReadonlyArray<unknown>) =>
    err(args.map((a) => (typeof a === "string" ? a.trim().split(/\n\s*\n/).join(" ") : a))).map((a, i) =>
      i === 0 && typeof a === "string" && !a.startsWith("spotfleet: ") ? `spotfleet: ${a}` : a
    )
  return {
    ...c,
    log: (...args) => c.log(...out(args)),
    info: (...args) => c.info(...out(args)),
    error: (...args) => c.error(...said(args)),
    warn: (...args) => c.warn(...err(args)),
    unsafe: {
      ...c.unsafe,
      log: (...args) => c.unsafe.log(...out(args)),
      info: (...args) => c.unsafe.info(...out(args)),
      error: (...args) => c.unsafe.error(...err(args)),
      warn: (...args) => c.unsafe.warn(...err(args))
    }
  }
}

const message = (e: unknown): string => {
  const m = e instanceof Error ? e.message : typeof (e as { message?: unknown })?.message === "string" ? (e as { message: string }).message : String(e)
  return m.split("\n")[0] ?? m
}

const program = Console.consoleWith((c) => Console.withConsole(run(argv), plainWhereNotTty(c))).pipe(
  Effect.provide(NodeContext.layer),
  Effect.catchAllCause((cause) =>
    Effect.sync(() => {
      const failure = Cause.failureOption(cause)
      // @effect/cli has printed its own message (a bad option, --help on a group): only the exit code is left.
      if (failure._tag === "Some" && ValidationError.isValidationError(failure.value)) {
        process.exitCode = ValidationError.isHelpRequested(failure.value) ? 0 : 2
        return
      }
      const error = failure._tag === "Some" ? failure.value : Cause.squash(cause)
      console.error(`spotfleet: ${message(error)}`)
      if (verbose) console.error(Cause.pretty(cause, { renderErrorCause: true }))
      process.exitCode = 1
    })
  )
)

void Effect.runPromise(program)
