/**
 * Options whose parse errors name the option: `--window-days: expected a whole number, got "abc"`
 * (the built-in numeric options of @effect/cli answer `'abc' is not a integer`, without saying
 * which option), and the error type of the commands' own failures.
 */
import { HelpDoc, Options, ValidationError } from "@effect/cli"
import * as Effect from "effect/Effect"

/** A failure of a command in words: printed as `spotfleet: <message>` (exit code 1). */
export class CliFailure extends Error {
  constructor(message: string) {
    super(message)
    this.name = "CliFailure"
  }
}

const invalid = (message: string) => ValidationError.invalidValue(HelpDoc.p(message))

/** `--<name> <integer>`. */
export const integer = (name: string): Options.Options<number> =>
  Options.text(name).pipe(
    Options.withPseudoName("integer"),
    Options.mapEffect((text) =>
      /^-?\d+$/.test(text.trim())
        ? Effect.succeed(Number(text.trim()))
        : Effect.fail(invalid(`--${name}: expected a whole number, got "${text}"`))
    )
  )

/** `--<name> <number>`. */
export const float = (name: string): Options.Options<number> =>
  Options.text(name).pipe(
    Options.withPseudoName("number"),
    Options.mapEffect((text) => {
      const n = Number(text.trim())
      return text.trim() !== "" && Number.isFinite(n)
        ? Effect.succeed(n)
        : Effect.fail(invalid(`--${name}: expected a number, got "${text}"`))
    })
  )

/** Epoch milliseconds or an ISO-8601 time. */
export const parseTime = (name: string, text: string): Effect.Effect<number, CliFailure> => {
  const n = /^\d+$/.test(text) ? Number(text) : Date.parse(text)
  return Number.isFinite(n) ? Effect.succeed(n) : Effect.fail(new CliFailure(`--${name}: not a time (epoch ms or ISO-8601): "${text}"`))
}

/** `--<name> <one of values>`. */
export const choice = <const A extends ReadonlyArray<string>>(name: string, values: A): Options.Options<A[number]> =>
  Options.text(name).pipe(
    Options.withPseudoName(values.join("|")),
    Options.mapEffect((text) =>
      (values as ReadonlyArray<string>).includes(text)
        ? Effect.succeed(text as A[number])
        : Effect.fail(invalid(`--${name}: expected one of ${values.join(", ")}, got "${text}"`))
    )
  )
