/**
 * The handlers of {@link PricingApi.PricingApi} over `PriceService` and the price store.
 *
 * @since 0.1.0
 */
import { HttpApiBuilder } from "@effect/platform"
import { type EngineError, Pool, PriceService, PriceStore } from "@spotfleet/engine"
import { Clock, Effect, Either, type Layer } from "effect"
import { Api } from "./Api.js"
import type * as ApiError from "./ApiError.js"
import * as errors from "./internal/errors.js"
import type { PointSource } from "./PricingApi.js"

const DAY = 24 * 60 * 60 * 1000
const HOUR = 60 * 60 * 1000

const storeCall = <A>(effect: Effect.Effect<A, EngineError.StoreError>): Effect.Effect<A, ApiError.ApiError> =>
  Effect.mapError(effect, errors.fromEngine)

type Point = {
  readonly at: number
  readonly price: number
  readonly source: typeof PointSource.Type
  readonly confidence: number | null
  readonly runId: string | null
  readonly snapshotsMerged: number | null
  readonly reporterRole: "PRIMARY" | "REPLICA" | null
}

/** The chart's points: consolidated before `rawSince`, raw (non-duplicate) reports from there on. */
const pointsOf = (history: PriceService.PriceHistory): Array<Point> => {
  const points: Array<Point> = []
  for (const p of history.consolidated) {
    if (p.slotStart >= history.rawSince) continue
    points.push({
      at: p.slotStart,
      price: p.price,
      source: p.source,
      confidence: p.confidence,
      runId: p.runId,
      snapshotsMerged: p.snapshotsMerged,
      reporterRole: null
    })
  }
  for (const s of history.raw) {
    if (s.duplicate) continue
    points.push({ at: s.observedAt, price: s.price, source: "raw", confidence: null, runId: null, snapshotsMerged: null, reporterRole: s.reporterRole })
  }
  return points.sort((a, b) => a.at - b.at)
}

const PricingLive = HttpApiBuilder.group(Api, "pricing", (handlers) =>
  Effect.gen(function*() {
    const prices = yield* PriceService.make
    const store = yield* PriceStore.PriceStore
    return handlers
      .handle("priceHistory", ({ urlParams }) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const to = urlParams.to ?? now + 1
          const from = urlParams.from ?? to - DAY
          const history = yield* storeCall(prices.history(urlParams.pool, { from, to }))
          return { pool: urlParams.pool, from, to, rawSince: history.rawSince, points: pointsOf(history) }
        }))
      .handle("poolOptions", ({ urlParams }) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const to = now + 1
          const from = to - (urlParams.hours ?? 24) * HOUR
          const seen = new Set<Pool.PoolId>()
          for (const source of ["agent", "backfill"] as const) {
            for (const p of yield* storeCall(store.snapshotPools({ from, to, source }))) seen.add(p)
          }
          const matching = [...seen].filter((pool) => {
            const parts = Pool.parse(pool)
            return Either.isRight(parts) && parts.right.instanceType === urlParams.instanceType && parts.right.region === urlParams.region
          })
          const latest = (pool: Pool.PoolId) =>
            Effect.map(storeCall(prices.history(pool, { from, to })), (h) => pointsOf(h).at(-1))
          const stored = (yield* storeCall(prices.onDemandPrices)).find((p) =>
            p.instanceType === urlParams.instanceType && p.region === urlParams.region
          )
          // Without a stored baseline: the latest reported price of an on-demand pool of the type.
          let onDemand = stored?.price ?? null
          if (onDemand === null) {
            for (const pool of matching.filter((p) => Pool.lifecycleOf(p) === "on-demand")) {
              const last = yield* latest(pool)
              if (last !== undefined) onDemand = last.price
            }
          }
          const options = []
          for (const pool of matching.filter((p) => Pool.lifecycleOf(p) === "spot").sort()) {
            const last = yield* latest(pool)
            if (last === undefined) continue
            const parts = Pool.parse(pool)
            options.push({
              pool,
              availabilityZone: Either.isRight(parts) ? parts.right.az : "",
              price: last.price,
              at: last.at,
              source: last.source,
              savingsPercent: onDemand === null ? null : Math.round(((onDemand - last.price) / onDemand) * 10_000) / 100
            })
          }
          options.sort((a, b) => a.price - b.price || (a.pool < b.pool ? -1 : 1))
          return { instanceType: urlParams.instanceType, region: urlParams.region, onDemandPrice: onDemand, options }
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
  | PriceStore.PriceStore
> = PricingLive
