/**
 * `PriceService.poolOptions` over MariaDB: pools with prices in any tier (a 2023 backfill in the
 * consolidated and canonical blocks, a backfill snapshot), with their product and interruption band.
 */
import { assert, layer } from "@effect/vitest"
import { InterruptionData, Pool, PriceService, PriceStore, Pricing } from "@spotfleet/engine"
import { Effect, Either, Layer } from "effect"
import { describeMysql, layerStore } from "./utils.js"

const SLOT = Pricing.SLOT_MILLIS
const table = Either.getOrThrow(InterruptionData.decode({ spot_advisor: { "us-east-1": { Linux: { "zz2.large": { r: 1, s: 66 } } } } }))
const Live = PriceService.layer.pipe(Layer.provideMerge(Layer.merge(layerStore(), InterruptionData.layer(table))))

describeMysql("pool options on MariaDB", () => {
  layer(Live)((it) => {
    it.effect("every tier, any age; product and band per pool; pools of other types and regions left out", () =>
      Effect.gen(function*() {
        const store = yield* PriceStore.PriceStore
        const prices = yield* PriceService.PriceService
        const t = Date.UTC(2023, 10, 11, 18, 15)
        const [a, b, c] = ["us-east-1a", "us-east-1b", "us-east-1c"].map((az) => Pool.make("zz2.large", az))
        yield* store.upsertConsolidated([
          Pricing.ConsolidatedPrice.make({ pool: a!, slotStart: t, price: 0.07, source: "backfilled", confidence: 0.9, runId: "bf-1", snapshotsMerged: 0 }),
          Pricing.ConsolidatedPrice.make({ pool: Pool.make("zz2.large", "eu-west-1a"), slotStart: t, price: 0.01, source: "backfilled", confidence: 0.9, runId: "bf-1", snapshotsMerged: 0 }),
          Pricing.ConsolidatedPrice.make({ pool: Pool.make("zz2.largex", "us-east-1a"), slotStart: t, price: 0.01, source: "backfilled", confidence: 0.9, runId: "bf-1", snapshotsMerged: 0 })
        ])
        yield* store.upsertCanonical([
          Pricing.CanonicalPrice.make({
            pool: b!, slotStart: t + SLOT, price: 0.05, source: "backfilled", confidence: 0.9, runId: "bf-1",
            features: Pricing.PriceFeatures.make({ rollingMean: 0.05, volatility: 0, spreadToOnDemand: null, notices: 0, interruptions: 0 })
          })
        ])
        yield* store.appendSnapshots([
          Pricing.SnapshotDraft.make({
            tenantId: null, pool: c!, price: 0.06, observedAt: t + 2 * SLOT, reporterAgentId: null, reporterRole: null, source: "backfill", receivedAt: t
          })
        ])
        yield* store.putOnDemandPrices([Pricing.OnDemandPrice.make({ instanceType: "zz2.large", region: "us-east-1", price: 0.1, observedAt: 1 })])
        const found = yield* prices.poolOptions({ instanceType: "zz2.large", region: "us-east-1", from: 0, to: Date.UTC(2030, 0, 1) })
        assert.strictEqual(found.onDemandPrice, 0.1)
        assert.deepStrictEqual(found.options.map((o) => [o.pool, o.price, o.at, o.source, o.savingsPercent, o.product, o.interruptionBand, o.interruptionLabel]), [
          [b, 0.05, t + SLOT, "backfilled", 50, "linux", 1, "5-10%"],
          [c, 0.06, t + 2 * SLOT, "raw", 40, "linux", 1, "5-10%"],
          [a, 0.07, t, "backfilled", 30, "linux", 1, "5-10%"]
        ])
        // A window that ends before the export: nothing.
        assert.deepStrictEqual((yield* prices.poolOptions({ instanceType: "zz2.large", region: "us-east-1", from: 0, to: t })).options, [])
      }))
  })
})
