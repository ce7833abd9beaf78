/**
 * The interruption data the server's decision loop (risk guard) and `/api/prices/options` use:
 * the AWS Spot Instance Advisor feed from `SPOTFLEET_SPOT_ADVISOR` — a file path, or an http(s)
 * URL (`aws` for AWS's public feed) — read once at start-up. Unset: `InterruptionData.layerEmpty`
 * (every band is unknown; the risk guard judges the model's risk alone). A feed that cannot be read or
 * decoded stops the start with the reason.
 */
import { InterruptionData } from "@spotfleet/engine"
import { SpotAdvisor } from "@spotfleet/ml-onnx"
import { Config, Effect, Layer, Option } from "effect"

/** `SPOTFLEET_SPOT_ADVISOR`: a file path, an http(s) URL, `aws` (AWS's public feed), or unset. */
export const source: Config.Config<Option.Option<string>> = Config.option(Config.string("SPOTFLEET_SPOT_ADVISOR")).pipe(
  Config.map(Option.filter((v) => v.trim() !== ""))
)

/** Where the feed comes from, in words (for the start-up banner). */
export const describe = (from: Option.Option<string>): string =>
  Option.match(from, {
    onNone: () => "none (set SPOTFLEET_SPOT_ADVISOR to a spot-advisor-data.json file, a URL, or aws)",
    onSome: (v) => `Spot Advisor feed ${v.trim() === "aws" ? SpotAdvisor.DEFAULT_URL : v.trim()}`
  })

/** `InterruptionData` from the feed at `from`, or none. */
export const layerFrom = (from: Option.Option<string>): Layer.Layer<InterruptionData.InterruptionData, InterruptionData.InterruptionDataError> => {
  if (Option.isNone(from)) return InterruptionData.layerEmpty
  const v = from.value.trim()
  if (v === "aws") return SpotAdvisor.layerUrl()
  return /^https?:\/\//.test(v) ? SpotAdvisor.layerUrl(v) : SpotAdvisor.layerFile(v)
}

/** `InterruptionData` from `SPOTFLEET_SPOT_ADVISOR`, or none. */
export const layer: Layer.Layer<InterruptionData.InterruptionData, InterruptionData.InterruptionDataError> = Layer.unwrapEffect(
  Effect.map(Effect.orDie(source), layerFrom)
)
