/**
 * The price sync job: AWS prices into the engine's price tiers.
 *
 * 1. On-demand prices (an offer file, or {@link OnDemandOffer.shipped}) are stored where the
 *    engine keeps them (`PriceStore.putOnDemandPrices`: the savings baseline and the spread
 *    feature), first, so the consolidation that follows sees them.
 * 2. The spot price history of the regions, types and products asked for is read through
 *    {@link AwsSpotPriceSource} and stored by the engine's consolidation job with it as the
 *    `PriceHistorySource`: the path `spotfleet backfill` takes for an export, so slots without
 *    agent data get AWS's prices (`backfilled`) and agent points are never overwritten.
 *
 * @since 0.1.0
 */
import { ConsolidationJob, type EngineError, type EventLog, PriceHistorySource, PriceStore, Pricing } from "@spotfleet/engine"
import { Clock, Effect, Schema } from "effect"
import type { AwsError } from "./AwsError.js"
import * as AwsSpotPriceSource from "./AwsSpotPriceSource.js"
import * as OnDemandOffer from "./OnDemandOffer.js"

/**
 * The consolidation run of a sync did not succeed.
 *
 * @since 0.1.0
 * @category errors
 */
export class SyncFailed extends Schema.TaggedError<SyncFailed>()("SyncFailed", {
  reason: Schema.String
}) {
  override get message() {
    return `price sync: ${this.reason}`
  }
}

/**
 * What a sync reports while it runs.
 *
 * @since 0.1.0
 * @category models
 */
export type SyncProgress =
  | { readonly _tag: "OnDemand"; readonly source: string; readonly prices: number }
  | { readonly _tag: "Page"; readonly page: AwsSpotPriceSource.PageProgress }
  | { readonly _tag: "Consolidation"; readonly progress: ConsolidationJob.Progress }

/**
 * What to sync.
 *
 * @since 0.1.0
 * @category models
 */
export interface SyncOptions {
  /** The spot history to read (`onPage` is taken over by {@link SyncOptions.onProgress}); null: none. */
  readonly spot: Omit<AwsSpotPriceSource.FetchOptions, "onPage"> | null
  /**
   * Where on-demand prices come from: an offer file path or URL with its filter, `"shipped"`
   * for {@link OnDemandOffer.shipped}, or null for none.
   */
  readonly onDemand: { readonly source: string; readonly filter?: OnDemandOffer.OfferFilter | undefined } | "shipped" | null
  /** The consolidation's fill policy (default `step`). */
  readonly fillPolicy?: Pricing.FillPolicy | undefined
  readonly onProgress?: ((progress: SyncProgress) => Effect.Effect<void>) | undefined
}

/**
 * What a sync did.
 *
 * @since 0.1.0
 * @category models
 */
export interface SyncSummary {
  readonly onDemand: { readonly source: string; readonly publicationDate: string | null; readonly stored: number } | null
  readonly spot: {
    readonly regions: AwsSpotPriceSource.FetchResult["regions"]
    /** Records read, per product description. */
    readonly records: Readonly<Record<string, number>>
    /** Pools with records, per product description. */
    readonly pools: Readonly<Record<string, number>>
    /** The consolidation's ledger entry (`backfilled`: points from AWS's history). */
    readonly run: Pricing.ConsolidationRun
  } | null
}

const count = (rows: ReadonlyArray<PriceHistorySource.HistoryRow>) => {
  const records: Record<string, number> = {}
  const pools: Record<string, Set<string>> = {}
  for (const r of rows) {
    records[r.productDescription] = (records[r.productDescription] ?? 0) + 1
    ;(pools[r.productDescription] ??= new Set()).add(r.pool)
  }
  return { records, pools: Object.fromEntries(Object.entries(pools).map(([k, v]) => [k, v.size])) }
}

/**
 * Runs one sync: on-demand prices, then the spot history through the consolidation job.
 *
 * @since 0.1.0
 * @category constructors
 */
export const run = (
  options: SyncOptions
): Effect.Effect<
  SyncSummary,
  AwsError | OnDemandOffer.OfferFileError | SyncFailed | EngineError.StoreError,
  PriceStore.PriceStore | EventLog.EventLog
> =>
  Effect.gen(function*() {
    const progress = options.onProgress ?? (() => Effect.void)
    const store = yield* PriceStore.PriceStore

    let onDemand: SyncSummary["onDemand"] = null
    if (options.onDemand !== null) {
      const now = yield* Clock.currentTimeMillis
      const read = options.onDemand === "shipped"
        ? { source: OnDemandOffer.shipped.source, publicationDate: null, prices: OnDemandOffer.shipped.prices }
        : yield* OnDemandOffer.read(options.onDemand.source, options.onDemand.filter)
      const prices = read.prices.map((p) => Pricing.OnDemandPrice.make({ instanceType: p.instanceType, region: p.region, price: p.price, observedAt: now }))
      if (prices.length > 0) yield* store.putOnDemandPrices(prices)
      onDemand = { source: read.source, publicationDate: read.publicationDate, stored: prices.length }
      yield* progress({ _tag: "OnDemand", source: read.source, prices: prices.length })
    }

    let spot: SyncSummary["spot"] = null
    if (options.spot !== null) {
      const { result, source } = yield* AwsSpotPriceSource.make({ ...options.spot, onPage: (page) => progress({ _tag: "Page", page }) })
      const job = yield* ConsolidationJob.make({ fillPolicy: options.fillPolicy ?? "step" })
      const ledger = yield* job.run({
        from: options.spot.from,
        to: options.spot.to,
        onProgress: (p) => progress({ _tag: "Consolidation", progress: p })
      }).pipe(
        Effect.provideService(PriceHistorySource.PriceHistorySource, source),
        Effect.catchTags({
          ConsolidationBusy: (e) => Effect.fail(new SyncFailed({ reason: e.message })),
          PriceHistoryError: (e) => Effect.fail(new SyncFailed({ reason: e.reason }))
        })
      )
      if (ledger.status !== "succeeded") return yield* Effect.fail(new SyncFailed({ reason: `consolidation ${ledger.status}: ${ledger.error ?? ""}` }))
      spot = { regions: result.regions, ...count(result.rows), run: ledger }
    }
    return { onDemand, spot }
  })
