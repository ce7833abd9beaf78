/**
 * The pricing contract of the dashboard (docs/DESIGN.md, "Pricing pipeline" and "HTTP surface"): a
 * pool's price history as the chart shows it (consolidated points plus raw reports newer than the
 * last consolidation run, each point with its source), the spot pool options of an instance type
 * with savings against on-demand, the consolidation run ledger and the on-demand baselines. Tenant
 * token; times are epoch milliseconds. New reports reach the chart live as `PriceReported` events
 * on `GET /api/events/stream`.
 *
 * Group `pricing`, added to {@link Api.Api}.
 *
 * @since 0.1.0
 */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Pool, Pricing, Product } from "@spotfleet/engine"
import { Schema } from "effect"
import { TenantAuth } from "./Security.js"

const Millis = Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative())

/**
 * Where a point of the chart comes from: a consolidated point (`agent`, `interpolated`,
 * `backfilled`) or a raw report not consolidated yet (`raw`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const PointSource = Schema.Literal("agent", "interpolated", "backfilled", "raw")

/**
 * One point of a pool's price chart.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PricePoint = Schema.Struct({
  /** Slot start (consolidated) or observation time (raw). */
  at: Schema.Number,
  price: Schema.Number,
  source: PointSource,
  /** 1.0 agent, 0.9 backfilled, 0.8 interpolated; null for raw reports. */
  confidence: Schema.NullOr(Schema.Number),
  /** The run that wrote a consolidated point; null for raw reports. */
  runId: Schema.NullOr(Schema.String),
  /** Snapshots merged into a consolidated point; null for raw reports. */
  snapshotsMerged: Schema.NullOr(Schema.Int),
  /** The reporter's role of a raw report, when known. */
  reporterRole: Schema.NullOr(Pricing.ReporterRole)
}).annotations({ identifier: "PricePoint" })

/**
 * A pool's price history: consolidated points up to `rawSince`, raw reports from there on.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PriceHistoryResponse = Schema.Struct({
  pool: Pool.PoolId,
  from: Schema.Number,
  to: Schema.Number,
  /** The end of the newest successful consolidation run's window (or `from` when none). */
  rawSince: Schema.Number,
  points: Schema.Array(PricePoint)
}).annotations({ identifier: "PriceHistoryResponse" })

/**
 * The query of a price history: the window defaults to the last 24 hours.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PriceHistoryQuery = Schema.Struct({
  pool: Pool.PoolId,
  from: Schema.optional(Millis),
  to: Schema.optional(Millis)
})

/**
 * One spot pool option of an instance type.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PoolOption = Schema.Struct({
  pool: Pool.PoolId,
  /** The zone as the pool id has it: an AZ name, or an AZ ID for pools backfilled by AZ ID. */
  availabilityZone: Schema.String,
  /** The pool's product (operating system), `linux` (Linux/UNIX) for ids without a suffix. */
  product: Product.Product,
  /** The latest known price (consolidated or raw). */
  price: Schema.Number,
  at: Schema.Number,
  source: PointSource,
  /** `(onDemand − price) ÷ onDemand × 100` against the on-demand price of the pool's product; null without one. */
  savingsPercent: Schema.NullOr(Schema.Number),
  /** The cloud's interruption-frequency band, 0 (`<5%` of instances interrupted a month) … 4 (`>20%`); null when unknown. */
  interruptionBand: Schema.NullOr(Schema.Int.pipe(Schema.between(0, 4))),
  /** The band's label (`<5%`, `5-10%`, `10-15%`, `15-20%`, `>20%`); null when unknown. */
  interruptionLabel: Schema.NullOr(Schema.String)
}).annotations({ identifier: "PoolOption" })

/**
 * The spot pools of an instance type in a region, cheapest first.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PoolOptionsResponse = Schema.Struct({
  instanceType: Schema.String,
  region: Schema.String,
  /** The stored (Linux/UNIX) on-demand price, else the latest reported Linux/UNIX on-demand pool price. */
  onDemandPrice: Schema.NullOr(Schema.Number),
  options: Schema.Array(PoolOption)
}).annotations({ identifier: "PoolOptionsResponse" })

/**
 * The query of pool options: pools with prices in any tier in the window `[from, to)` (epoch
 * milliseconds). `to` defaults to now; `from` to `to` − `hours` (default 24) hours. The window has
 * no upper limit: `from=0` reaches an export of any age.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PoolOptionsQuery = Schema.Struct({
  instanceType: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)),
  region: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)),
  hours: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.positive())),
  from: Schema.optional(Millis),
  to: Schema.optional(Millis)
})

/**
 * The consolidation run ledger, newest first.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConsolidationRunList = Schema.Struct({
  runs: Schema.Array(Pricing.ConsolidationRun)
}).annotations({ identifier: "ConsolidationRunList" })

/**
 * On-demand prices per instance type and region.
 *
 * @since 0.1.0
 * @category schemas
 */
export const OnDemandPriceList = Schema.Struct({
  prices: Schema.Array(Pricing.OnDemandPrice)
}).annotations({ identifier: "OnDemandPriceList" })

/**
 * The pricing routes (tenant token).
 *
 * @since 0.1.0
 * @category groups
 */
export class PricingApi extends HttpApiGroup.make("pricing")
  .add(
    HttpApiEndpoint.get("priceHistory", "/prices/history")
      .setUrlParams(PriceHistoryQuery)
      .addSuccess(PriceHistoryResponse)
      .annotate(OpenApi.Summary, "A pool's price history: consolidated points plus raw reports since the last run, each with its source")
  )
  .add(
    HttpApiEndpoint.get("poolOptions", "/prices/options")
      .setUrlParams(PoolOptionsQuery)
      .addSuccess(PoolOptionsResponse)
      .annotate(
        OpenApi.Summary,
        "Spot pools of an instance type in a region with prices in any tier: latest price, savings % vs on-demand, product and interruption band"
      )
  )
  .add(
    HttpApiEndpoint.get("consolidationRuns", "/prices/consolidation-runs")
      .setUrlParams(Schema.Struct({ limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000))) }))
      .addSuccess(ConsolidationRunList)
      .annotate(OpenApi.Summary, "The consolidation run ledger, newest first")
  )
  .add(
    HttpApiEndpoint.get("onDemandPrices", "/prices/on-demand")
      .addSuccess(OnDemandPriceList)
      .annotate(OpenApi.Summary, "On-demand prices per instance type and region (the savings baseline)")
  )
  .middleware(TenantAuth)
  .prefix("/api")
{}
