/**
 * A `PriceHistorySource` over AWS DescribeSpotPriceHistory exports on disk (CSV with the header
 * `Timestamp,InstanceType,ProductDescription,SpotPrice,AvailabilityZone`, or the JSON of
 * `aws ec2 describe-spot-price-history`): the files are read once, when the layer is built, and
 * parsed by `PriceHistorySource.layerText`.
 */
import { FileSystem } from "@effect/platform"
import { PriceHistorySource } from "@spotfleet/engine"
import { Effect, Layer } from "effect"

/** The source over the given files (Linux/UNIX rows by default). */
export const layer = (
  paths: ReadonlyArray<string>,
  options?: PriceHistorySource.ParseOptions
): Layer.Layer<PriceHistorySource.PriceHistorySource, PriceHistorySource.PriceHistoryError, FileSystem.FileSystem> =>
  Layer.unwrapEffect(
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const texts = yield* Effect.forEach(paths, (path) =>
        fs.readFileString(path).pipe(
          Effect.mapError((e) => new PriceHistorySource.PriceHistoryError({ reason: `cannot read ${path}: ${e.message}` }))
        ))
      return PriceHistorySource.layerText(texts, options)
    })
  )
