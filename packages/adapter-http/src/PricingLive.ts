/**
 * The handlers of {@link PricingApi.PricingApi} over `PriceService` (which owns every price read).
 *
 * @since 0.1.0
 */
import { HttpApiBuilder } from "@effect/platform"
import { type EngineError, PriceService, type PriceStore } from "@spotfleet/engine"
import { Clock, Effect, type Layer } from "effect"
import { Api } from "./Api.js"
import * as ApiError from "./ApiError.js"
import * as errors from "./internal/errors.js"

const DAY = 24 * 60 * 60 * 1000
const HOUR = 60 * 60 * 1000

const storeCall = <A>(effect: Effect.Effect<A, EngineError.StoreError>): Effect.Effect<A, ApiError.ApiError> =>
  Effect.mapError(effect, errors.fromEngine)

const PricingLive = HttpApiBuilder.group(Api, "pricing", (handlers) =>
  Effect.gen(function*() {
    const prices = yield* PriceService.make
    return handlers
      .handle("priceHistory", ({ urlParams }) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const to = urlParams.to ?? now + 1
          const from = urlParams.from ?? to - DAY
          const chart = yield* storeCall(prices.chart(urlParams.pool, { from, to }))
          return { pool: urlParams.pool, from, to, rawSince: chart.rawSince, points: chart.points }
        }))
      .handle("poolOptions", ({ urlParams }) =>
        Effect.gen(function*() {
          const to = urlParams.to ?? (yield* Clock.currentTimeMillis) + 1
          const from = urlParams.from ?? Math.max(0, to - (urlParams.hours ?? 24) * HOUR)
          if (from >= to) return yield* Effect.fail(ApiError.badField("from", `must be before to (${to}), got ${from}`))
          const found = yield* storeCall(prices.poolOptions({ instanceType: urlParams.instanceType, region: urlParams.region, from, to }))
          return { instanceType: urlParams.instanceType, region: urlParams.region, onDemandPrice: found.onDemandPrice, options: found.options }
        }))
      .handle("consolidationRuns", ({ urlParams }) =>
        Effect.map(storeCall(prices.runs({ limit: urlParams.limit ?? 50 })), (runs) => ({ runs })))
      .handle("onDemandPrices", () => Effect.map(storeCall(prices.onDemandPrices), (list) => ({ prices: list })))
  }))

/**
 * The pricing handlers.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<
  import("@effect/platform/HttpApiGroup").ApiGroup<"spotfleet", "pricing">,
  never,
  | import("./Security.js").TenantAuth
  | import("@spotfleet/engine").AgentStore.AgentStore
  | import("@spotfleet/engine").EventLog.EventLog
  | import("@spotfleet/engine").IdempotencyStore.IdempotencyStore
  | PriceStore.PriceStore
> = PricingLive
