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

/** Where the feed comes from, in words (for the start-up banner). */
export const describe: Effect.Effect<string> = Config.option(Config.string("SPOTFLEET_SPOT_ADVISOR")).pipe(
  Effect.orDie,
  Effect.map(Option.match({
    onNone: () => "none (set SPOTFLEET_SPOT_ADVISOR to a spot-advisor-data.json file, a URL, or aws)",
    onSome: (v) => `Spot Advisor feed ${v === "aws" ? SpotAdvisor.DEFAULT_URL : v}`
  }))
)

/** `InterruptionData` from `SPOTFLEET_SPOT_ADVISOR`, or none. */
export const layer: Layer.Layer<InterruptionData.InterruptionData, InterruptionData.InterruptionDataError> =
  Layer.unwrapEffect(Effect.gen(function*() {
    const source = Option.filter(yield* Effect.orDie(Config.option(Config.string("SPOTFLEET_SPOT_ADVISOR"))), (v) => v.trim() !== "")
    if (Option.isNone(source)) return InterruptionData.layerEmpty
    const v = source.value.trim()
    if (v === "aws") return SpotAdvisor.layerUrl()
    return /^https?:\/\//.test(v) ? SpotAdvisor.layerUrl(v) : SpotAdvisor.layerFile(v)
  }))
