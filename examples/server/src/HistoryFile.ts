/**
 * AWS DescribeSpotPriceHistory exports on disk (CSV with the header
 * `Timestamp,InstanceType,ProductDescription,SpotPrice,AvailabilityZone`, or the JSON of
 * `aws ec2 describe-spot-price-history`), read with `PriceHistorySource.report`: bad rows are
 * skipped and listed with their line and reason (with `strict`, the first one is the error).
 */
import { FileSystem } from "@effect/platform"
import { PriceHistorySource } from "@spotfleet/engine"
import { Effect, Either } from "effect"

/** Reads and parses one file (Linux/UNIX rows by default). */
export const read = (
  path: string,
  options?: PriceHistorySource.ParseOptions
): Effect.Effect<PriceHistorySource.ParseReport, PriceHistorySource.PriceHistoryError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(path).pipe(
      Effect.mapError((e) => new PriceHistorySource.PriceHistoryError({ reason: `cannot read ${path}: ${e.message}` }))
    )
    return yield* Either.match(PriceHistorySource.report(text, options), {
      onLeft: (e) =>
        Effect.fail(
          new PriceHistorySource.PriceHistoryError({
            reason: `${path}${/^(line |SpotPriceHistory\[)/.test(e.reason) ? " " : ": "}${e.reason}`,
            ...(e.skipped === undefined ? {} : { skipped: e.skipped })
          })
        ),
      onRight: Effect.succeed
    })
  })
